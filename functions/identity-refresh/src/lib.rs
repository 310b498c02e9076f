use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json};
use identity::config::TokenPolicy;
use identity::http::refresh_token_field;
use identity::service::refresh;
use identity::store::IdentityStore;
use security::TokenIssuer;

pub struct Deps<S> {
    pub store: S,
    pub issuer: TokenIssuer,
    pub policy: TokenPolicy,
}

pub async fn handle<S: IdentityStore>(
    deps: &Deps<S>,
    req: Request,
    _ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let token = refresh_token_field(&req)?;
    let tokens = refresh(
        &deps.store,
        &deps.issuer,
        &deps.policy,
        &token,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    json(StatusCode::OK, &tokens)
}
