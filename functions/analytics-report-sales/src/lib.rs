use analytics::{DayRange, StatsStore, report};
use contracts::Role;
use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json, query_param};

/// `GET /analytics/sales?from&to` (admin): orders, revenue, cancellations,
/// refunds and best sellers per day, and over the range.
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
    json(StatusCode::OK, &report::sales(range, &days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::{InMemoryStatsStore, increments_for, sales_effect_for};
    use contracts::events::{OrderConfirmed, OrderLine};
    use contracts::{CorrelationId, Currency, EventEnvelope, OrderId, ProductId, UserId};
    use http_kit::Caller;
    use lambda_http::RequestExt;
    use time::macros::{date, datetime};

    fn ctx(roles: Vec<Role>) -> HttpContext {
        HttpContext::new(
            "r",
            Some(Caller {
                user_id: UserId::new(),
                roles,
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

    async fn sold(stats: &InMemoryStatsStore, product: ProductId, quantity: u32) {
        let event = EventEnvelope::new(
            OrderConfirmed {
                order_id: OrderId::new(),
                user_id: UserId::new(),
                payment_id: "pay".into(),
                lines: vec![OrderLine {
                    product_id: product,
                    sku: "MUG".into(),
                    name: "Mug".into(),
                    unit_price: 1_000,
                    quantity,
                }],
                amount: 1_000 * i64::from(quantity),
                currency: Currency::USD,
                confirmed_at: datetime!(2026-11-20 12:00 UTC),
            },
            CorrelationId::new(),
            datetime!(2026-11-20 12:00 UTC),
        )
        .into_raw()
        .expect("raw");
        let effect = sales_effect_for(&event).expect("a sale");
        stats
            .record_sales(
                event.id.as_str(),
                date!(2026 - 11 - 20),
                &increments_for(&event),
                &effect,
            )
            .await
            .expect("recorded");
    }

    #[tokio::test]
    async fn admins_get_sales_per_day_and_totals() {
        let stats = InMemoryStatsStore::new();
        let product = ProductId::new();
        sold(&stats, product, 2).await;
        sold(&stats, product, 1).await;

        let response = handle(
            &stats,
            query(&[("from", "2026-11-19"), ("to", "2026-11-20")]),
            ctx(vec![Role::User, Role::Admin]),
        )
        .await
        .expect("200");
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("json");
        assert_eq!(body["from"], "2026-11-19");
        assert_eq!(body["days"][0]["orders"], 0);
        assert_eq!(body["days"][0]["top_products"], serde_json::json!([]));
        let day = &body["days"][1];
        assert_eq!(day["date"], "2026-11-20");
        assert_eq!(day["orders"], 2);
        assert_eq!(
            day["revenue"],
            serde_json::json!([{"currency": "USD", "amount": 3000}])
        );
        assert_eq!(
            day["top_products"],
            serde_json::json!([{
                "product_id": product.to_string(),
                "sku": "MUG",
                "name": "Mug",
                "units": 3,
                "revenue": [{"currency": "USD", "amount": 3000}]
            }])
        );
        assert_eq!(body["totals"]["orders"], 2);
        assert_eq!(
            body["totals"]["net_revenue"],
            serde_json::json!([{"currency": "USD", "amount": 3000}])
        );
    }

    #[tokio::test]
    async fn non_admins_and_bad_ranges_are_refused() {
        let stats = InMemoryStatsStore::new();
        let err = handle(&stats, query(&[]), ctx(vec![Role::User]))
            .await
            .expect_err("403");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        let err = handle(&stats, query(&[]), HttpContext::new("r", None))
            .await
            .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        for bad in [
            vec![("from", "yesterday")],
            vec![("from", "2026-11-21"), ("to", "2026-11-20")],
            vec![("from", "2020-01-01"), ("to", "2026-01-01")],
            vec![("to", "2026-02-30")],
        ] {
            let err = handle(&stats, query(&bad), ctx(vec![Role::Admin]))
                .await
                .expect_err("400");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }
}
