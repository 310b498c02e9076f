//! Reads the HttpApi routes, the Lambda authorizers and the CORS settings out
//! of a SAM template.
//!
//! Only the parts of the template that API Gateway would act on are read.
//! CloudFormation short tags (`!Ref`, `!GetAtt`, `!Sub`) and their long forms
//! (`Ref`, `Fn::GetAtt`, `Fn::Sub`) are understood where a logical id or a
//! plain value is expected; `!Ref` to a template parameter resolves to the
//! parameter's `Default`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_yaml::{Mapping, Value};

/// Logical id SAM gives the API it creates for `HttpApi` events that have no `ApiId`.
pub const IMPLICIT_API_ID: &str = "ServerlessHttpApi";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "cannot read template {path}: {error}; run from the repository root or pass --template PATH"
    )]
    Read { path: String, error: std::io::Error },
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template {at}: {reason}")]
    Invalid { at: String, reason: String },
}

fn invalid(at: impl Into<String>, reason: impl Into<String>) -> TemplateError {
    TemplateError::Invalid {
        at: at.into(),
        reason: reason.into(),
    }
}

/// Everything the gateway needs to know about the one HttpApi it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiSpec {
    /// Logical id of the `AWS::Serverless::HttpApi` (or [`IMPLICIT_API_ID`]).
    pub api: String,
    pub cors: Option<CorsConfig>,
    /// Lambda authorizers by name.
    pub authorizers: BTreeMap<String, AuthorizerSpec>,
    pub routes: Vec<RouteSpec>,
    /// Things the template asks for that are not emulated; printed on start.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// Upper-case HTTP method, or `ANY`.
    pub method: String,
    /// Route path as written (`/users/{id}`), or `$default`.
    pub path: String,
    /// Logical id of the function behind the route.
    pub function: String,
    /// Name of the event in the function's `Events`.
    pub event: String,
    pub auth: RouteAuth,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAuth {
    None,
    /// Name of a Lambda authorizer in [`ApiSpec::authorizers`].
    Lambda(String),
}

/// How a Lambda function is named in the template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FunctionRef {
    /// Logical id of a function of the stack.
    Logical(String),
    /// Function name or ARN, used as is.
    Name(String),
}

