use contracts::Role;
use http_kit::{
    ApiError, Body, FieldError, HttpContext, Request, Response, StatusCode, json, query_param,
};
use identity::service::list_users;
use identity::store::IdentityStore;

pub async fn handle<S: IdentityStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let limit = match query_param(&req, "limit") {
        None => 20,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| {
                ApiError::Validation(vec![FieldError::new(
                    "limit",
                    "must be an integer from 1 to 100",
                )])
            })?,
    };
    let cursor = query_param(&req, "cursor");
    json(
        StatusCode::OK,
        &list_users(store, cursor.as_deref(), limit).await?,
    )
}
