use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{NotificationFailed, NotificationSent};
use contracts::{CorrelationId, Currency, DomainEvent, Email, PersonName, UserId};
use notifications::{
    Contact, ContactStore, DeliveryStatus, InMemoryBodyArchive, InMemoryContactStore,
    InMemoryDeliveryLog, InMemoryEmailProvider, InMemoryPreferenceStore, ProviderError,
};
use platform::idempotency::InMemoryIdempotencyStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;

type Handler = DepositEmail<
    InMemoryEmailProvider,
    InMemoryContactStore,
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
        handler: DepositEmail::new(
            provider.clone(),
            contacts.clone(),
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

fn deposited() -> EventEnvelope<WalletDeposited> {
    EventEnvelope::new(
        WalletDeposited {
            account_id: "acct_1".into(),
            user_id: UserId::new(),
            transaction_id: "txn_1".into(),
            amount: 2500,
            currency: Currency::USD,
            balance_after: 12_050,
            description: "Top-up".into(),
            deposited_at: datetime!(2026-11-21 10:05 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 10:05 UTC),
    )
}

/// A world where the depositing user's contact is known.
fn world_for(event: &EventEnvelope<WalletDeposited>, provider: InMemoryEmailProvider) -> World {
    world_with(
        provider,
        InMemoryContactStore::with(contact(event.data.user_id)),
        InMemoryPreferenceStore::new(),
    )
}

#[tokio::test]
async fn emails_the_confirmation_to_the_contact_archives_logs_and_reports() {
    let event = deposited();
    let w = world_for(&event, InMemoryEmailProvider::new());

    w.handler.handle(event.clone()).await.expect("handled");

    let sent = w.provider.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), "ada@example.com");
    assert_eq!(sent[0].subject, "Deposit received: 25.00 USD");
    assert!(sent[0].text.contains("Hi Ada"), "{}", sent[0].text);
    assert!(sent[0].html.contains("120.50 USD"), "{}", sent[0].html);
    let html_key = format!("deposit_confirmation/2026/11/21/{}.html", event.id);
    assert_eq!(
        w.archive.get(&html_key).expect("archived").body,
        sent[0].html.as_bytes()
    );
    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Sent);
    assert_eq!(entries[0].template, "deposit_confirmation");
    assert_eq!(entries[0].recipient.as_deref(), Some("ada@example.com"));
    let report = w.log.reports()[0]
        .clone()
        .decode::<NotificationSent>()
        .expect("notification.sent");
    assert_eq!(report.data.user_id, event.data.user_id);
    assert_eq!(report.data.template, "deposit_confirmation");
}

#[tokio::test]
async fn a_missing_contact_is_retryable_and_sends_nothing() {
    let w = world_with(
        InMemoryEmailProvider::new(),
        InMemoryContactStore::new(),
        InMemoryPreferenceStore::new(),
    );

    let result = w.handler.handle(deposited()).await;

    assert!(
        matches!(&result, Err(HandlerError::Retryable(e)) if e.to_string().contains("no contact")),
        "{result:?}"
    );
    assert!(w.provider.sent().is_empty());
    assert!(w.log.entries().is_empty());
    assert!(w.contacts.all().is_empty());
}

#[tokio::test]
async fn the_retry_after_the_projection_caught_up_sends() {
    let event = deposited();
    let w = world_with(
        InMemoryEmailProvider::new(),
        InMemoryContactStore::new(),
        InMemoryPreferenceStore::new(),
    );
    assert!(w.handler.handle(event.clone()).await.is_err());

    w.contacts
        .put(&contact(event.data.user_id))
        .await
        .expect("projection caught up");
    w.handler.handle(event).await.expect("retry");

    assert_eq!(w.provider.sent().len(), 1);
    assert_eq!(w.log.entries().len(), 1);
}

#[tokio::test]
async fn an_email_opt_out_is_skipped_even_before_the_contact_exists() {
    let event = deposited();
    let w = world_with(
        InMemoryEmailProvider::new(),
        InMemoryContactStore::new(),
        InMemoryPreferenceStore::opted_out(event.data.user_id, Channel::Email),
    );

    w.handler.handle(event).await.expect("handled");

    assert!(w.provider.sent().is_empty());
    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Skipped);
    assert!(w.log.reports().is_empty());
}

#[tokio::test]
async fn a_refused_email_is_failed_reported_and_done() {
    let event = deposited();
    let w = world_for(
        &event,
        InMemoryEmailProvider::failing_with(ProviderError::Permanent(
            "550 5.1.1 mailbox unavailable".into(),
        )),
    );

    w.handler.handle(event).await.expect("not retried");

    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Failed);
    let reports = w.log.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].event_type, NotificationFailed::TYPE);
}

#[tokio::test]
async fn a_provider_outage_is_retryable_and_logs_nothing() {
    let event = deposited();
    let w = world_for(
        &event,
        InMemoryEmailProvider::failing_with(ProviderError::Retryable("throttled".into())),
    );

    let result = w.handler.handle(event).await;

    assert!(
        matches!(result, Err(HandlerError::Retryable(_))),
        "{result:?}"
    );
    assert!(w.log.entries().is_empty());
    assert!(w.log.reports().is_empty());
}

fn sqs(id: &str, event: &EventEnvelope<WalletDeposited>) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(serde_json::to_string(event).expect("json"));
    m
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

#[tokio::test]
async fn a_redelivered_event_emails_once() {
    let event = deposited();
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

    for (request, message) in [("r1", "m1"), ("r2", "m2")] {
        let response = consumer
            .process_batch(batch(vec![sqs(message, &event)]), deadline, request)
            .await;
        assert!(response.batch_item_failures.is_empty());
    }

    assert_eq!(w.provider.sent().len(), 1);
    assert_eq!(w.log.entries().len(), 1);
    assert_eq!(w.log.reports().len(), 1);
}