impl std::fmt::Display for FunctionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FunctionRef::Logical(id) | FunctionRef::Name(id) => f.write_str(id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerSpec {
    pub name: String,
    pub function: FunctionRef,
    /// Identity source headers, as written in the template.
    pub identity_headers: Vec<String>,
    /// Identity source query string parameters.
    pub identity_query_strings: Vec<String>,
    /// `EnableSimpleResponses`: `{"isAuthorized": bool}` instead of an IAM policy.
    pub simple_responses: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsConfig {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
    pub allow_credentials: bool,
}

/// Reads and parses the template at `path`.
pub fn load(path: &Path) -> Result<ApiSpec, TemplateError> {
    let text = std::fs::read_to_string(path).map_err(|error| TemplateError::Read {
        path: path.display().to_string(),
        error,
    })?;
    parse(&text)
}

/// Parses template text.
pub fn parse(text: &str) -> Result<ApiSpec, TemplateError> {
    let root: Value = serde_yaml::from_str(text)?;
    let resources = root
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| invalid("Resources", "missing or not a mapping"))?;
    let ctx = Ctx {
        params: parameter_defaults(&root),
        resources,
    };

    let mut warnings = Vec::new();
    let mut events = Vec::new();
    for (key, resource) in resources {
        let Some(logical) = key.as_str() else {
            continue;
        };
        if resource_type(resource) != Some("AWS::Serverless::Function") {
            continue;
        }
        let Some(fn_events) = resource
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        for (event_key, event) in fn_events {
            let Some(event_name) = event_key.as_str() else {
                continue;
            };
            if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                continue;
            }
            let at = format!("Resources.{logical}.Properties.Events.{event_name}");
            events.push(ctx.http_event(logical, event_name, event, &at)?);
        }
    }

    if events.is_empty() {
        return Err(invalid(
            "Resources",
            "no function has an event of Type HttpApi, so there is nothing to serve",
        ));
    }
    let apis: BTreeSet<&str> = events.iter().map(|e| e.api.as_str()).collect();
    if apis.len() > 1 {
        let list: Vec<&str> = apis.into_iter().collect();
        return Err(invalid(
            "Resources",
            format!(
                "HttpApi events target several APIs ({}); local-gateway serves exactly one",
                list.join(", ")
            ),
        ));
    }
    let api = events[0].api.clone();

    let api_props = if api == IMPLICIT_API_ID && !resources.contains_key(IMPLICIT_API_ID) {
        None
    } else {
        let resource = resources.get(api.as_str()).ok_or_else(|| {
            invalid(
                "Resources",
                format!("ApiId refers to {api}, which is not a resource"),
            )
        })?;
        if resource_type(resource) != Some("AWS::Serverless::HttpApi") {
            return Err(invalid(
                format!("Resources.{api}"),
                "ApiId of HttpApi events must refer to an AWS::Serverless::HttpApi",
            ));
        }
        resource.get("Properties")
    };
    let api_at = format!("Resources.{api}.Properties");

    let cors = match api_props.and_then(|p| p.get("CorsConfiguration")) {
        Some(value) => ctx.cors(value, &format!("{api_at}.CorsConfiguration"))?,
        None => None,
    };

    let auth = api_props.and_then(|p| p.get("Auth"));
    let mut authorizers = BTreeMap::new();
    let mut unsupported: BTreeMap<String, String> = BTreeMap::new();
    if let Some(defs) = auth
        .and_then(|a| a.get("Authorizers"))
        .and_then(Value::as_mapping)
    {
        for (name, def) in defs {
            let Some(name) = name.as_str() else { continue };
            let at = format!("{api_at}.Auth.Authorizers.{name}");
            match ctx.authorizer(name, def, &at, &mut warnings)? {
                Some(spec) => {
                    authorizers.insert(name.to_owned(), spec);
                }
                None => {
                    unsupported.insert(
                        name.to_owned(),
                        "a JWT authorizer, which local-gateway does not emulate".to_owned(),
                    );
                }
            }
        }
    }
    let default_authorizer = match auth.and_then(|a| a.get("DefaultAuthorizer")) {
        Some(v) => Some(ctx.scalar(v, &format!("{api_at}.Auth.DefaultAuthorizer"))?),
        None => None,
    };

    let mut routes = Vec::with_capacity(events.len());
    for event in events {
        let chosen = event.authorizer.or_else(|| default_authorizer.clone());
        let auth = match chosen.as_deref() {
            None | Some("NONE") => RouteAuth::None,
            Some("AWS_IAM") => {
                warnings.push(format!(
                    "{} {} uses AWS_IAM auth, which is not emulated: the route is open",
                    event.method, event.path
                ));
                RouteAuth::None
            }
            Some(name) if authorizers.contains_key(name) => RouteAuth::Lambda(name.to_owned()),
            Some(name) => {
                let reason = unsupported
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| format!("not declared under {api_at}.Auth.Authorizers"));
                return Err(invalid(event.at, format!("authorizer {name} is {reason}")));
            }
        };
        routes.push(RouteSpec {
            method: event.method,
            path: event.path,
            function: event.function,
            event: event.event,
            auth,
        });
    }

    Ok(ApiSpec {
        api,
        cors,
        authorizers,
        routes,
        warnings,
    })
}

fn resource_type(resource: &Value) -> Option<&str> {
    resource.get("Type").and_then(Value::as_str)
}

fn parameter_defaults(root: &Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Some(params) = root.get("Parameters").and_then(Value::as_mapping) {
        for (name, def) in params {
            let (Some(name), Some(default)) = (name.as_str(), def.get("Default")) else {
                continue;
            };
            if let Some(text) = plain_scalar(default) {
                out.insert(name.to_owned(), text);
            }
        }
    }
    out
}

