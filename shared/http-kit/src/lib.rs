//! Lambda glue for HTTP API functions (payload format 2.0).
//!
//! A handler is `async fn(Request, HttpContext) -> Result<Response, ApiError>`;
//! [`run`] turns every `ApiError` into an `application/problem+json`
//! response in exactly one place, logs the cause of 5xx answers without
//! leaking it, and stamps every response with the request and correlation ids.

mod body;
mod context;
mod error;
mod response;
mod service;
mod validate;

pub use body::{DEFAULT_BODY_LIMIT, parse_json};
pub use context::{Caller, HttpContext, path_param, query_param};
pub use error::{ApiError, FieldError};
pub use lambda_http::{Body, Error, Request, Response, http::StatusCode};
pub use response::{json, no_content};
pub use service::{handle, run};
pub use validate::Validator;
