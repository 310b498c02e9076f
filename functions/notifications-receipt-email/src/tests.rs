use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::NotificationSent;
use contracts::{CorrelationId, Currency, Email, OrderId, PersonName, UserId};
use documents::InMemoryDocuments;
use notifications::{
    Contact, ContactStore, DeliveryStatus, InMemoryBodyArchive, InMemoryContactStore,
    InMemoryDeliveryLog, InMemoryEmailProvider, InMemoryPreferenceStore, ProviderError,
};
use platform::idempotency::InMemoryIdempotencyStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;

type Handler = ReceiptEmail<
    InMemoryEmailProvider,
    InMemoryContactStore,
    InMemoryDocuments,
    InMemoryDeliveryLog,
    InMemoryBodyArchive,
    InMemoryPreferenceStore,
>;

struct World {
    provider: InMemoryEmailProvider,
    contacts: InMemoryContactStore,
    log: InMemoryDeliveryLog,
    archive: InMemoryBodyArchive,
    handler: Handler,
}

fn world_with(
    provider: InMemoryEmailProvider,
    contacts: InMemoryContactStore,
    preferences: InMemoryPreferenceStore,
) -> World {
    let log = InMemoryDeliveryLog::new();
    let archive = InMemoryBodyArchive::new();
    World {
        handler: ReceiptEmail::new(
            provider.clone(),
            contacts.clone(),
            InMemoryDocuments::new(),
            Deliveries::new(log.clone(), archive.clone(), preferences),
        ),
        provider,
        contacts,
        log,
        archive,
    }
}

fn contact(user_id: UserId) -> Contact {
    Contact {
        user_id,
        email: Email::parse("ada@example.com").expect("email"),
        name: PersonName::parse("Ada").expect("name"),
        as_of: datetime!(2026-11-20 09:00 UTC),
    }
}

fn generated() -> EventEnvelope<InvoiceGenerated> {
    let user_id = UserId::new();
    EventEnvelope::new(
        InvoiceGenerated {
            invoice_id: "inv_0123456789abcdef0123456789abcdef".into(),
            order_id: OrderId::new(),
            user_id,
            payment_id: "pay_1".into(),
            amount: 4_200,
            currency: Currency::EUR,
            document_key: format!("invoices/{user_id}/inv_0123456789abcdef0123456789abcdef.pdf"),
            generated_at: datetime!(2026-11-21 10:06 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 10:06 UTC),
    )
}

fn world_for(event: &EventEnvelope<InvoiceGenerated>, provider: InMemoryEmailProvider) -> World {
    world_with(
        provider,
        InMemoryContactStore::with(contact(event.data.user_id)),
        InMemoryPreferenceStore::new(),
    )
}

#[tokio::test]
async fn emails_a_seven_day_link_to_the_pdf_and_logs_it() {
    let event = generated();
    let w = world_for(&event, InMemoryEmailProvider::new());

    w.handler.handle(event.clone()).await.expect("handled");

    let sent = w.provider.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), "ada@example.com");
    assert_eq!(
        sent[0].subject,
        format!("Your receipt for order {}", event.data.order_id)
    );
    let link = format!("memory://{}?valid_for=604800", event.data.document_key);
    assert!(sent[0].text.contains(&link), "{}", sent[0].text);
    assert!(sent[0].html.contains(&link), "{}", sent[0].html);
    assert!(sent[0].text.contains("42.00 EUR"), "{}", sent[0].text);
    let html_key = format!("receipt/2026/11/21/{}.html", event.id);
    assert_eq!(
        w.archive.get(&html_key).expect("archived").body,
        sent[0].html.as_bytes()
    );
    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Sent);
    assert_eq!(entries[0].template, "receipt");
    assert_eq!(entries[0].user_id, event.data.user_id);
    let report = w.log.reports()[0]
        .clone()
        .decode::<NotificationSent>()
        .expect("notification.sent");
    assert_eq!(report.data.template, "receipt");
    assert_eq!(report.data.source_event_id, event.id.to_string());
}

#[tokio::test]
async fn a_missing_contact_is_retryable_and_the_retry_sends() {
    let event = generated();
    let w = world_with(
        InMemoryEmailProvider::new(),
        InMemoryContactStore::new(),
        InMemoryPreferenceStore::new(),
    );
    let first = w.handler.handle(event.clone()).await;
    assert!(
        matches!(&first, Err(HandlerError::Retryable(e)) if e.to_string().contains("no contact")),
        "{first:?}"
    );
    assert!(w.provider.sent().is_empty() && w.log.entries().is_empty());

    w.contacts
        .put(&contact(event.data.user_id))
        .await
        .expect("projection caught up");
    w.handler.handle(event).await.expect("retry");
    assert_eq!(w.provider.sent().len(), 1);
}

#[tokio::test]
async fn an_email_opt_out_is_honoured() {
    let event = generated();
    let w = world_with(
        InMemoryEmailProvider::new(),
        InMemoryContactStore::with(contact(event.data.user_id)),
        InMemoryPreferenceStore::opted_out(event.data.user_id, Channel::Email),
    );
    w.handler.handle(event).await.expect("handled");
    assert!(w.provider.sent().is_empty());
    assert_eq!(w.log.entries()[0].status, DeliveryStatus::Skipped);
    assert!(w.log.reports().is_empty());
}

#[tokio::test]
async fn provider_outcomes_follow_the_pipeline() {
    let event = generated();
    let refused = world_for(
        &event,
        InMemoryEmailProvider::failing_with(ProviderError::Permanent("550 no such user".into())),
    );
    refused.handler.handle(event.clone()).await.expect("done");
    assert_eq!(refused.log.entries()[0].status, DeliveryStatus::Failed);

    let down = world_for(
        &event,
        InMemoryEmailProvider::failing_with(ProviderError::Retryable("throttled".into())),
    );
    let result = down.handler.handle(event).await;
    assert!(
        matches!(result, Err(HandlerError::Retryable(_))),
        "{result:?}"
    );
    assert!(down.log.entries().is_empty());
}

#[tokio::test]
async fn a_redelivered_event_emails_once() {
    let event = generated();
    let w = world_for(&event, InMemoryEmailProvider::new());
    let consumer = Consumer::new(
        w.handler,
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency: 1,
        },
    );
    let deadline = OffsetDateTime::now_utc() + Duration::seconds(30);
    let body = serde_json::to_string(&event).expect("json");
    for (request, id) in [("r1", "m1"), ("r2", "m2")] {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.clone());
        let mut batch = SqsEvent::default();
        batch.records = vec![m];
        let out = consumer.process_batch(batch, deadline, request).await;
        assert!(out.batch_item_failures.is_empty());
    }
    assert_eq!(w.provider.sent().len(), 1);
    assert_eq!(w.log.entries().len(), 1);
    assert_eq!(w.log.reports().len(), 1);
}
