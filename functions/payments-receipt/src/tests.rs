use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{InvoiceGenerated, OrderLine, PaymentKind};
use contracts::{CorrelationId, Currency, OrderId, ProductId, UserId};
use documents::InMemoryDocuments;
use invoices::InvoiceId;
use invoices::memory::InMemoryInvoiceStore;
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;
use time::macros::datetime;

use super::*;

type Handler = IssueReceipt<InMemoryInvoiceStore, InMemoryDocuments, PdfReceipts>;

struct World {
    store: InMemoryInvoiceStore,
    docs: InMemoryDocuments,
    handler: Handler,
}

fn world() -> World {
    let store = InMemoryInvoiceStore::new();
    let docs = InMemoryDocuments::new();
    World {
        handler: IssueReceipt::new(
            store.clone(),
            docs.clone(),
            PdfReceipts::new("Test Shop".into()),
        ),
        store,
        docs,
    }
}

fn paid(order_id: OrderId, user_id: UserId) -> EventEnvelope<PaymentSucceeded> {
    EventEnvelope::new(
        PaymentSucceeded {
            payment_id: "pay_7".into(),
            order_id,
            user_id,
            amount: 3_000,
            currency: Currency::USD,
            method: PaymentKind::Wallet,
            provider_reference: "txn_abc".into(),
            succeeded_at: datetime!(2026-11-21 10:05 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 10:05 UTC),
    )
}

fn confirmed(order_id: OrderId, user_id: UserId) -> EventEnvelope<OrderConfirmed> {
    EventEnvelope::new(
        OrderConfirmed {
            order_id,
            user_id,
            payment_id: "pay_7".into(),
            lines: vec![OrderLine {
                product_id: ProductId::new(),
                sku: "TSHIRT-M".into(),
                name: "T-shirt (M)".into(),
                unit_price: 1_500,
                quantity: 2,
            }],
            amount: 3_000,
            currency: Currency::USD,
            confirmed_at: datetime!(2026-11-21 10:05:02 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 10:05:02 UTC),
    )
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn payment_and_confirmation_give_one_pdf_receipt_and_one_event() {
    let w = world();
    let (order_id, user) = (OrderId::new(), UserId::new());

    w.handler
        .handle(ReceiptEvent::Payment(paid(order_id, user)))
        .await
        .expect("payment recorded");
    assert!(w.docs.keys().is_empty(), "nothing before the order's lines");
    let confirmation = confirmed(order_id, user);
    let correlation = confirmation.correlation_id.clone();
    w.handler
        .handle(ReceiptEvent::Order(confirmation))
        .await
        .expect("receipt issued");

    let id = InvoiceId::for_payment("pay_7");
    let key = format!("invoices/{user}/{id}.pdf");
    assert_eq!(w.docs.keys(), vec![key.clone()]);
    let doc = w.docs.get(&key).expect("stored");
    assert_eq!(doc.content_type, "application/pdf");
    assert!(doc.body.starts_with(b"%PDF-"));
    for text in [
        order_id.to_string(),
        id.to_string(),
        "Test Shop".into(),
        "T-shirt (M)".into(),
        "TSHIRT-M".into(),
        "30.00 USD".into(),
        "Wallet".into(),
        "txn_abc".into(),
    ] {
        assert!(contains(&doc.body, &text), "{text} not in the PDF");
    }

    let outbox = w.store.outbox();
    assert_eq!(outbox.len(), 1);
    let event = outbox[0]
        .clone()
        .decode::<InvoiceGenerated>()
        .expect("invoice.generated");
    assert_eq!(event.correlation_id, correlation);
    assert_eq!(event.data.document_key, key);
    assert_eq!(event.data.amount, 3_000);
}

fn sqs(id: &str, body: String) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(body);
    m
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

#[tokio::test]
async fn duplicates_and_republished_events_issue_one_receipt_and_garbage_fails_alone() {
    let w = world();
    let consumer = Consumer::new(
        w.handler,
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency: 1,
        },
    );
    let (order_id, user) = (OrderId::new(), UserId::new());
    let payment = serde_json::to_string(&paid(order_id, user)).expect("json");
    let order = serde_json::to_string(&confirmed(order_id, user)).expect("json");
    // The same facts published again under new event ids.
    let republished = serde_json::to_string(&paid(order_id, user)).expect("json");
    let deadline = time::OffsetDateTime::now_utc() + Duration::seconds(30);

    let out = consumer
        .process_batch(
            batch(vec![
                sqs("m1", payment.clone()),
                sqs("m2", "{\"not\": \"an event\"}".into()),
                sqs("m3", order.clone()),
                sqs("m4", payment),
                sqs("m5", republished),
                sqs("m6", order),
            ]),
            deadline,
            "req",
        )
        .await;

    assert_eq!(out.failed_ids(), vec!["m2"]);
    assert_eq!(w.store.invoices().len(), 1);
    assert_eq!(w.store.outbox().len(), 1);
    assert_eq!(w.docs.keys().len(), 1);
}

#[tokio::test]
async fn an_event_of_another_type_is_not_accepted() {
    let raw = EventEnvelope::new(
        contracts::events::OrderShipped {
            order_id: OrderId::new(),
            user_id: UserId::new(),
            shipped_at: datetime!(2026-11-21 10:05 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 10:05 UTC),
    )
    .into_raw()
    .expect("raw");
    assert!(ReceiptEvent::from_envelope(raw).is_err());
}

#[tokio::test]
async fn parts_from_different_users_are_a_permanent_failure() {
    let w = world();
    let order_id = OrderId::new();
    w.handler
        .handle(ReceiptEvent::Payment(paid(order_id, UserId::new())))
        .await
        .expect("recorded");
    let result = w
        .handler
        .handle(ReceiptEvent::Order(confirmed(order_id, UserId::new())))
        .await;
    assert!(
        matches!(result, Err(HandlerError::Permanent(_))),
        "{result:?}"
    );
    assert!(w.docs.keys().is_empty());
}

#[test]
fn the_seller_name_is_configurable() {
    assert_eq!(
        Config::from_env(&Env::from_pairs(&[])).map(|c| c.seller_name),
        Ok("Serverless Commerce".to_owned())
    );
    assert_eq!(
        Config::from_env(&Env::from_pairs(&[("RECEIPT_SELLER_NAME", "Acme")]))
            .map(|c| c.seller_name),
        Ok("Acme".to_owned())
    );
}
