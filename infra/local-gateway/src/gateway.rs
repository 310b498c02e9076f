//! One request through the gateway: CORS preflight, route selection,
//! authorizer, function invocation, response mapping.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use time::OffsetDateTime;

use crate::authorizer::{self, Decision};
use crate::cors::Cors;
use crate::event::{self, ApiIdentity, HttpRequest, RequestData};
use crate::lambda::{FunctionCatalog, Functions, Invoker};
use crate::response::{HttpResponse, map_function_result};
use crate::routing::{RouteError, Router};
use crate::template::{ApiSpec, AuthorizerSpec, FunctionRef, RouteAuth};

/// Requests with a larger body get 413, as on API Gateway (10 MB payload limit).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The outcome of a request, with what the access log needs.
#[derive(Debug)]
pub struct Handled {
    pub response: HttpResponse,
    pub route_key: Option<String>,
    /// Logical id of the function that was invoked for the route.
    pub function: Option<String>,
}

impl Handled {
    fn gateway(response: HttpResponse, route_key: Option<String>) -> Self {
        Self {
            response,
            route_key,
            function: None,
        }
    }
}

pub struct Gateway<I, C> {
    router: Router,
    authorizers: BTreeMap<String, AuthorizerSpec>,
    cors: Option<Cors>,
    functions: Functions<I, C>,
    api: ApiIdentity,
    timeout: Duration,
}

