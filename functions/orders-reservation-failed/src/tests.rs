use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{CancelReason, OrderCancelled, ShortLine};
use contracts::{CorrelationId, DomainEvent, UserId};
use orders::memory::InMemoryOrdersStore;
use orders::model::{Order, OrderStatus};
use orders::service::cancel_by_customer;
use orders::testing::place_order;
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

async fn pending(store: &InMemoryOrdersStore) -> Order {
    let id = place_order(store, UserId::new(), 5).await;
    store.order(id).await.expect("read").expect("order")
}

fn failed(order: &Order) -> EventEnvelope<InventoryReservationFailed> {
    EventEnvelope::new(
        InventoryReservationFailed {
            order_id: order.id,
            user_id: order.user_id,
            short_lines: vec![ShortLine {
                product_id: order.lines[0].product_id,
                sku: order.lines[0].sku.clone(),
                requested: 5,
                available: 2,
            }],
            failed_at: OffsetDateTime::now_utc(),
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    )
}

fn cancellations(store: &InMemoryOrdersStore) -> Vec<EventEnvelope<OrderCancelled>> {
    store
        .outbox()
        .into_iter()
        .filter(|e| e.event_type == OrderCancelled::TYPE)
        .map(|e| e.decode().expect("decodes"))
        .collect()
}

fn sqs(messages: &[(&str, String)]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|(id, body)| {
            let mut m = SqsMessage::default();
            m.message_id = Some((*id).to_owned());
            m.body = Some(body.clone());
            m
        })
        .collect();
    event
}

#[tokio::test]
async fn a_failed_reservation_cancels_the_order_for_out_of_stock() {
    let store = InMemoryOrdersStore::new();
    let order = pending(&store).await;
    let event = failed(&order);

    CancelOutOfStock::new(store.clone())
        .handle(event.clone())
        .await
        .expect("handled");

    let after = store.order(order.id).await.expect("read").expect("order");
    assert_eq!(after.status, OrderStatus::Cancelled);
    assert_eq!(after.cancel_reason(), Some(CancelReason::OutOfStock));
    let events = cancellations(&store);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data.reason, CancelReason::OutOfStock);
    assert_eq!(events[0].data.order_id, order.id);
    assert_eq!(events[0].correlation_id, event.correlation_id);
}

#[tokio::test]
async fn duplicates_cancel_once() {
    let store = InMemoryOrdersStore::new();
    let order = pending(&store).await;
    let consumer = Consumer::new(
        CancelOutOfStock::new(store.clone()),
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency: 1,
        },
    );
    let body = serde_json::to_string(&failed(&order)).expect("json");
    // A copy under another event id (a re-publication) as well.
    let copy = serde_json::to_string(&failed(&order)).expect("json");
    let out = consumer
        .process_batch(
            sqs(&[("m1", body.clone()), ("m2", body), ("m3", copy)]),
            OffsetDateTime::now_utc() + Duration::seconds(30),
            "req",
        )
        .await;
    assert!(out.failed_ids().is_empty(), "{:?}", out.failed_ids());
    assert_eq!(cancellations(&store).len(), 1);
    let after = store.order(order.id).await.expect("read").expect("order");
    assert_eq!(after.history.len(), 2);
}

#[tokio::test]
async fn an_order_already_cancelled_by_its_owner_stays_as_it_is() {
    let store = InMemoryOrdersStore::new();
    let order = pending(&store).await;
    cancel_by_customer(
        &store,
        order.user_id,
        order.id,
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("cancelled");
    let before = store.order(order.id).await.expect("read").expect("order");

    CancelOutOfStock::new(store.clone())
        .handle(failed(&order))
        .await
        .expect("acknowledged");

    assert_eq!(
        store.order(order.id).await.expect("read").expect("order"),
        before
    );
    assert_eq!(cancellations(&store).len(), 1, "only the customer's");
}

#[tokio::test]
async fn an_event_naming_another_user_is_permanent() {
    let store = InMemoryOrdersStore::new();
    let mut order = pending(&store).await;
    order.user_id = UserId::new();
    let err = CancelOutOfStock::new(store.clone())
        .handle(failed(&order))
        .await
        .expect_err("wrong user");
    assert!(matches!(err, HandlerError::Permanent(_)), "{err:?}");
    assert!(cancellations(&store).is_empty());
}
