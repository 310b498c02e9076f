use contracts::OrderId;
use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json, path_param};
use orders::service::cancel_by_customer;
use orders::store::OrdersStore;

/// The owner cancels an order that has not shipped: 200 with the cancelled
/// order; `order.cancelled` makes inventory release the stock and payments
/// refund any charge. Shipped, delivered or already cancelled: 409.
/// Someone else's order: 404.
pub async fn handle<S: OrdersStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let id: OrderId = path_param(&req, "id")?;
    let order = cancel_by_customer(
        store,
        caller.user_id,
        id,
        ctx.correlation_id.clone(),
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    json(StatusCode::OK, &order)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use contracts::events::{CancelReason, OrderCancelled};
    use contracts::{CorrelationId, DomainEvent, UserId};
    use lambda_http::RequestExt;
    use orders::memory::InMemoryOrdersStore;
    use orders::model::OrderStatus;
    use orders::service::{FulfilmentStatus, set_fulfilment_status};
    use orders::store::OrdersStore;
    use orders::testing::{caller, place_order};
    use time::OffsetDateTime;

    use super::*;

    fn post(id: &str) -> Request {
        Request::default().with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]))
    }

    fn cancellations(store: &InMemoryOrdersStore) -> Vec<OrderCancelled> {
        store
            .outbox()
            .into_iter()
            .filter(|e| e.event_type == OrderCancelled::TYPE)
            .map(|e| e.decode::<OrderCancelled>().expect("decodes").data)
            .collect()
    }

    #[tokio::test]
    async fn the_owner_cancels_and_the_cancellation_is_announced() {
        let store = InMemoryOrdersStore::new();
        let user = UserId::new();
        let id = place_order(&store, user, 1).await;

        let response = handle(&store, post(&id.to_string()), caller(user, false))
            .await
            .expect("200");
        assert_eq!(response.status(), StatusCode::OK);
        let order: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("json");
        assert_eq!(order["status"], "cancelled");
        assert_eq!(order["cancel_reason"], "customer_request");
        assert_eq!(order["history"][1]["status"], "cancelled");
        assert_eq!(order["history"][1]["reason"], "customer_request");
        let events = cancellations(&store);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, CancelReason::CustomerRequest);

        // Twice is a conflict, and announces nothing more.
        let err = handle(&store, post(&id.to_string()), caller(user, false))
            .await
            .expect_err("409");
        assert_eq!(err.status(), StatusCode::CONFLICT);
        assert_eq!(cancellations(&store).len(), 1);
    }

    #[tokio::test]
    async fn a_shipped_order_cannot_be_cancelled() {
        let store = InMemoryOrdersStore::new();
        let user = UserId::new();
        let id = place_order(&store, user, 1).await;
        let mut order = store.order(id).await.expect("read").expect("order");
        for status in [OrderStatus::Paid, OrderStatus::Confirmed] {
            order = order
                .transition(status, None, OffsetDateTime::now_utc())
                .expect("legal");
        }
        store.force_order(order);
        set_fulfilment_status(
            &store,
            id,
            FulfilmentStatus::Shipped,
            CorrelationId::new(),
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("shipped");

        let err = handle(&store, post(&id.to_string()), caller(user, false))
            .await
            .expect_err("409");
        assert_eq!(err.status(), StatusCode::CONFLICT);
        let problem: serde_json::Value =
            serde_json::from_slice(err.into_response("r").body().as_ref()).expect("json");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("shipped")),
            "{problem}"
        );
        assert!(cancellations(&store).is_empty());
    }

    #[tokio::test]
    async fn someone_elses_order_is_404_and_untouched() {
        let store = InMemoryOrdersStore::new();
        let id = place_order(&store, UserId::new(), 1).await;
        for ctx in [caller(UserId::new(), false), caller(UserId::new(), true)] {
            let err = handle(&store, post(&id.to_string()), ctx)
                .await
                .expect_err("404");
            assert_eq!(err.status(), StatusCode::NOT_FOUND);
        }
        let err = handle(&store, post("nope"), caller(UserId::new(), false))
            .await
            .expect_err("404");
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
        let order = store.order(id).await.expect("read").expect("order");
        assert_eq!(order.status, OrderStatus::Pending);
        assert!(cancellations(&store).is_empty());
    }
}
