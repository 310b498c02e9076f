//! Request parsing shared by several identity endpoints.

use http_kit::{ApiError, DEFAULT_BODY_LIMIT, Request, Validator, parse_json};
use serde::Deserialize;

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: Option<String>,
}

/// The `refresh_token` field of a JSON body (refresh and logout).
pub fn refresh_token_field(req: &Request) -> Result<String, ApiError> {
    let body: RefreshBody = parse_json(req, DEFAULT_BODY_LIMIT)?;
    let mut v = Validator::new();
    let token = v.parse("refresh_token", body.refresh_token, |t: String| {
        if t.is_empty() || t.len() > 512 {
            Err("must be 1 to 512 characters")
        } else {
            Ok(t)
        }
    });
    v.finish(token)
}
