//! Lambda REQUEST authorizers with payload format 2.0: identity sources and
//! the reading of the authorizer's answer.

use serde_json::Value;

use crate::event::{HttpRequest, query_parameters};
use crate::lambda::Invocation;
use crate::response::HttpResponse;
use crate::template::AuthorizerSpec;

/// What the authorizer decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Go on; the context goes to `requestContext.authorizer.lambda`.
    Allow(Value),
    /// 401: identity missing, or the authorizer failed with `Unauthorized`.
    Unauthorized,
    /// 403: the authorizer said no.
    Forbidden,
    /// 500: the authorizer failed or answered something unreadable.
    Error(String),
}

impl Decision {
    /// The response for a request that does not go on, if any.
    pub fn rejection(&self) -> Option<HttpResponse> {
        match self {
            Decision::Allow(_) => None,
            Decision::Unauthorized => Some(HttpResponse::unauthorized()),
            Decision::Forbidden => Some(HttpResponse::forbidden()),
            Decision::Error(_) => Some(HttpResponse::internal_error()),
        }
    }
}

/// The identity source values in template order, or `None` when one is
/// missing or empty (API Gateway then answers 401 without invoking).
pub fn identity_source(spec: &AuthorizerSpec, request: &HttpRequest) -> Option<Vec<String>> {
    let mut values =
        Vec::with_capacity(spec.identity_headers.len() + spec.identity_query_strings.len());
    for header in &spec.identity_headers {
        let value = request.header(&header.to_ascii_lowercase())?;
        if value.trim().is_empty() {
            return None;
        }
        values.push(value);
    }
    if !spec.identity_query_strings.is_empty() {
        let query = query_parameters(&request.raw_query);
        for name in &spec.identity_query_strings {
            let value = query.get(name).filter(|v| !v.is_empty())?;
            values.push(value.clone());
        }
    }
    Some(values)
}

/// Reads the authorizer's result.
pub fn decide(spec: &AuthorizerSpec, invocation: &Invocation) -> Decision {
    if invocation.function_error.is_some() {
        return match invocation.error_message() {
            Some(message) if message == "Unauthorized" => Decision::Unauthorized,
            Some(message) => Decision::Error(format!("authorizer function failed: {message}")),
            None => Decision::Error(format!(
                "authorizer function failed: {}",
                String::from_utf8_lossy(&invocation.payload)
            )),
        };
    }
    let response: Value = match serde_json::from_slice(&invocation.payload) {
        Ok(value) => value,
        Err(e) => return Decision::Error(format!("authorizer response is not JSON: {e}")),
    };
    let context = match response.get("context") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(context @ Value::Object(_)) => context.clone(),
        Some(_) => {
            return Decision::Error("authorizer response context is not an object".to_owned());
        }
    };
    let allowed = if spec.simple_responses {
        match response.get("isAuthorized") {
            Some(Value::Bool(allowed)) => *allowed,
            _ => {
                return Decision::Error(
                    "authorizer response has no boolean isAuthorized (EnableSimpleResponses is on)"
                        .to_owned(),
                );
            }
        }
    } else {
        match policy_allows(&response) {
            Some(allowed) => allowed,
            None => {
                return Decision::Error(
                    "authorizer response has no valid policyDocument".to_owned(),
                );
            }
        }
    };
    if allowed {
        Decision::Allow(context)
    } else {
        Decision::Forbidden
    }
}

