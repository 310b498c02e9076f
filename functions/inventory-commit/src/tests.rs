use consumer_kit::{Consumer, ConsumerSettings};
use contracts::CorrelationId;
use contracts::events::OrderPlaced;
use inventory::memory::InMemoryInventoryStore;
use inventory::reservations::reserve;
use inventory::testing::{confirmed, counts, line, placed, sqs, store_with, t0};
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

fn consumer(
    store: &InMemoryInventoryStore,
) -> Consumer<CommitOrder<InMemoryInventoryStore>, InMemoryIdempotencyStore> {
    Consumer::new(
        CommitOrder::new(store.clone()),
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

fn body(order: &OrderPlaced) -> String {
    serde_json::to_string(&EventEnvelope::new(
        confirmed(order),
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    ))
    .expect("json")
}

#[tokio::test]
async fn a_confirmed_order_sells_its_units_once() {
    let store = store_with(&[("MUG", 5, 0)]);
    let order = placed(vec![line("MUG", 2), line("MUG", 1)]);
    reserve(&store, &order, CorrelationId::new(), t0())
        .await
        .expect("reserved");
    let consumer = consumer(&store);
    let first = body(&order);
    let out = consumer
        .process_batch(
            sqs(&[("m1", first.clone()), ("m2", "[]".into())]),
            deadline(),
            "req",
        )
        .await;
    assert_eq!(out.failed_ids(), vec!["m2"]);
    assert_eq!(counts(&store, "MUG").await, (2, 0, 3));

    let out = consumer
        .process_batch(
            sqs(&[("m1", first), ("m3", body(&order))]),
            deadline(),
            "req",
        )
        .await;
    assert!(out.batch_item_failures.is_empty(), "{:?}", out.failed_ids());
    assert_eq!(counts(&store, "MUG").await, (2, 0, 3), "sold once");
    assert_eq!(
        store.outbox().len(),
        1,
        "only the reservation was announced"
    );
}

#[tokio::test]
async fn confirming_an_order_inventory_never_saw_goes_to_the_dlq() {
    let store = store_with(&[("MUG", 5, 0)]);
    let stranger = placed(vec![line("MUG", 1)]);
    let err = CommitOrder::new(store.clone())
        .handle(EventEnvelope::new(
            confirmed(&stranger),
            CorrelationId::new(),
            OffsetDateTime::now_utc(),
        ))
        .await
        .expect_err("unknown order");
    assert!(matches!(err, HandlerError::Permanent(_)));
    let out = consumer(&store)
        .process_batch(sqs(&[("m1", body(&stranger))]), deadline(), "req")
        .await;
    assert_eq!(out.failed_ids(), vec!["m1"]);
    assert_eq!(counts(&store, "MUG").await, (5, 0, 0));
}
