use analytics::{DayRange, StatsStore, report};
use contracts::Role;
use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json, query_param};

pub async fn handle<S: StatsStore>(
    stats: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let range = DayRange::parse(
        query_param(&req, "from").as_deref(),
        query_param(&req, "to").as_deref(),
        DayRange::today(),
    )?;
    let days = stats.stats(range).await?;
    json(StatusCode::OK, &report::events(range, &days))
}
