use contracts::Role;
use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json};
use platform::health::{Check, Clients, run_checks};

pub struct Deps {
    pub clients: Clients,
    pub checks: Vec<Check>,
    /// `GET /analytics/health` is an admin endpoint; `GET /health` is public
    /// (it reveals only which kind of dependency is down, never names).
    pub require_admin: bool,
}

pub async fn handle(
    deps: &Deps,
    _req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    if deps.require_admin {
        ctx.caller()?.require(Role::Admin)?;
    }
    let report = run_checks(&deps.clients, &deps.checks).await;
    let status = if report.healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(status, &report)
}
