use contracts::{OrderId, Role};
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    json, parse_json, path_param,
};
use orders::service::{FulfilmentStatus, set_fulfilment_status};
use orders::store::OrdersStore;
use serde_json::{Map, Value};

fn fulfilment(value: Value) -> Result<FulfilmentStatus, &'static str> {
    match value {
        Value::String(s) => s.parse(),
        _ => Err("must be \"shipped\" or \"delivered\""),
    }
}

/// Admin only: moves an order along fulfilment, confirmed -> shipped ->
/// delivered, announcing `order.shipped` / `order.delivered`. Any other
/// move is 409; setting the status the order already has is a no-op 200.
pub async fn handle<S: OrdersStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let id: OrderId = path_param(&req, "id")?;
    let mut body: Map<String, Value> = parse_json(&req, DEFAULT_BODY_LIMIT)?;
    let mut v = Validator::new();
    let target = v.parse(
        "status",
        body.remove("status").filter(|s| !s.is_null()),
        fulfilment,
    );
    let target = v.finish(target)?;
    let order = set_fulfilment_status(
        store,
        id,
        target,
        ctx.correlation_id.clone(),
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    json(StatusCode::OK, &order)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use contracts::events::{OrderDelivered, OrderShipped};
    use contracts::{DomainEvent, UserId};
    use lambda_http::RequestExt;
    use lambda_http::http::{HeaderValue, header};
    use orders::memory::InMemoryOrdersStore;
    use orders::model::OrderStatus;
    use orders::store::OrdersStore;
    use orders::testing::{caller, place_order};
    use time::OffsetDateTime;

    use super::*;

    fn put(id: &str, body: &str) -> Request {
        let mut req = Request::new(Body::from(body.to_owned()))
            .with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]));
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        req
    }

    /// An order the saga has confirmed.
    async fn confirmed(store: &InMemoryOrdersStore) -> OrderId {
        let id = place_order(store, UserId::new(), 1).await;
        let mut order = store.order(id).await.expect("read").expect("order");
        for status in [OrderStatus::Paid, OrderStatus::Confirmed] {
            order = order
                .transition(status, None, OffsetDateTime::now_utc())
                .expect("legal");
        }
        store.force_order(order);
        id
    }

    fn count<T: DomainEvent>(store: &InMemoryOrdersStore) -> usize {
        store
            .outbox()
            .iter()
            .filter(|e| e.event_type == T::TYPE)
            .count()
    }

    async fn set(
        store: &InMemoryOrdersStore,
        id: OrderId,
        status: &str,
    ) -> Result<Response<Body>, ApiError> {
        let body = serde_json::json!({ "status": status }).to_string();
        handle(
            store,
            put(&id.to_string(), &body),
            caller(UserId::new(), true),
        )
        .await
    }

    #[tokio::test]
    async fn an_admin_ships_then_delivers() {
        let store = InMemoryOrdersStore::new();
        let id = confirmed(&store).await;

        let response = set(&store, id, "shipped").await.expect("200");
        assert_eq!(response.status(), StatusCode::OK);
        let order: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("json");
        assert_eq!(order["status"], "shipped");
        assert_eq!(count::<OrderShipped>(&store), 1);
        // The same PUT again: nothing changes, nothing is announced.
        set(&store, id, "shipped").await.expect("idempotent");
        assert_eq!(count::<OrderShipped>(&store), 1);

        let response = set(&store, id, "delivered").await.expect("200");
        let order: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("json");
        assert_eq!(order["status"], "delivered");
        let history: Vec<&str> = order["history"]
            .as_array()
            .expect("history")
            .iter()
            .map(|c| c["status"].as_str().expect("status"))
            .collect();
        assert_eq!(
            history,
            vec!["pending", "paid", "confirmed", "shipped", "delivered"]
        );
        assert_eq!(count::<OrderDelivered>(&store), 1);

        let err = set(&store, id, "shipped").await.expect_err("409");
        assert_eq!(err.status(), StatusCode::CONFLICT);
    }

    #[tokio::test]
    async fn illegal_moves_are_409() {
        let store = InMemoryOrdersStore::new();
        let pending = place_order(&store, UserId::new(), 1).await;
        for status in ["shipped", "delivered"] {
            let err = set(&store, pending, status).await.expect_err("409");
            assert_eq!(err.status(), StatusCode::CONFLICT, "pending -> {status}");
        }
        let id = confirmed(&store).await;
        let err = set(&store, id, "delivered").await.expect_err("409");
        assert_eq!(err.status(), StatusCode::CONFLICT, "confirmed -> delivered");
        assert_eq!(
            count::<OrderShipped>(&store) + count::<OrderDelivered>(&store),
            0
        );
    }

    #[tokio::test]
    async fn only_admins_and_only_fulfilment_statuses() {
        let store = InMemoryOrdersStore::new();
        let id = confirmed(&store).await;
        let body = r#"{"status":"shipped"}"#;
        let err = handle(
            &store,
            put(&id.to_string(), body),
            caller(UserId::new(), false),
        )
        .await
        .expect_err("403");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        let err = handle(
            &store,
            put(&id.to_string(), body),
            HttpContext::new("r", None),
        )
        .await
        .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);

        for bad in [
            r#"{"status":"cancelled"}"#,
            r#"{"status":"confirmed"}"#,
            r#"{"status":"SHIPPED"}"#,
            r#"{"status":1}"#,
            r#"{"status":null}"#,
            r#"{}"#,
            r#"["shipped"]"#,
        ] {
            let err = handle(
                &store,
                put(&id.to_string(), bad),
                caller(UserId::new(), true),
            )
            .await
            .expect_err(bad);
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
        for path in [OrderId::new().to_string(), "nope".to_owned()] {
            let err = handle(&store, put(&path, body), caller(UserId::new(), true))
                .await
                .expect_err("404");
            assert_eq!(err.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let order = store.order(id).await.expect("read").expect("order");
        assert_eq!(order.status, OrderStatus::Confirmed, "untouched");
    }
}
