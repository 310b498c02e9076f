use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{CancelReason, OrderDelivered, OrderLine};
use contracts::{CorrelationId, Currency, Email, OrderId, PersonName, ProductId};
use notifications::{
    Contact, DeliveryStatus, InMemoryBodyArchive, InMemoryContactStore, InMemoryDeliveryLog,
    InMemoryEmailProvider, InMemoryPreferenceStore,
};
use platform::idempotency::InMemoryIdempotencyStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;

type Handler = OrderStatusEmail<
    InMemoryEmailProvider,
    InMemoryContactStore,
    InMemoryDeliveryLog,
    InMemoryBodyArchive,
    InMemoryPreferenceStore,
>;

struct World {
    provider: InMemoryEmailProvider,
    log: InMemoryDeliveryLog,
    handler: Handler,
}

fn world(user: UserId, preferences: InMemoryPreferenceStore) -> World {
    let provider = InMemoryEmailProvider::new();
    let log = InMemoryDeliveryLog::new();
    World {
        handler: OrderStatusEmail::new(
            provider.clone(),
            InMemoryContactStore::with(Contact {
                user_id: user,
                email: Email::parse("ada@example.com").expect("email"),
                name: PersonName::parse("Ada").expect("name"),
                as_of: datetime!(2026-11-20 09:00 UTC),
            }),
            Deliveries::new(log.clone(), InMemoryBodyArchive::new(), preferences),
        ),
        provider,
        log,
    }
}

fn lines() -> Vec<OrderLine> {
    vec![OrderLine {
        product_id: ProductId::new(),
        sku: "MUG".into(),
        name: "Mug".into(),
        unit_price: 1_250,
        quantity: 2,
    }]
}

fn confirmed(order_id: OrderId, user_id: UserId) -> EventEnvelope<OrderConfirmed> {
    EventEnvelope::new(
        OrderConfirmed {
            order_id,
            user_id,
            payment_id: "pay_1".into(),
            lines: lines(),
            amount: 2_500,
            currency: Currency::USD,
            confirmed_at: datetime!(2026-11-21 10:05 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 10:05 UTC),
    )
}

fn cancelled(order_id: OrderId, user_id: UserId) -> EventEnvelope<OrderCancelled> {
    EventEnvelope::new(
        OrderCancelled {
            order_id,
            user_id,
            reason: CancelReason::CustomerRequest,
            lines: lines(),
            cancelled_at: datetime!(2026-11-21 11:00 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 11:00 UTC),
    )
}

fn shipped(order_id: OrderId, user_id: UserId) -> EventEnvelope<OrderShipped> {
    EventEnvelope::new(
        OrderShipped {
            order_id,
            user_id,
            shipped_at: datetime!(2026-11-22 08:00 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-22 08:00 UTC),
    )
}

#[tokio::test]
async fn each_status_sends_its_own_email() {
    let (order, user) = (OrderId::new(), UserId::new());
    let w = world(user, InMemoryPreferenceStore::new());

    w.handler
        .handle(OrderStatusEvent::Confirmed(confirmed(order, user)))
        .await
        .expect("confirmed");
    w.handler
        .handle(OrderStatusEvent::Shipped(shipped(order, user)))
        .await
        .expect("shipped");
    w.handler
        .handle(OrderStatusEvent::Cancelled(cancelled(order, user)))
        .await
        .expect("cancelled");

    let sent = w.provider.sent();
    let subjects: Vec<&str> = sent.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        vec![
            format!("Order confirmed: {order}"),
            format!("Order shipped: {order}"),
            format!("Order cancelled: {order}"),
        ]
    );
    assert!(sent.iter().all(|m| m.to.as_str() == "ada@example.com"));
    assert!(
        sent[0].text.contains("Total: 25.00 USD"),
        "{}",
        sent[0].text
    );
    assert!(
        sent[2].text.contains("you asked us to cancel it"),
        "{}",
        sent[2].text
    );
    let templates: Vec<String> = w.log.entries().into_iter().map(|e| e.template).collect();
    assert_eq!(templates.len(), 3);
    for t in ["order_confirmed", "order_shipped", "order_cancelled"] {
        assert!(templates.iter().any(|x| x == t), "{t} not logged");
    }
    assert_eq!(w.log.reports().len(), 3);
}

#[tokio::test]
async fn an_email_opt_out_skips_every_status_email() {
    let (order, user) = (OrderId::new(), UserId::new());
    let w = world(
        user,
        InMemoryPreferenceStore::opted_out(user, Channel::Email),
    );
    w.handler
        .handle(OrderStatusEvent::Confirmed(confirmed(order, user)))
        .await
        .expect("handled");
    assert!(w.provider.sent().is_empty());
    assert_eq!(w.log.entries()[0].status, DeliveryStatus::Skipped);
}

#[tokio::test]
async fn a_missing_contact_is_retryable() {
    let (order, user) = (OrderId::new(), UserId::new());
    let w = world(UserId::new(), InMemoryPreferenceStore::new());
    let result = w
        .handler
        .handle(OrderStatusEvent::Shipped(shipped(order, user)))
        .await;
    assert!(
        matches!(result, Err(HandlerError::Retryable(_))),
        "{result:?}"
    );
    assert!(w.provider.sent().is_empty());
}

#[test]
fn only_the_three_status_events_are_accepted() {
    let (order, user) = (OrderId::new(), UserId::new());
    let raw = |e: RawEnvelope| OrderStatusEvent::from_envelope(e);
    assert!(matches!(
        raw(shipped(order, user).into_raw().expect("raw")),
        Ok(OrderStatusEvent::Shipped(_))
    ));
    assert!(matches!(
        raw(cancelled(order, user).into_raw().expect("raw")),
        Ok(OrderStatusEvent::Cancelled(_))
    ));
    let delivered = EventEnvelope::new(
        OrderDelivered {
            order_id: order,
            user_id: user,
            delivered_at: datetime!(2026-11-23 08:00 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-23 08:00 UTC),
    );
    assert!(raw(delivered.into_raw().expect("raw")).is_err());
}

#[tokio::test]
async fn duplicates_email_once_and_garbage_fails_alone() {
    let (order, user) = (OrderId::new(), UserId::new());
    let w = world(user, InMemoryPreferenceStore::new());
    let consumer = Consumer::new(
        w.handler,
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency: 1,
        },
    );
    let body = serde_json::to_string(&confirmed(order, user)).expect("json");
    let message = |id: &str, body: &str| {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.to_owned());
        m
    };
    let mut batch = SqsEvent::default();
    batch.records = vec![
        message("m1", &body),
        message("m2", "garbage"),
        message("m3", &body),
    ];
    let out = consumer
        .process_batch(
            batch,
            OffsetDateTime::now_utc() + Duration::seconds(30),
            "r",
        )
        .await;
    assert_eq!(out.failed_ids(), vec!["m2"]);
    assert_eq!(w.provider.sent().len(), 1);
    assert_eq!(w.log.entries().len(), 1);
}
