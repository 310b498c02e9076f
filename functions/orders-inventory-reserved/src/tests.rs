use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{OrderPayment, PaymentKind, PaymentSucceeded};
use contracts::{CorrelationId, UserId};
use orders::memory::InMemoryOrdersStore;
use orders::model::{Order, OrderStatus};
use orders::service::on_payment_succeeded;
use orders::testing::place_order;
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

async fn pending(store: &InMemoryOrdersStore) -> Order {
    let id = place_order(store, UserId::new(), 2).await;
    store.order(id).await.expect("read").expect("order")
}

fn reserved(order: &Order) -> EventEnvelope<InventoryReserved> {
    EventEnvelope::new(
        InventoryReserved {
            order_id: order.id,
            user_id: order.user_id,
            lines: order.lines.clone(),
            payment: OrderPayment {
                amount: order.total,
                currency: order.currency,
                method: order.payment.clone(),
            },
            reserved_at: OffsetDateTime::now_utc(),
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    )
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

fn consumer(
    store: &InMemoryOrdersStore,
) -> Consumer<MarkReserved<InMemoryOrdersStore>, InMemoryIdempotencyStore> {
    Consumer::new(
        MarkReserved::new(store.clone()),
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

#[tokio::test]
async fn a_pending_order_becomes_reserved() {
    let store = InMemoryOrdersStore::new();
    let order = pending(&store).await;

    MarkReserved::new(store.clone())
        .handle(reserved(&order))
        .await
        .expect("handled");

    let after = store.order(order.id).await.expect("read").expect("order");
    assert_eq!(after.status, OrderStatus::Reserved);
    let history: Vec<_> = after.history.iter().map(|c| c.status).collect();
    assert_eq!(history, vec![OrderStatus::Pending, OrderStatus::Reserved]);
    assert_eq!(
        store.outbox().len(),
        1,
        "only order.placed: reserving announces nothing"
    );
}

#[tokio::test]
async fn duplicates_have_one_effect_and_garbage_fails_alone() {
    let store = InMemoryOrdersStore::new();
    let order = pending(&store).await;
    let body = serde_json::to_string(&reserved(&order)).expect("json");
    let consumer = consumer(&store);

    let out = consumer
        .process_batch(
            sqs(&[
                ("m1", body.clone()),
                ("m2", "not json".into()),
                ("m3", body.clone()),
            ]),
            deadline(),
            "req",
        )
        .await;
    let failed = out.failed_ids();
    assert!(failed.contains(&"m2"), "{failed:?}");
    assert!(
        !failed.contains(&"m1") || !failed.contains(&"m3"),
        "{failed:?}"
    );
    // Redelivered later: skipped.
    let again = consumer
        .process_batch(sqs(&[("m4", body)]), deadline(), "req")
        .await;
    assert!(again.failed_ids().is_empty());

    let after = store.order(order.id).await.expect("read").expect("order");
    assert_eq!(after.history.len(), 2, "reserved once");
}

#[tokio::test]
async fn a_reservation_reported_after_the_payment_changes_nothing() {
    let store = InMemoryOrdersStore::new();
    let order = pending(&store).await;
    let paid = EventEnvelope::new(
        PaymentSucceeded {
            payment_id: "pay_1".into(),
            order_id: order.id,
            user_id: order.user_id,
            amount: order.total,
            currency: order.currency,
            method: PaymentKind::Wallet,
            provider_reference: "txn_1".into(),
            succeeded_at: OffsetDateTime::now_utc(),
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    );
    on_payment_succeeded(&store, &paid, OffsetDateTime::now_utc())
        .await
        .expect("confirmed");
    let confirmed = store.order(order.id).await.expect("read").expect("order");

    MarkReserved::new(store.clone())
        .handle(reserved(&order))
        .await
        .expect("acknowledged");

    assert_eq!(
        store.order(order.id).await.expect("read").expect("order"),
        confirmed
    );
}

#[tokio::test]
async fn an_event_for_an_unknown_order_is_permanent() {
    let store = InMemoryOrdersStore::new();
    let mut order = pending(&store).await;
    order.id = contracts::OrderId::new();
    let err = MarkReserved::new(store.clone())
        .handle(reserved(&order))
        .await
        .expect_err("unknown order");
    assert!(matches!(err, HandlerError::Permanent(_)), "{err:?}");

    let body = serde_json::to_string(&reserved(&order)).expect("json");
    let out = consumer(&store)
        .process_batch(sqs(&[("m1", body)]), deadline(), "req")
        .await;
    assert_eq!(out.failed_ids(), vec!["m1"], "left for the DLQ");
}
