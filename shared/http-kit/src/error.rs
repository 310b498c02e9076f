use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every way an HTTP function can answer with an error. Functions return
/// these; only [`ApiError::into_response`] decides what the client sees.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// A conditional request (`If-Match`) named a version that is no longer
    /// current (RFC 9110 13.1.1).
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The resource may only be changed with a precondition, so that lost
    /// updates cannot happen (RFC 6585 3).
    #[error("precondition required: {0}")]
    PreconditionRequired(String),
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("payload too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable")]
    Unavailable,
    /// Anything unexpected. The cause is logged, never sent.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
    request_id: &'a str,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed(_) => "precondition_failed",
            ApiError::PreconditionRequired(_) => "precondition_required",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            ApiError::Validation(_) => Some("The request has invalid fields; see `errors`.".into()),
            ApiError::BadRequest(d)
            | ApiError::Conflict(d)
            | ApiError::Unprocessable(d)
            | ApiError::PreconditionFailed(d)
            | ApiError::PreconditionRequired(d) => Some(d.clone()),
            ApiError::PayloadTooLarge { limit } => {
                Some(format!("The request body exceeds {limit} bytes."))
            }
            ApiError::UnsupportedMediaType => {
                Some("The request body must be JSON (content-type: application/json).".into())
            }
            ApiError::TooManyRequests { retry_after_secs } => Some(format!(
                "Too many attempts; retry after {retry_after_secs} seconds."
            )),
            ApiError::Internal(_) => {
                Some("An unexpected error occurred. Quote the request_id when reporting it.".into())
            }
            _ => None,
        }
    }

    /// Renders the error as an RFC 9457 problem document.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let status = self.status();
        let errors = match &self {
            ApiError::Validation(errors) => errors.as_slice(),
            _ => &[],
        };
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            code: self.code(),
            detail: self.detail(),
            errors,
            request_id,
        };
        let body = serde_json::to_string(&problem).unwrap_or_else(|_| {
            format!(
                "{{\"status\":{},\"request_id\":\"{request_id}\"}}",
                status.as_u16()
            )
        });
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            ApiError::Unauthorized => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).expect("json body")
    }

    #[test]
    fn validation_errors_list_fields() {
        let r = ApiError::Validation(vec![FieldError::new("email", "must contain '@'")])
            .into_response("req-1");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = body_json(&r);
        assert_eq!(body["errors"][0]["field"], "email");
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["request_id"], "req-1");
        assert_eq!(body["status"], 400);
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let r = ApiError::Internal(anyhow::anyhow!("table arn:aws:dynamodb:secret exploded"))
            .into_response("req-2");
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = String::from_utf8_lossy(r.body().as_ref()).to_string();
        assert!(!text.contains("dynamodb"), "leaked: {text}");
        assert!(text.contains("req-2"));
    }

    #[test]
    fn rate_limit_sets_retry_after() {
        let r = ApiError::TooManyRequests {
            retry_after_secs: 42,
        }
        .into_response("r");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "42");
    }

    #[test]
    fn preconditions_have_their_statuses_and_detail() {
        let r = ApiError::PreconditionFailed("version 3 is stale".into()).into_response("r");
        assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
        let body = body_json(&r);
        assert_eq!(body["code"], "precondition_failed");
        assert_eq!(body["detail"], "version 3 is stale");
        let r = ApiError::PreconditionRequired("send If-Match".into()).into_response("r");
        assert_eq!(r.status(), StatusCode::PRECONDITION_REQUIRED);
        assert_eq!(body_json(&r)["code"], "precondition_required");
    }

    #[test]
    fn unauthorized_sets_www_authenticate() {
        let r = ApiError::Unauthorized.into_response("r");
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
