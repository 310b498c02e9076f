use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{InventoryLowStock, InventoryReservationFailed, InventoryReserved};
use contracts::{CorrelationId, DomainEvent};
use inventory::memory::InMemoryInventoryStore;
use inventory::testing::{counts, line, placed, sqs, store_with};
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

fn consumer(
    store: &InMemoryInventoryStore,
    concurrency: usize,
) -> Consumer<ReserveOrder<InMemoryInventoryStore>, InMemoryIdempotencyStore> {
    Consumer::new(
        ReserveOrder::new(store.clone()),
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency,
        },
    )
}

fn deadline() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(30)
}

fn envelope(order: &OrderPlaced) -> String {
    serde_json::to_string(&EventEnvelope::new(
        order.clone(),
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    ))
    .expect("json")
}

fn count<T: DomainEvent>(store: &InMemoryInventoryStore) -> usize {
    store.events_of(T::TYPE).len()
}

#[tokio::test]
async fn a_placed_order_is_reserved_and_answered() {
    let store = store_with(&[("MUG", 5, 1)]);
    let order = placed(vec![line("MUG", 2)]);
    let event = EventEnvelope::new(
        order.clone(),
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    );
    let correlation = event.correlation_id.clone();
    ReserveOrder::new(store.clone())
        .handle(event)
        .await
        .expect("handled");
    assert_eq!(counts(&store, "MUG").await, (3, 2, 0));
    let reserved = store.events_of(InventoryReserved::TYPE);
    assert_eq!(reserved.len(), 1);
    let reserved = reserved[0]
        .clone()
        .decode::<InventoryReserved>()
        .expect("typed");
    assert_eq!(reserved.correlation_id, correlation);
    assert_eq!(reserved.data.payment, order.payment);
}

#[tokio::test]
async fn duplicates_and_republished_orders_reserve_once() {
    let store = store_with(&[("MUG", 5, 1)]);
    let consumer = consumer(&store, 4);
    let order = placed(vec![line("MUG", 2)]);
    let body = envelope(&order);
    let out = consumer
        .process_batch(
            sqs(&[("m1", body.clone()), ("m2", "garbage".into())]),
            deadline(),
            "req",
        )
        .await;
    assert_eq!(out.failed_ids(), vec!["m2"]);
    // The same message again, and the same order under a new event id.
    let out = consumer
        .process_batch(
            sqs(&[("m1", body), ("m3", envelope(&order))]),
            deadline(),
            "req",
        )
        .await;
    assert!(out.batch_item_failures.is_empty(), "{:?}", out.failed_ids());
    assert_eq!(counts(&store, "MUG").await, (3, 2, 0));
    assert_eq!(store.outbox().len(), 1);
}

#[tokio::test]
async fn short_stock_is_an_answer_not_a_failure() {
    let store = store_with(&[("MUG", 1, 0)]);
    let out = consumer(&store, 1)
        .process_batch(
            sqs(&[("m1", envelope(&placed(vec![line("MUG", 2)])))]),
            deadline(),
            "req",
        )
        .await;
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(count::<InventoryReservationFailed>(&store), 1);
    assert_eq!(counts(&store, "MUG").await, (1, 0, 0));
}

#[tokio::test]
async fn an_order_that_cannot_be_reserved_as_sent_fails_for_good() {
    let store = store_with(&[("MUG", 9, 0)]);
    let err = ReserveOrder::new(store.clone())
        .handle(EventEnvelope::new(
            placed(vec![line("MUG", 1), line("not a sku", 1)]),
            CorrelationId::new(),
            OffsetDateTime::now_utc(),
        ))
        .await
        .expect_err("bad order");
    assert!(matches!(err, HandlerError::Permanent(_)));
    assert_eq!(counts(&store, "MUG").await, (9, 0, 0));
    assert!(store.outbox().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_checkouts_of_the_last_ten_units_through_the_consumer() {
    let store = store_with(&[("LAST", 10, 3)]);
    let consumer = consumer(&store, 10);
    let bodies: Vec<(String, String)> = (0..30)
        .map(|i| (format!("m{i}"), envelope(&placed(vec![line("LAST", 1)]))))
        .collect();
    let records: Vec<(&str, String)> = bodies
        .iter()
        .map(|(id, body)| (id.as_str(), body.clone()))
        .collect();
    let out = consumer
        .process_batch(sqs(&records), deadline(), "req")
        .await;
    assert!(out.batch_item_failures.is_empty(), "{:?}", out.failed_ids());
    assert_eq!(counts(&store, "LAST").await, (0, 10, 0));
    assert_eq!(count::<InventoryReserved>(&store), 10);
    assert_eq!(count::<InventoryReservationFailed>(&store), 20);
    assert_eq!(count::<InventoryLowStock>(&store), 1);
}
