use http_kit::{ApiError, Body, HttpContext, Request, Response, no_content};
use identity::http::refresh_token_field;
use identity::service::logout;
use identity::store::IdentityStore;

pub async fn handle<S: IdentityStore>(
    store: &S,
    req: Request,
    _ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let token = refresh_token_field(&req)?;
    logout(store, &token, time::OffsetDateTime::now_utc()).await?;
    Ok(no_content())
}