fn plain_scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An intrinsic function, short or long form, with its argument.
fn intrinsic(value: &Value) -> Option<(&'static str, &Value)> {
    const NAMES: [(&str, &str); 3] = [("Ref", "Ref"), ("GetAtt", "Fn::GetAtt"), ("Sub", "Fn::Sub")];
    match value {
        Value::Tagged(tagged) => NAMES
            .iter()
            .find(|(short, _)| tagged.tag == *short)
            .map(|(short, _)| (*short, &tagged.value)),
        Value::Mapping(map) if map.len() == 1 => NAMES
            .iter()
            .find_map(|(short, long)| map.get(*long).map(|arg| (*short, arg))),
        _ => None,
    }
}

struct HttpEvent {
    api: String,
    method: String,
    path: String,
    function: String,
    event: String,
    authorizer: Option<String>,
    at: String,
}

struct Ctx<'a> {
    params: HashMap<String, String>,
    resources: &'a Mapping,
}

impl Ctx<'_> {
    /// A plain value: a scalar, or `!Ref` to a parameter that has a default.
    fn scalar(&self, value: &Value, at: &str) -> Result<String, TemplateError> {
        if let Some(text) = plain_scalar(value) {
            return Ok(text);
        }
        if let Some(("Ref", Value::String(name))) = intrinsic(value) {
            return self.params.get(name).cloned().ok_or_else(|| {
                invalid(
                    at,
                    format!("!Ref {name} is not a template parameter with a Default"),
                )
            });
        }
        Err(invalid(
            at,
            "expected a plain value (or !Ref to a parameter with a Default)",
        ))
    }

    fn scalar_list(&self, value: &Value, at: &str) -> Result<Vec<String>, TemplateError> {
        match value {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.scalar(item, &format!("{at}[{i}]")))
                .collect(),
            other => Ok(vec![self.scalar(other, at)?]),
        }
    }

    fn bool(&self, value: &Value, at: &str) -> Result<bool, TemplateError> {
        match self.scalar(value, at)?.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(invalid(
                at,
                format!("expected true or false, found {other}"),
            )),
        }
    }

    fn http_event(
        &self,
        function: &str,
        event: &str,
        def: &Value,
        at: &str,
    ) -> Result<HttpEvent, TemplateError> {
        let props = def.get("Properties");
        let field = |name: &str| props.and_then(|p| p.get(name));

        let api = match field("ApiId") {
            None => IMPLICIT_API_ID.to_owned(),
            Some(value) => match intrinsic(value) {
                Some(("Ref", Value::String(id))) => id.clone(),
                _ => {
                    return Err(invalid(
                        format!("{at}.Properties.ApiId"),
                        "expected !Ref <HttpApi logical id>",
                    ));
                }
            },
        };
        let method = match field("Method") {
            Some(v) => self
                .scalar(v, &format!("{at}.Properties.Method"))?
                .to_ascii_uppercase(),
            None => "ANY".to_owned(),
        };
        let path = match field("Path") {
            Some(v) => self.scalar(v, &format!("{at}.Properties.Path"))?,
            None => "$default".to_owned(),
        };
        let path = if path == "/$default" {
            "$default".to_owned()
        } else {
            path
        };
        let authorizer = match props
            .and_then(|p| p.get("Auth"))
            .and_then(|a| a.get("Authorizer"))
        {
            Some(v) => Some(self.scalar(v, &format!("{at}.Properties.Auth.Authorizer"))?),
            None => None,
        };
        Ok(HttpEvent {
            api,
            method,
            path,
            function: function.to_owned(),
            event: event.to_owned(),
            authorizer,
            at: at.to_owned(),
        })
    }

    fn cors(&self, value: &Value, at: &str) -> Result<Option<CorsConfig>, TemplateError> {
        // SAM: `CorsConfiguration: true` allows every origin.
        if let Some(enabled) = value.as_bool() {
            return Ok(enabled.then(|| CorsConfig {
                allow_origins: vec!["*".to_owned()],
                ..CorsConfig::default()
            }));
        }
        if !value.is_mapping() {
            return Err(invalid(at, "expected a mapping or a boolean"));
        }
        let list = |name: &str| -> Result<Vec<String>, TemplateError> {
            match value.get(name) {
                Some(v) => self.scalar_list(v, &format!("{at}.{name}")),
                None => Ok(Vec::new()),
            }
        };
        let max_age = match value.get("MaxAge") {
            Some(v) => {
                let text = self.scalar(v, &format!("{at}.MaxAge"))?;
                Some(text.parse::<u64>().map_err(|_| {
                    invalid(
                        format!("{at}.MaxAge"),
                        format!("expected seconds, found {text}"),
                    )
                })?)
            }
            None => None,
        };
        let allow_credentials = match value.get("AllowCredentials") {
            Some(v) => self.bool(v, &format!("{at}.AllowCredentials"))?,
            None => false,
        };
        Ok(Some(CorsConfig {
            allow_origins: list("AllowOrigins")?,
            allow_methods: list("AllowMethods")?,
            allow_headers: list("AllowHeaders")?,
            expose_headers: list("ExposeHeaders")?,
            max_age,
            allow_credentials,
        }))
    }

    /// `Ok(None)` for a JWT authorizer.
    fn authorizer(
        &self,
        name: &str,
        def: &Value,
        at: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Option<AuthorizerSpec>, TemplateError> {
        let Some(arn) = def.get("FunctionArn") else {
            if def.get("JwtConfiguration").is_some() {
                return Ok(None);
            }
            return Err(invalid(at, "a Lambda authorizer needs FunctionArn"));
        };
        let function = self.function_ref(arn, &format!("{at}.FunctionArn"))?;

        if let Some(v) = def.get("AuthorizerPayloadFormatVersion") {
            let version = self.scalar(v, &format!("{at}.AuthorizerPayloadFormatVersion"))?;
            if version != "2.0" && version != "2" {
                return Err(invalid(
                    format!("{at}.AuthorizerPayloadFormatVersion"),
                    format!("only payload format 2.0 is emulated, found {version}"),
                ));
            }
        }
        let simple_responses = match def.get("EnableSimpleResponses") {
            Some(v) => self.bool(v, &format!("{at}.EnableSimpleResponses"))?,
            None => false,
        };
        let identity = def.get("Identity");
        let list = |field: &str| -> Result<Vec<String>, TemplateError> {
            match identity.and_then(|i| i.get(field)) {
                Some(v) => self.scalar_list(v, &format!("{at}.Identity.{field}")),
                None => Ok(Vec::new()),
            }
        };
        let identity_headers = list("Headers")?;
        let identity_query_strings = list("QueryStrings")?;
        for ignored in ["Context", "StageVariables"] {
            if identity.and_then(|i| i.get(ignored)).is_some() {
                warnings.push(format!(
                    "authorizer {name}: Identity.{ignored} is not emulated and is not checked"
                ));
            }
        }
        Ok(Some(AuthorizerSpec {
            name: name.to_owned(),
            function,
            identity_headers,
            identity_query_strings,
            simple_responses,
        }))
    }

    fn function_ref(&self, value: &Value, at: &str) -> Result<FunctionRef, TemplateError> {
        let logical = |id: &str| -> Result<FunctionRef, TemplateError> {
            if self.resources.contains_key(id) {
                Ok(FunctionRef::Logical(id.to_owned()))
            } else {
                Err(invalid(
                    at,
                    format!("{id} is not a resource of the template"),
                ))
            }
        };
        match intrinsic(value) {
            Some(("GetAtt", arg)) => {
                let (id, attribute) = match arg {
                    Value::String(s) => s.split_once('.').unwrap_or((s.as_str(), "")),
                    Value::Sequence(parts) => match parts.as_slice() {
                        [Value::String(id), Value::String(attr)] => (id.as_str(), attr.as_str()),
                        _ => return Err(invalid(at, "expected !GetAtt [LogicalId, Arn]")),
                    },
                    _ => return Err(invalid(at, "expected !GetAtt LogicalId.Arn")),
                };
                if attribute != "Arn" {
                    return Err(invalid(at, format!("expected !GetAtt {id}.Arn")));
                }
                logical(id)
            }
            Some(("Ref", Value::String(id))) => match self.params.get(id) {
                Some(name) => Ok(FunctionRef::Name(name.clone())),
                None => logical(id),
            },
            Some(("Sub", Value::String(text))) => {
                let inner = text
                    .strip_prefix("${")
                    .and_then(|rest| rest.strip_suffix('}'))
                    .filter(|inner| !inner.contains(['$', '{', '}']));
                match inner {
                    Some(inner) => logical(inner.strip_suffix(".Arn").unwrap_or(inner)),
                    None => Err(invalid(
                        at,
                        "only !Sub \"${Function.Arn}\" is understood here",
                    )),
                }
            }
            Some(_) => Err(invalid(at, "expected !GetAtt Function.Arn")),
            None => Ok(FunctionRef::Name(self.scalar(value, at)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/fixtures/template.yaml");

    fn route<'a>(spec: &'a ApiSpec, method: &str, path: &str) -> &'a RouteSpec {
        spec.routes
            .iter()
            .find(|r| r.method == method && r.path == path)
            .unwrap_or_else(|| panic!("route {method} {path} missing from {:?}", spec.routes))
    }

    #[test]
    fn fixture_routes_authorizer_and_cors_are_read() {
        let spec = parse(FIXTURE).expect("fixture parses");
        assert_eq!(spec.api, "HttpApi");

        let register = route(&spec, "POST", "/auth/register");
        assert_eq!(register.function, "RegisterFunction");
        assert_eq!(register.event, "Register");
        assert_eq!(register.auth, RouteAuth::None);

        let me = route(&spec, "GET", "/users/me");
        assert_eq!(me.function, "UsersMeFunction");
        assert_eq!(me.auth, RouteAuth::Lambda("TokenAuthorizer".to_owned()));

        // Method names are upper-cased; `ANY` and greedy paths are kept.
        assert_eq!(
            route(&spec, "PATCH", "/orders/{orderId}").function,
            "OrdersFunction"
        );
        assert_eq!(
            route(&spec, "ANY", "/files/{proxy+}").function,
            "FilesFunction"
        );

        let auth = &spec.authorizers["TokenAuthorizer"];
        assert_eq!(
            auth.function,
            FunctionRef::Logical("AuthorizerFunction".to_owned())
        );
        assert_eq!(auth.identity_headers, vec!["Authorization".to_owned()]);
        assert!(auth.simple_responses);

        let cors = spec.cors.expect("cors configured");
        assert_eq!(cors.allow_origins, vec!["*".to_owned()]);
        assert_eq!(
            cors.allow_methods,
            ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        );
        assert_eq!(
            cors.allow_headers,
            [
                "authorization",
                "content-type",
                "idempotency-key",
                "x-correlation-id"
            ]
        );
        assert_eq!(cors.expose_headers, ["x-request-id", "x-correlation-id"]);
        assert_eq!(cors.max_age, Some(600));
        assert!(!cors.allow_credentials);
    }

    #[test]
    fn functions_without_http_events_are_ignored() {
        let spec = parse(FIXTURE).expect("fixture parses");
        assert!(spec.routes.iter().all(|r| r.function != "WorkerFunction"));
        assert!(
            spec.routes
                .iter()
                .all(|r| r.function != "AuthorizerFunction")
        );
    }

    #[test]
    fn long_form_intrinsics_and_parameters_are_resolved() {
        let text = r#"
Parameters:
  FrontendOrigin:
    Type: String
    Default: http://localhost:5173
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: [{ "Ref": "FrontendOrigin" }]
        AllowCredentials: true
      Auth:
        DefaultAuthorizer: Lambda
        Authorizers:
          Lambda:
            FunctionArn: { "Fn::GetAtt": ["Authz", "Arn"] }
            AuthorizerPayloadFormatVersion: 2.0
            Identity:
              QueryStrings: [token]
  Authz:
    Type: AWS::Serverless::Function
  Items:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        List:
          Type: HttpApi
          Properties:
            ApiId: { "Ref": "Api" }
            Method: get
            Path: /items
"#;
        let spec = parse(text).expect("parses");
        assert_eq!(spec.api, "Api");
        let cors = spec.cors.expect("cors");
        assert_eq!(cors.allow_origins, ["http://localhost:5173"]);
        assert!(cors.allow_credentials);
        let auth = &spec.authorizers["Lambda"];
        assert_eq!(auth.function, FunctionRef::Logical("Authz".to_owned()));
        assert_eq!(auth.identity_query_strings, ["token"]);
        assert!(!auth.simple_responses);
        assert_eq!(spec.routes[0].method, "GET");
        assert_eq!(spec.routes[0].auth, RouteAuth::Lambda("Lambda".to_owned()));
    }

    #[test]
    fn short_getatt_sequence_and_sub_forms() {
        for arn in [
            "!GetAtt [Authz, Arn]",
            "!Sub \"${Authz.Arn}\"",
            "!GetAtt Authz.Arn",
        ] {
            let text = format!(
                r#"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          A:
            FunctionArn: {arn}
  Authz:
    Type: AWS::Serverless::Function
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E:
          Type: HttpApi
          Properties: {{ ApiId: !Ref Api, Method: GET, Path: /x, Auth: {{ Authorizer: A }} }}
"#
            );
            let spec = parse(&text).unwrap_or_else(|e| panic!("{arn}: {e}"));
            assert_eq!(
                spec.authorizers["A"].function,
                FunctionRef::Logical("Authz".to_owned()),
                "{arn}"
            );
        }
    }

    #[test]
    fn implicit_api_without_auth() {
        let text = r#"
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Catch:
          Type: HttpApi
"#;
        let spec = parse(text).expect("parses");
        assert_eq!(spec.api, IMPLICIT_API_ID);
        assert_eq!(spec.routes[0].method, "ANY");
        assert_eq!(spec.routes[0].path, "$default");
        assert_eq!(spec.routes[0].auth, RouteAuth::None);
        assert!(spec.cors.is_none());
    }

    #[test]
    fn unknown_authorizer_is_an_error_naming_the_event() {
        let text = r#"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E:
          Type: HttpApi
          Properties: { ApiId: !Ref Api, Method: GET, Path: /x, Auth: { Authorizer: Nope } }
"#;
        let err = parse(text).expect_err("unknown authorizer").to_string();
        assert!(err.contains("Resources.F.Properties.Events.E"), "{err}");
        assert!(err.contains("Nope"), "{err}");
    }

    #[test]
    fn several_apis_are_rejected() {
        let text = r#"
Resources:
  A: { Type: AWS::Serverless::HttpApi }
  B: { Type: AWS::Serverless::HttpApi }
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        One: { Type: HttpApi, Properties: { ApiId: !Ref A, Method: GET, Path: /a } }
        Two: { Type: HttpApi, Properties: { ApiId: !Ref B, Method: GET, Path: /b } }
"#;
        let err = parse(text).expect_err("two apis").to_string();
        assert!(err.contains("A, B"), "{err}");
    }

    #[test]
    fn template_without_http_events_is_an_error() {
        let err = parse("Resources:\n  T: { Type: AWS::SQS::Queue }\n").expect_err("no routes");
        assert!(err.to_string().contains("HttpApi"));
    }

    #[test]
    fn payload_format_1_is_rejected() {
        let text = r#"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          A: { FunctionArn: !GetAtt F.Arn, AuthorizerPayloadFormatVersion: "1.0" }
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E: { Type: HttpApi, Properties: { ApiId: !Ref Api, Method: GET, Path: /x } }
"#;
        let err = parse(text).expect_err("1.0").to_string();
        assert!(err.contains("2.0"), "{err}");
    }
}