impl<I: Invoker, C: FunctionCatalog> Gateway<I, C> {
    /// `timeout` bounds each Lambda call (API Gateway's integration timeout is 30 s).
    pub fn new(
        spec: &ApiSpec,
        functions: Functions<I, C>,
        api: ApiIdentity,
        timeout: Duration,
    ) -> Result<Self, RouteError> {
        Ok(Self {
            router: Router::new(&spec.routes)?,
            authorizers: spec.authorizers.clone(),
            cors: spec.cors.clone().map(Cors::new),
            functions,
            api,
            timeout,
        })
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    pub fn authorizer(&self, name: &str) -> Option<&AuthorizerSpec> {
        self.authorizers.get(name)
    }

    pub fn functions(&self) -> &Functions<I, C> {
        &self.functions
    }

    /// Answers one request.
    pub async fn handle(&self, request: HttpRequest) -> Handled {
        let request_id = new_request_id();
        let mut handled = match &self.cors {
            // API Gateway answers preflight requests itself, before routing.
            Some(cors) if Cors::is_preflight(&request) => {
                Handled::gateway(cors.preflight(&request), None)
            }
            _ => {
                let mut handled = self.dispatch(&request, &request_id).await;
                self.add_cors(request.header("origin").as_deref(), &mut handled.response);
                handled
            }
        };
        handled.response.set_header("apigw-requestid", request_id);
        handled
    }

    /// A response the server produces before the request is read (413),
    /// with the same CORS and request id headers as any other.
    pub fn reject(&self, origin: Option<&str>, response: HttpResponse) -> Handled {
        let mut handled = Handled::gateway(response, None);
        self.add_cors(origin, &mut handled.response);
        handled
            .response
            .set_header("apigw-requestid", new_request_id());
        handled
    }

    fn add_cors(&self, origin: Option<&str>, response: &mut HttpResponse) {
        if let Some(cors) = &self.cors {
            cors.decorate(origin, response);
        }
    }

    async fn dispatch(&self, request: &HttpRequest, request_id: &str) -> Handled {
        let Some(found) = self.router.find(&request.method, &request.raw_path) else {
            return Handled::gateway(HttpResponse::not_found(), None);
        };
        let route = found.route;
        let route_key = Some(route.route_key.clone());
        let data = RequestData::new(
            request,
            request_id.to_owned(),
            OffsetDateTime::now_utc(),
            route.route_key.clone(),
            found.path_parameters,
        );

        let authorizer_context = match &route.auth {
            RouteAuth::None => None,
            RouteAuth::Lambda(name) => match self.authorize(name, request, &data).await {
                Decision::Allow(context) => Some(context),
                decision => {
                    if let Decision::Error(cause) = &decision {
                        tracing::error!(request_id, route = %route.route_key, authorizer = %name, "{cause}");
                    }
                    let response = decision
                        .rejection()
                        .unwrap_or_else(HttpResponse::internal_error);
                    return Handled::gateway(response, route_key);
                }
            },
        };

        let event = event::request_event(request, &data, &self.api, authorizer_context);
        let response = match serde_json::to_vec(&event) {
            Ok(payload) => {
                self.call_function(&route.function, &payload, request_id, &route.route_key)
                    .await
            }
            Err(e) => {
                tracing::error!(request_id, "cannot serialize the event: {e}");
                HttpResponse::bad_gateway()
            }
        };
        Handled {
            response,
            route_key,
            function: Some(route.function.clone()),
        }
    }

    async fn authorize(&self, name: &str, request: &HttpRequest, data: &RequestData) -> Decision {
        let Some(spec) = self.authorizers.get(name) else {
            return Decision::Error(format!("authorizer {name} is not configured"));
        };
        let Some(identity) = authorizer::identity_source(spec, request) else {
            return Decision::Unauthorized;
        };
        let event = event::authorizer_event(request, data, &self.api, identity);
        let payload = match serde_json::to_vec(&event) {
            Ok(payload) => payload,
            Err(e) => {
                return Decision::Error(format!("cannot serialize the authorizer event: {e}"));
            }
        };
        match tokio::time::timeout(
            self.timeout,
            self.functions.invoke(&spec.function, &payload),
        )
        .await
        {
            Err(_) => Decision::Error(format!(
                "authorizer {} timed out after {} s",
                spec.function,
                self.timeout.as_secs()
            )),
            Ok(Err(e)) => Decision::Error(e.to_string()),
            Ok(Ok(invocation)) => authorizer::decide(spec, &invocation),
        }
    }

    async fn call_function(
        &self,
        function: &str,
        payload: &[u8],
        request_id: &str,
        route: &str,
    ) -> HttpResponse {
        let target = FunctionRef::Logical(function.to_owned());
        match tokio::time::timeout(self.timeout, self.functions.invoke(&target, payload)).await {
            Err(_) => {
                tracing::error!(
                    request_id,
                    route,
                    function,
                    "function timed out after {} s",
                    self.timeout.as_secs()
                );
                HttpResponse::unavailable()
            }
            Ok(Err(e)) => {
                tracing::error!(request_id, route, function, "{e}");
                HttpResponse::bad_gateway()
            }
            Ok(Ok(invocation)) if invocation.function_error.is_some() => {
                let detail = invocation
                    .error_message()
                    .unwrap_or_else(|| String::from_utf8_lossy(&invocation.payload).into_owned());
                tracing::error!(
                    request_id,
                    route,
                    function,
                    "function error ({}): {detail}",
                    invocation.function_error.as_deref().unwrap_or_default()
                );
                HttpResponse::bad_gateway()
            }
            Ok(Ok(invocation)) => match map_function_result(&invocation.payload) {
                Ok(response) => response,
                Err(e) => {
                    tracing::error!(
                        request_id,
                        route,
                        function,
                        "malformed function response: {e}"
                    );
                    HttpResponse::bad_gateway()
                }
            },
        }
    }
}

/// A request id shaped like API Gateway's (`JKJaXmPLvHcESHA=`).
fn new_request_id() -> String {
    let random = uuid::Uuid::new_v4();
    let bytes: Vec<u8> = random
        .as_bytes()
        .iter()
        .enumerate()
        // Skip the fixed version and variant bits of a v4 UUID.
        .filter(|(i, _)| *i != 6 && *i != 8)
        .map(|(_, b)| *b)
        .take(11)
        .collect();
    BASE64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::Invocation;
    use crate::lambda::memory::{MemoryCatalog, MemoryInvoker};
    use crate::template;
    use serde_json::{Value, json};
    use std::net::{IpAddr, Ipv4Addr};

    const FIXTURE: &str = include_str!("../tests/fixtures/template.yaml");
    const DEPLOYED: [(&str, &str); 7] = [
        ("AuthorizerFunction", "stack-Authorizer"),
        ("RegisterFunction", "stack-Register"),
        ("UsersMeFunction", "stack-UsersMe"),
        ("UserByIdFunction", "stack-UserById"),
        ("OrdersFunction", "stack-Orders"),
        ("FilesFunction", "stack-Files"),
        ("WorkerFunction", "stack-Worker"),
    ];

    async fn gateway(invoker: &MemoryInvoker) -> Gateway<MemoryInvoker, MemoryCatalog> {
        let spec = template::parse(FIXTURE).expect("fixture parses");
        let functions = Functions::new(invoker.clone(), MemoryCatalog::with_functions(DEPLOYED))
            .await
            .expect("stack loads");
        let api = ApiIdentity {
            account_id: "000000000000".to_owned(),
            api_id: "localapi".to_owned(),
            region: "us-east-1".to_owned(),
        };
        Gateway::new(&spec, functions, api, Duration::from_secs(5)).expect("routes are valid")
    }

    fn request(method: &str, target: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut all = vec![("host".to_owned(), "127.0.0.1:3000".to_owned())];
        all.extend(
            headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        HttpRequest {
            method: method.to_owned(),
            raw_path: path.to_owned(),
            raw_query: query.to_owned(),
            headers: all,
            body: Vec::new(),
            source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            protocol: "HTTP/1.1".to_owned(),
            local_port: 3000,
        }
    }

    fn body_json(response: &HttpResponse) -> Value {
        serde_json::from_slice(&response.body).expect("json body")
    }

    fn allow_all(invoker: &MemoryInvoker) {
        invoker.on("stack-Authorizer", |event| {
            let token = event["identitySource"][0]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            Invocation::ok(
                json!({"isAuthorized": true, "context": {"userId": "u1", "token": token}})
                    .to_string(),
            )
        });
    }

    #[tokio::test]
    async fn public_route_invokes_function_with_2_0_event() {
        let invoker = MemoryInvoker::new();
        invoker.returns(
            "stack-Register",
            json!({"statusCode": 201, "headers": {"content-type": "application/json"}, "body": "{\"id\":\"u1\"}"}),
        );
        let gw = gateway(&invoker).await;
        let mut req = request(
            "POST",
            "/auth/register",
            &[("content-type", "application/json")],
        );
        req.body = br#"{"email":"a@b.c"}"#.to_vec();
        let handled = gw.handle(req).await;

        assert_eq!(handled.response.status, 201);
        assert_eq!(handled.response.body, br#"{"id":"u1"}"#);
        assert_eq!(handled.route_key.as_deref(), Some("POST /auth/register"));
        assert_eq!(handled.function.as_deref(), Some("RegisterFunction"));
        let request_id = handled
            .response
            .header("apigw-requestid")
            .expect("request id")
            .to_owned();

        let calls = invoker.calls();
        assert_eq!(calls.len(), 1, "no authorizer on a NONE route");
        let (name, event) = &calls[0];
        assert_eq!(name, "stack-Register");
        assert_eq!(event["routeKey"], "POST /auth/register");
        assert_eq!(event["body"], r#"{"email":"a@b.c"}"#);
        assert_eq!(event["requestContext"]["requestId"], request_id.as_str());
        assert_eq!(event["requestContext"]["apiId"], "localapi");
        assert!(event["requestContext"].get("authorizer").is_none());
    }

    #[tokio::test]
    async fn request_ids_are_unique() {
        let invoker = MemoryInvoker::new();
        let gw = gateway(&invoker).await;
        let a = gw.handle(request("GET", "/nope", &[])).await;
        let b = gw.handle(request("GET", "/nope", &[])).await;
        assert_ne!(
            a.response.header("apigw-requestid"),
            b.response.header("apigw-requestid")
        );
    }

    #[tokio::test]
    async fn unknown_path_and_wrong_method_are_404() {
        let invoker = MemoryInvoker::new();
        let gw = gateway(&invoker).await;
        for (method, path) in [
            ("GET", "/nope"),
            ("GET", "/auth/register"),
            ("DELETE", "/users/me"),
        ] {
            let handled = gw.handle(request(method, path, &[])).await;
            assert_eq!(handled.response.status, 404, "{method} {path}");
            assert_eq!(
                body_json(&handled.response),
                json!({"message": "Not Found"})
            );
            assert!(handled.response.header("apigw-requestid").is_some());
        }
        assert!(invoker.calls().is_empty());
    }

    #[tokio::test]
    async fn missing_identity_header_is_401_without_invoking() {
        let invoker = MemoryInvoker::new();
        allow_all(&invoker);
        let gw = gateway(&invoker).await;
        for headers in [&[][..], &[("authorization", "")][..]] {
            let handled = gw.handle(request("GET", "/users/me", headers)).await;
            assert_eq!(handled.response.status, 401);
            assert_eq!(
                body_json(&handled.response),
                json!({"message": "Unauthorized"})
            );
        }
        assert!(invoker.calls().is_empty());
    }

    #[tokio::test]
    async fn authorized_request_carries_the_context() {
        let invoker = MemoryInvoker::new();
        allow_all(&invoker);
        invoker.on("stack-UsersMe", |event| {
            let user = event["requestContext"]["authorizer"]["lambda"]["userId"].clone();
            Invocation::ok(json!({"user": user}).to_string())
        });
        let gw = gateway(&invoker).await;
        let handled = gw
            .handle(request(
                "GET",
                "/users/me",
                &[("authorization", "Bearer t1")],
            ))
            .await;
        assert_eq!(handled.response.status, 200);
        assert_eq!(
            handled.response.header("content-type"),
            Some("application/json")
        );
        assert_eq!(body_json(&handled.response), json!({"user": "u1"}));

        let auth_event = &invoker.calls_to("stack-Authorizer")[0];
        assert_eq!(auth_event["type"], "REQUEST");
        assert_eq!(auth_event["identitySource"], json!(["Bearer t1"]));
        assert_eq!(auth_event["routeKey"], "GET /users/me");
        assert_eq!(
            auth_event["routeArn"],
            "arn:aws:execute-api:us-east-1:000000000000:localapi/$default/GET/users/me"
        );
        let fn_event = &invoker.calls_to("stack-UsersMe")[0];
        assert_eq!(
            fn_event["requestContext"]["authorizer"]["lambda"],
            json!({"userId": "u1", "token": "Bearer t1"})
        );
    }

    #[tokio::test]
    async fn authorizer_false_is_403() {
        let invoker = MemoryInvoker::new();
        invoker.returns("stack-Authorizer", json!({"isAuthorized": false}));
        let gw = gateway(&invoker).await;
        let handled = gw
            .handle(request("GET", "/users/me", &[("authorization", "x")]))
            .await;
        assert_eq!(handled.response.status, 403);
        assert_eq!(
            body_json(&handled.response),
            json!({"message": "Forbidden"})
        );
        assert!(invoker.calls_to("stack-UsersMe").is_empty());
    }

    #[tokio::test]
    async fn authorizer_unauthorized_error_is_401_other_errors_500() {
        let invoker = MemoryInvoker::new();
        invoker.on("stack-Authorizer", |event| {
            if event["identitySource"][0] == "expired" {
                Invocation::error("Unauthorized", "Unauthorized")
            } else {
                Invocation::error("Panic", "database down")
            }
        });
        let gw = gateway(&invoker).await;
        let expired = gw
            .handle(request("GET", "/users/me", &[("authorization", "expired")]))
            .await;
        assert_eq!(expired.response.status, 401);
        assert_eq!(
            body_json(&expired.response),
            json!({"message": "Unauthorized"})
        );
        let broken = gw
            .handle(request("GET", "/users/me", &[("authorization", "x")]))
            .await;
        assert_eq!(broken.response.status, 500);
        assert_eq!(
            body_json(&broken.response),
            json!({"message": "Internal Server Error"})
        );
        assert!(invoker.calls_to("stack-UsersMe").is_empty());
    }

    #[tokio::test]
    async fn function_error_is_502() {
        let invoker = MemoryInvoker::new();
        invoker.on("stack-Register", |_| Invocation::error("Panic", "boom"));
        let gw = gateway(&invoker).await;
        let handled = gw.handle(request("POST", "/auth/register", &[])).await;
        assert_eq!(handled.response.status, 502);
        assert_eq!(
            body_json(&handled.response),
            json!({"message": "Internal Server Error"})
        );
    }

    #[tokio::test]
    async fn unparseable_result_and_missing_function_are_502() {
        let invoker = MemoryInvoker::new();
        invoker.on("stack-Register", |_| Invocation::ok("not json"));
        let gw = gateway(&invoker).await;
        assert_eq!(
            gw.handle(request("POST", "/auth/register", &[]))
                .await
                .response
                .status,
            502
        );
        // The deployed function vanished and reloading the stack does not help.
        invoker.remove("stack-Register");
        assert_eq!(
            gw.handle(request("POST", "/auth/register", &[]))
                .await
                .response
                .status,
            502
        );
    }

    #[tokio::test]
    async fn path_parameters_static_precedence_and_greedy_proxy() {
        let invoker = MemoryInvoker::new();
        allow_all(&invoker);
        for name in [
            "stack-UsersMe",
            "stack-UserById",
            "stack-Orders",
            "stack-Files",
        ] {
            invoker.returns(name, json!({"statusCode": 200}));
        }
        let gw = gateway(&invoker).await;
        let auth = [("authorization", "t")];

        gw.handle(request("GET", "/users/me", &auth)).await;
        gw.handle(request("GET", "/users/42", &auth)).await;
        assert_eq!(invoker.calls_to("stack-UsersMe").len(), 1);
        let by_id = &invoker.calls_to("stack-UserById")[0];
        assert_eq!(by_id["pathParameters"], json!({"userId": "42"}));
        assert_eq!(by_id["routeKey"], "GET /users/{userId}");

        // Static /orders/summary is public; /orders/{orderId} needs the token.
        let summary = gw.handle(request("GET", "/orders/summary", &[])).await;
        assert_eq!(summary.response.status, 200);
        assert_eq!(summary.route_key.as_deref(), Some("GET /orders/summary"));
        let patch = gw.handle(request("PATCH", "/orders/o%201", &auth)).await;
        assert_eq!(patch.route_key.as_deref(), Some("PATCH /orders/{orderId}"));
        let orders = invoker.calls_to("stack-Orders");
        assert_eq!(orders[1]["pathParameters"], json!({"orderId": "o 1"}));

        let files = gw
            .handle(request("DELETE", "/files/a/b.txt?v=1&v=2", &[]))
            .await;
        assert_eq!(files.route_key.as_deref(), Some("ANY /files/{proxy+}"));
        let event = &invoker.calls_to("stack-Files")[0];
        assert_eq!(event["pathParameters"], json!({"proxy": "a/b.txt"}));
        assert_eq!(event["queryStringParameters"], json!({"v": "1,2"}));
        assert_eq!(event["requestContext"]["http"]["method"], "DELETE");
    }

    #[tokio::test]
    async fn cors_preflight_is_answered_without_invoking() {
        let invoker = MemoryInvoker::new();
        let gw = gateway(&invoker).await;
        let handled = gw
            .handle(request(
                "OPTIONS",
                "/users/me",
                &[
                    ("origin", "http://localhost:5173"),
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "authorization"),
                ],
            ))
            .await;
        let response = &handled.response;
        assert_eq!(response.status, 204);
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            response.header("access-control-allow-methods"),
            Some("GET,POST,PUT,PATCH,DELETE,OPTIONS")
        );
        assert_eq!(
            response.header("access-control-allow-headers"),
            Some("authorization,content-type,idempotency-key,x-correlation-id")
        );
        assert_eq!(response.header("access-control-max-age"), Some("600"));
        assert!(response.header("apigw-requestid").is_some());
        assert!(
            invoker.calls().is_empty(),
            "neither authorizer nor function runs"
        );
    }

    #[tokio::test]
    async fn cors_headers_on_normal_and_error_responses() {
        let invoker = MemoryInvoker::new();
        invoker.returns(
            "stack-Register",
            json!({"statusCode": 200, "headers": {
                "Access-Control-Allow-Origin": "https://backend",
                "Access-Control-Allow-Methods": "PUT"
            }}),
        );
        let gw = gateway(&invoker).await;
        let origin = [("origin", "http://localhost:5173")];
        let ok = gw
            .handle(request("POST", "/auth/register", &origin))
            .await
            .response;
        assert_eq!(ok.header("access-control-allow-origin"), Some("*"));
        assert_eq!(ok.header("access-control-allow-methods"), None);
        assert_eq!(
            ok.header("access-control-expose-headers"),
            Some("x-request-id,x-correlation-id")
        );
        let denied = gw
            .handle(request("GET", "/users/me", &origin))
            .await
            .response;
        assert_eq!(denied.status, 401);
        assert_eq!(denied.header("access-control-allow-origin"), Some("*"));
        let no_origin = gw
            .handle(request("POST", "/auth/register", &[]))
            .await
            .response;
        assert_eq!(no_origin.header("access-control-allow-origin"), None);
    }

    #[tokio::test]
    async fn slow_function_times_out_with_503() {
        let invoker = MemoryInvoker::new().with_delay(Duration::from_millis(200));
        invoker.returns("stack-Register", json!({"statusCode": 200}));
        let spec = template::parse(FIXTURE).expect("fixture parses");
        let functions = Functions::new(invoker.clone(), MemoryCatalog::with_functions(DEPLOYED))
            .await
            .expect("stack loads");
        let api = ApiIdentity {
            account_id: "000000000000".to_owned(),
            api_id: "localapi".to_owned(),
            region: "us-east-1".to_owned(),
        };
        let gw = Gateway::new(&spec, functions, api, Duration::from_millis(20)).expect("valid");
        let handled = gw.handle(request("POST", "/auth/register", &[])).await;
        assert_eq!(handled.response.status, 503);
        assert_eq!(
            body_json(&handled.response),
            json!({"message": "Service Unavailable"})
        );
    }

    #[test]
    fn request_id_looks_like_api_gateway() {
        let id = new_request_id();
        assert_eq!(id.len(), 16);
        assert!(id.ends_with('='));
    }
}
