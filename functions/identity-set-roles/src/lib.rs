use contracts::{Role, UserId};
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    json, parse_json, path_param,
};
use identity::service::set_roles;
use identity::store::IdentityStore;
use serde::Deserialize;

#[derive(Deserialize)]
struct RolesBody {
    roles: Option<Vec<String>>,
}

pub async fn handle<S: IdentityStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let id: UserId = path_param(&req, "id")?;
    let body: RolesBody = parse_json(&req, DEFAULT_BODY_LIMIT)?;
    let mut v = Validator::new();
    let roles = v.parse("roles", body.roles, |raw: Vec<String>| {
        if raw.is_empty() {
            return Err("must list at least one role".to_owned());
        }
        raw.iter()
            .map(|r| r.parse::<Role>().map_err(|e| format!("{r:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()
    });
    let roles = v.finish(roles)?;
    let user = set_roles(store, id, roles, time::OffsetDateTime::now_utc()).await?;
    json(StatusCode::OK, &user)
}
