use lambda_http::http::header;
use lambda_http::{Body, Request};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// Default request body limit. Identity and wallet payloads are tiny; a
/// large body is either a mistake or an attack.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// Parses a JSON request body into `T` (usually a DTO of optional fields that
/// a [`crate::Validator`] then turns into domain types).
///
/// - no body -> 400; body over `limit` -> 413; non-JSON content type -> 415;
/// - malformed JSON -> 400 with line and column;
/// - a field of the wrong type -> 400 naming the field path.
pub fn parse_json<T: DeserializeOwned>(req: &Request, limit: usize) -> Result<T, ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "A JSON request body is required.".into(),
        ));
    }
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        let essence = ct.split(';').next().unwrap_or_default().trim();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." => {
                ApiError::Validation(vec![FieldError::new(path, data_message(&inner))])
            }
            serde_json::error::Category::Data => ApiError::BadRequest(format!(
                "The request body has the wrong shape: {}",
                data_message(&inner)
            )),
            _ => ApiError::BadRequest(format!(
                "The request body is not valid JSON (line {}, column {}).",
                inner.line(),
                inner.column()
            )),
        }
    })
}

/// serde_json's message without its " at line X column Y" suffix.
fn data_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::StatusCode;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Dto {
        name: Option<String>,
        age: Option<u32>,
    }

    fn req(body: &str, content_type: Option<&str>) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/x");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(Body::from(body.to_owned())).expect("request")
    }

    fn status(r: Result<Dto, ApiError>) -> StatusCode {
        r.expect_err("should fail").status()
    }

    #[test]
    fn parses_valid_json() {
        let dto: Dto = parse_json(
            &req(r#"{"name":"a","age":3}"#, Some("application/json")),
            1024,
        )
        .expect("parses");
        assert_eq!(dto.age, Some(3));
    }

    #[test]
    fn accepts_json_with_charset_and_no_content_type() {
        assert!(
            parse_json::<Dto>(&req("{}", Some("application/json; charset=utf-8")), 1024).is_ok()
        );
        assert!(parse_json::<Dto>(&req("{}", None), 1024).is_ok());
    }

    #[test]
    fn rejects_bad_bodies_with_4xx() {
        assert_eq!(
            status(parse_json(&req("", Some("application/json")), 1024)),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(parse_json(
                &req("{\"name\":", Some("application/json")),
                1024
            )),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(parse_json(&req("{}", Some("text/plain")), 1024)),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            status(parse_json(
                &req(&"x".repeat(2000), Some("application/json")),
                1024
            )),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            status(parse_json(&req("[1,2]", Some("application/json")), 1024)),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn wrong_field_type_names_the_field() {
        let err = parse_json::<Dto>(&req(r#"{"age":"old"}"#, Some("application/json")), 1024)
            .expect_err("fails");
        match err {
            ApiError::Validation(errors) => {
                assert_eq!(errors[0].field, "age");
                assert!(
                    errors[0].message.contains("invalid type"),
                    "{}",
                    errors[0].message
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
