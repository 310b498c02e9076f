use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{OrderConfirmed, PaymentKind};
use contracts::{CorrelationId, DomainEvent, UserId};
use orders::memory::InMemoryOrdersStore;
use orders::model::{Order, OrderStatus};
use orders::service::cancel_by_customer;
use orders::testing::place_order;
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

async fn pending(store: &InMemoryOrdersStore) -> Order {
    let id = place_order(store, UserId::new(), 3).await;
    store.order(id).await.expect("read").expect("order")
}

fn succeeded(order: &Order) -> EventEnvelope<PaymentSucceeded> {
    EventEnvelope::new(
        PaymentSucceeded {
            payment_id: "pay_42".into(),
            order_id: order.id,
            user_id: order.user_id,
            amount: order.total,
            currency: order.currency,
            method: PaymentKind::Card,
            provider_reference: "pi_42".into(),
            succeeded_at: OffsetDateTime::now_utc(),
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    )
}

fn confirmations(store: &InMemoryOrdersStore) -> Vec<EventEnvelope<OrderConfirmed>> {
    store
        .outbox()
        .into_iter()
        .filter(|e| e.event_type == OrderConfirmed::TYPE)
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
async fn a_payment_confirms_the_order_and_announces_it() {
    let store = InMemoryOrdersStore::new();
    let order = pending(&store).await;
    let event = succeeded(&order);

    ConfirmPaid::new(store.clone())
        .handle(event.clone())
        .await
        .expect("handled");

    let after = store.order(order.id).await.expect("read").expect("order");
    assert_eq!(after.status, OrderStatus::Confirmed);
    assert_eq!(after.payment_id.as_deref(), Some("pay_42"));
    let history: Vec<_> = after.history.iter().map(|c| c.status).collect();
    assert_eq!(
        history,
        vec![
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::Confirmed
        ]
    );
    let events = confirmations(&store);
    assert_eq!(events.len(), 1);
    let confirmed = &events[0];
    assert_eq!(confirmed.correlation_id, event.correlation_id);
    assert_eq!(confirmed.data.order_id, order.id);
    assert_eq!(confirmed.data.payment_id, "pay_42");
    assert_eq!(confirmed.data.amount, order.total);
    assert_eq!(confirmed.data.lines, order.lines);
}

#[tokio::test]
async fn duplicate_deliveries_confirm_once() {
    let store = InMemoryOrdersStore::new();
    let order = pending(&store).await;
    let consumer = Consumer::new(
        ConfirmPaid::new(store.clone()),
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency: 4,
        },
    );
    let body = serde_json::to_string(&succeeded(&order)).expect("json");
    let copy = serde_json::to_string(&succeeded(&order)).expect("json");
    let deadline = OffsetDateTime::now_utc() + Duration::seconds(30);
    let first = consumer
        .process_batch(
            sqs(&[("m1", body.clone()), ("m2", body.clone()), ("m3", copy)]),
            deadline,
            "req",
        )
        .await;
    // Anything handed back (a twin still in progress) is retried later.
    let retry: Vec<(&str, String)> = first
        .failed_ids()
        .into_iter()
        .map(|id| (id, body.clone()))
        .collect();
    let second = consumer.process_batch(sqs(&retry), deadline, "req").await;
    assert!(second.failed_ids().is_empty());

    assert_eq!(confirmations(&store).len(), 1);
}

#[tokio::test]
async fn a_cancelled_order_stays_cancelled_and_nothing_is_confirmed() {
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
    let cancelled = store.order(order.id).await.expect("read").expect("order");

    ConfirmPaid::new(store.clone())
        .handle(succeeded(&order))
        .await
        .expect("acknowledged: payments refunds it on order.cancelled");

    assert_eq!(
        store.order(order.id).await.expect("read").expect("order"),
        cancelled
    );
    assert!(confirmations(&store).is_empty());
}

#[tokio::test]
async fn an_unknown_order_is_permanent() {
    let store = InMemoryOrdersStore::new();
    let mut order = pending(&store).await;
    order.id = contracts::OrderId::new();
    let err = ConfirmPaid::new(store.clone())
        .handle(succeeded(&order))
        .await
        .expect_err("unknown");
    assert!(matches!(err, HandlerError::Permanent(_)), "{err:?}");
}
