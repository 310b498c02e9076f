//! Turns a Lambda result into the HTTP response API Gateway (payload format
//! 2.0) would send, and builds the gateway's own error responses.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

/// An HTTP response the gateway sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Names lower-case; a name may repeat (`set-cookie`).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// `{"message": ...}` with `content-type: application/json`, the shape of
    /// every error API Gateway produces itself.
    pub fn message(status: u16, message: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: serde_json::json!({ "message": message })
                .to_string()
                .into_bytes(),
        }
    }

    pub fn not_found() -> Self {
        Self::message(404, "Not Found")
    }

    pub fn unauthorized() -> Self {
        Self::message(401, "Unauthorized")
    }

    pub fn forbidden() -> Self {
        Self::message(403, "Forbidden")
    }

    pub fn too_large() -> Self {
        Self::message(413, "Request Entity Too Large")
    }

    /// Authorizer failure.
    pub fn internal_error() -> Self {
        Self::message(500, "Internal Server Error")
    }

    /// Integration failure (function error, bad result, invoke failure).
    pub fn bad_gateway() -> Self {
        Self::message(502, "Internal Server Error")
    }

    /// Integration timed out.
    pub fn unavailable() -> Self {
        Self::message(503, "Service Unavailable")
    }

    /// First value of a header; `name` must be lower-case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_owned(), value.into()));
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    #[error("function result is not JSON: {0}")]
    NotJson(String),
    #[error("statusCode {0} is not an HTTP status")]
    BadStatus(String),
    #[error("{field} {reason}")]
    BadField { field: &'static str, reason: String },
}

fn bad(field: &'static str, reason: impl Into<String>) -> MappingError {
    MappingError::BadField {
        field,
        reason: reason.into(),
    }
}

/// Maps a function's result payload to the HTTP response.
///
/// A JSON object with `statusCode` is a structured response. Any other valid
/// JSON is returned as is with status 200 and `content-type:
/// application/json`, as API Gateway infers it.
pub fn map_function_result(payload: &[u8]) -> Result<HttpResponse, MappingError> {
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| MappingError::NotJson(e.to_string()))?;
    match value {
        Value::Object(object) if object.contains_key("statusCode") => structured(object),
        _ => Ok(HttpResponse {
            status: 200,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: payload.to_vec(),
        }),
    }
}

fn structured(object: Map<String, Value>) -> Result<HttpResponse, MappingError> {
    let status = match object.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .and_then(|code| u16::try_from(code).ok())
    .filter(|code| (100..=599).contains(code))
    .ok_or_else(|| {
        MappingError::BadStatus(
            object
                .get("statusCode")
                .map(Value::to_string)
                .unwrap_or_default(),
        )
    })?;

    let mut headers = Vec::new();
    match object.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                if let Some(text) =
                    header_text(value).map_err(|r| bad("headers", format!("{name}: {r}")))?
                {
                    headers.push((name.to_ascii_lowercase(), text));
                }
            }
        }
        Some(_) => return Err(bad("headers", "is not an object")),
    }
    match object.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, values) in map {
                let Value::Array(values) = values else {
                    return Err(bad("multiValueHeaders", format!("{name} is not an array")));
                };
                // A name in both maps: the multi-value list wins.
                let name_lower = name.to_ascii_lowercase();
                headers.retain(|(n, _)| *n != name_lower);
                for value in values {
                    if let Some(text) = header_text(value)
                        .map_err(|r| bad("multiValueHeaders", format!("{name}: {r}")))?
                    {
                        headers.push((name.to_ascii_lowercase(), text));
                    }
                }
            }
        }
        Some(_) => return Err(bad("multiValueHeaders", "is not an object")),
    }
    match object.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for cookie in cookies {
                let Value::String(cookie) = cookie else {
                    return Err(bad("cookies", "must hold strings"));
                };
                headers.push(("set-cookie".to_owned(), cookie.clone()));
            }
        }
        Some(_) => return Err(bad("cookies", "is not an array")),
    }

    let is_base64 = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("isBase64Encoded", "is not a boolean")),
    };
    let body = match object.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if is_base64 => BASE64
            .decode(text.as_bytes())
            .map_err(|e| bad("body", format!("is not valid base64: {e}")))?,
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(_) => return Err(bad("body", "is not a string")),
    };

    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// Header values may be strings, numbers or booleans; `null` drops the header.
