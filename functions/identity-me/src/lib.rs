use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json};
use identity::service::me;
use identity::store::IdentityStore;

pub async fn handle<S: IdentityStore>(
    store: &S,
    _req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    json(StatusCode::OK, &me(store, caller.user_id).await?)
}