/// IAM policy answer: allowed when some statement allows `execute-api:Invoke`
/// and none denies it. Resources are not matched against the route ARN.
fn policy_allows(response: &Value) -> Option<bool> {
    let statements = match response.get("policyDocument")?.get("Statement")? {
        Value::Array(list) => list.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => return None,
    };
    let mut allow = false;
    for statement in &statements {
        match statement.get("Effect")?.as_str()? {
            "Deny" => return Some(false),
            "Allow" => allow = true,
            _ => return None,
        }
    }
    Some(allow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::FunctionRef;
    use serde_json::json;
    use std::net::{IpAddr, Ipv4Addr};

    fn spec(simple: bool) -> AuthorizerSpec {
        AuthorizerSpec {
            name: "TokenAuthorizer".to_owned(),
            function: FunctionRef::Logical("AuthorizerFunction".to_owned()),
            identity_headers: vec!["Authorization".to_owned()],
            identity_query_strings: Vec::new(),
            simple_responses: simple,
        }
    }

    fn request(headers: &[(&str, &str)], query: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".to_owned(),
            raw_path: "/users/me".to_owned(),
            raw_query: query.to_owned(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
            source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            protocol: "HTTP/1.1".to_owned(),
            local_port: 3000,
        }
    }

    #[test]
    fn identity_header_is_case_insensitive_and_required() {
        let s = spec(true);
        assert_eq!(
            identity_source(&s, &request(&[("authorization", "Bearer x")], "")),
            Some(vec!["Bearer x".to_owned()])
        );
        assert_eq!(identity_source(&s, &request(&[], "")), None);
        assert_eq!(
            identity_source(&s, &request(&[("authorization", "  ")], "")),
            None
        );
    }

    #[test]
    fn identity_query_strings_follow_headers() {
        let mut s = spec(true);
        s.identity_query_strings = vec!["tenant".to_owned()];
        let req = request(&[("authorization", "t")], "tenant=acme");
        assert_eq!(
            identity_source(&s, &req),
            Some(vec!["t".to_owned(), "acme".to_owned()])
        );
        assert_eq!(
            identity_source(&s, &request(&[("authorization", "t")], "tenant=")),
            None
        );
    }

    #[test]
    fn simple_responses() {
        let s = spec(true);
        let allow =
            Invocation::ok(json!({"isAuthorized": true, "context": {"userId": "u1"}}).to_string());
        assert_eq!(decide(&s, &allow), Decision::Allow(json!({"userId": "u1"})));
        let allow_no_ctx = Invocation::ok(json!({"isAuthorized": true}).to_string());
        assert_eq!(decide(&s, &allow_no_ctx), Decision::Allow(json!({})));
        let deny = Invocation::ok(json!({"isAuthorized": false}).to_string());
        assert_eq!(decide(&s, &deny), Decision::Forbidden);
        assert_eq!(decide(&s, &deny).rejection().map(|r| r.status), Some(403));
    }

    #[test]
    fn unauthorized_error_is_401_other_errors_500() {
        let s = spec(true);
        let unauthorized = Invocation::error("Unauthorized", "Unauthorized");
        assert_eq!(decide(&s, &unauthorized), Decision::Unauthorized);
        assert_eq!(
            decide(&s, &unauthorized).rejection().map(|r| r.status),
            Some(401)
        );
        let crash = Invocation::error("Panic", "boom");
        assert!(matches!(decide(&s, &crash), Decision::Error(_)));
        assert_eq!(decide(&s, &crash).rejection().map(|r| r.status), Some(500));
    }

    #[test]
    fn malformed_answers_are_500() {
        let s = spec(true);
        for payload in [
            "not json",
            r#"{"isAuthorized":"yes"}"#,
            r#"{}"#,
            r#"{"isAuthorized":true,"context":[1]}"#,
        ] {
            assert!(
                matches!(decide(&s, &Invocation::ok(payload)), Decision::Error(_)),
                "{payload}"
            );
        }
    }

    #[test]
    fn iam_policy_responses() {
        let s = spec(false);
        let policy = |effect: &str| {
            Invocation::ok(
                json!({
                    "principalId": "u1",
                    "policyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": "*"}
                    ]},
                    "context": {"userId": "u1"}
                })
                .to_string(),
            )
        };
        assert_eq!(
            decide(&s, &policy("Allow")),
            Decision::Allow(json!({"userId": "u1"}))
        );
        assert_eq!(decide(&s, &policy("Deny")), Decision::Forbidden);
        assert!(matches!(
            decide(&s, &Invocation::ok("{}")),
            Decision::Error(_)
        ));
    }
}