fn header_text(value: &Value) -> Result<Option<String>, &'static str> {
    match value {
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Null => Ok(None),
        _ => Err("value is not a string"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Result<HttpResponse, MappingError> {
        map_function_result(value.to_string().as_bytes())
    }

    #[test]
    fn structured_response_is_used() {
        let response = map(json!({
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-Request-Id": "r1", "X-Count": 3, "vary": "x"},
            "multiValueHeaders": {"Vary": ["origin", "accept"]},
            "cookies": ["session=abc; HttpOnly", "theme=dark"],
            "body": "{\"id\":\"u1\"}",
            "isBase64Encoded": false
        }))
        .expect("maps");
        assert_eq!(response.status, 201);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.header("x-request-id"), Some("r1"));
        assert_eq!(response.header("x-count"), Some("3"));
        assert_eq!(
            response.header_values("vary").collect::<Vec<_>>(),
            ["origin", "accept"]
        );
        assert_eq!(
            response.header_values("set-cookie").collect::<Vec<_>>(),
            ["session=abc; HttpOnly", "theme=dark"]
        );
        assert_eq!(response.body, br#"{"id":"u1"}"#);
    }

    #[test]
    fn base64_body_is_decoded() {
        let response =
            map(json!({"statusCode": 200, "body": "/wBh", "isBase64Encoded": true})).expect("maps");
        assert_eq!(response.body, [0xff, 0x00, 0x61]);
    }

    #[test]
    fn status_without_body_gives_empty_body() {
        let response = map(json!({"statusCode": 204})).expect("maps");
        assert_eq!(response.status, 204);
        assert!(response.body.is_empty());
        assert!(response.headers.is_empty());
    }

    #[test]
    fn json_without_status_code_is_inferred_as_200_json() {
        for payload in [r#"{"hello":"world"}"#, r#"[1,2]"#, r#""text""#, "null"] {
            let response = map_function_result(payload.as_bytes()).expect("maps");
            assert_eq!(response.status, 200, "{payload}");
            assert_eq!(response.header("content-type"), Some("application/json"));
            assert_eq!(response.body, payload.as_bytes());
        }
    }

    #[test]
    fn malformed_results_are_errors() {
        assert!(matches!(
            map_function_result(b"not json"),
            Err(MappingError::NotJson(_))
        ));
        assert!(matches!(
            map(json!({"statusCode": "abc"})),
            Err(MappingError::BadStatus(_))
        ));
        assert!(matches!(
            map(json!({"statusCode": 99})),
            Err(MappingError::BadStatus(_))
        ));
        assert!(matches!(
            map(json!({"statusCode": 200, "body": {"a": 1}})),
            Err(MappingError::BadField { .. })
        ));
        assert!(matches!(
            map(json!({"statusCode": 200, "body": "%%%", "isBase64Encoded": true})),
            Err(MappingError::BadField { .. })
        ));
        assert!(matches!(
            map(json!({"statusCode": 200, "headers": []})),
            Err(MappingError::BadField { .. })
        ));
    }

    #[test]
    fn error_messages_have_api_gateway_shape() {
        let response = HttpResponse::not_found();
        assert_eq!(response.status, 404);
        assert_eq!(response.body, br#"{"message":"Not Found"}"#);
        assert_eq!(
            HttpResponse::bad_gateway().body,
            br#"{"message":"Internal Server Error"}"#
        );
        assert_eq!(HttpResponse::bad_gateway().status, 502);
    }
}
