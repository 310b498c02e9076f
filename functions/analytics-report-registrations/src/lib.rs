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
    json(StatusCode::OK, &report::registrations(range, &days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::{InMemoryStatsStore, Increment};
    use contracts::UserId;
    use http_kit::Caller;
    use lambda_http::RequestExt;

    fn admin() -> HttpContext {
        HttpContext::new(
            "r",
            Some(Caller {
                user_id: UserId::new(),
                roles: vec![Role::User, Role::Admin],
            }),
        )
    }

    fn query(pairs: &[(&str, &str)]) -> Request {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Request::new(Body::Empty).with_query_string_parameters(map)
    }

    #[tokio::test]
    async fn admins_get_per_day_counts_and_others_are_refused() {
        let stats = InMemoryStatsStore::new();
        let day = time::macros::date!(2026 - 11 - 20);
        stats
            .record(
                "e1",
                day,
                &[Increment {
                    metric: "registrations".into(),
                    by: 1,
                }],
            )
            .await
            .expect("record");
        let ok = handle(
            &stats,
            query(&[("from", "2026-11-19"), ("to", "2026-11-20")]),
            admin(),
        )
        .await
        .expect("report");
        let body: serde_json::Value = serde_json::from_slice(ok.body().as_ref()).expect("json");
        assert_eq!(body["total"], 1);
        assert_eq!(body["days"][1]["registrations"], 1);

        let user = HttpContext::new(
            "r",
            Some(Caller {
                user_id: UserId::new(),
                roles: vec![Role::User],
            }),
        );
        let err = handle(&stats, query(&[]), user).await.expect_err("403");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        let err = handle(&stats, query(&[("from", "nope")]), admin())
            .await
            .expect_err("400");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}
