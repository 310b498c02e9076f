use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{InventoryReleased, OrderPlaced};
use contracts::{CorrelationId, DomainEvent};
use inventory::memory::InMemoryInventoryStore;
use inventory::reservations::{ReserveOutcome, reserve};
use inventory::testing::{cancelled, counts, line, placed, sqs, store_with, t0};
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

fn consumer(
    store: &InMemoryInventoryStore,
) -> Consumer<ReleaseOrder<InMemoryInventoryStore>, InMemoryIdempotencyStore> {
    Consumer::new(
        ReleaseOrder::new(store.clone()),
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency: 4,
        },
    )
}

fn deadline() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(30)
}

fn envelope(order: &OrderPlaced) -> EventEnvelope<OrderCancelled> {
    EventEnvelope::new(
        cancelled(order),
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    )
}

fn body(order: &OrderPlaced) -> String {
    serde_json::to_string(&envelope(order)).expect("json")
}

async fn reserved(store: &InMemoryInventoryStore, order: &OrderPlaced) {
    let outcome = reserve(store, order, CorrelationId::new(), t0())
        .await
        .expect("reserved");
    assert!(matches!(outcome, ReserveOutcome::Reserved { .. }));
}

#[tokio::test]
async fn a_cancelled_order_returns_its_stock_and_says_so() {
    let store = store_with(&[("MUG", 5, 0), ("TEA", 3, 0)]);
    let order = placed(vec![line("MUG", 2), line("TEA", 3)]);
    reserved(&store, &order).await;
    let event = envelope(&order);
    let correlation = event.correlation_id.clone();

    ReleaseOrder::new(store.clone())
        .handle(event)
        .await
        .expect("released");
    assert_eq!(counts(&store, "MUG").await, (5, 0, 0));
    assert_eq!(counts(&store, "TEA").await, (3, 0, 0));
    let released = store.events_of(InventoryReleased::TYPE);
    assert_eq!(released.len(), 1);
    let released = released[0]
        .clone()
        .decode::<InventoryReleased>()
        .expect("typed");
    assert_eq!(released.correlation_id, correlation);
    assert_eq!(released.data.lines, order.lines);
}

#[tokio::test]
async fn duplicate_and_republished_cancellations_release_once() {
    let store = store_with(&[("MUG", 5, 0)]);
    let order = placed(vec![line("MUG", 2)]);
    reserved(&store, &order).await;
    let consumer = consumer(&store);
    let first = body(&order);
    let out = consumer
        .process_batch(
            sqs(&[("m1", first.clone()), ("m2", "{}".into())]),
            deadline(),
            "req",
        )
        .await;
    assert_eq!(out.failed_ids(), vec!["m2"]);
    let out = consumer
        .process_batch(
            sqs(&[("m1", first), ("m3", body(&order))]),
            deadline(),
            "req",
        )
        .await;
    assert!(out.batch_item_failures.is_empty(), "{:?}", out.failed_ids());
    assert_eq!(
        counts(&store, "MUG").await,
        (5, 0, 0),
        "released once, not twice"
    );
    assert_eq!(store.events_of(InventoryReleased::TYPE).len(), 1);
}

#[tokio::test]
async fn cancelling_what_was_never_reserved_is_a_harmless_success() {
    let store = store_with(&[("MUG", 1, 0)]);
    let failed = placed(vec![line("MUG", 2)]);
    let outcome = reserve(&store, &failed, CorrelationId::new(), t0())
        .await
        .expect("handled");
    assert!(matches!(outcome, ReserveOutcome::Failed { .. }));
    let never_placed = placed(vec![line("MUG", 1)]);

    let out = consumer(&store)
        .process_batch(
            sqs(&[("m1", body(&failed)), ("m2", body(&never_placed))]),
            deadline(),
            "req",
        )
        .await;
    assert!(out.batch_item_failures.is_empty(), "{:?}", out.failed_ids());
    assert_eq!(counts(&store, "MUG").await, (1, 0, 0));
    assert!(store.events_of(InventoryReleased::TYPE).is_empty());

    // The cancelled order's late placement reserves nothing.
    let late = reserve(&store, &never_placed, CorrelationId::new(), t0())
        .await
        .expect("handled");
    assert_eq!(late, ReserveOutcome::AlreadyHandled);
    assert_eq!(counts(&store, "MUG").await, (1, 0, 0));
}
