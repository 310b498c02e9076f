use std::sync::atomic::{AtomicBool, Ordering};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{NotificationFailed, NotificationSent};
use contracts::{CorrelationId, DomainEvent, Email, PersonName, RawEnvelope, UserId};
use notifications::delivery_log::{DeliveryKey, Recorded};
use notifications::{
    DeliveryEntry, DeliveryStatus, InMemoryBodyArchive, InMemoryDeliveryLog, InMemoryEmailProvider,
    InMemoryPreferenceStore, ProviderError,
};
use platform::idempotency::InMemoryIdempotencyStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;

type Handler<L = InMemoryDeliveryLog> =
    WelcomeEmail<InMemoryEmailProvider, L, InMemoryBodyArchive, InMemoryPreferenceStore>;

struct World {
    provider: InMemoryEmailProvider,
    log: InMemoryDeliveryLog,
    archive: InMemoryBodyArchive,
    handler: Handler,
}

fn world_with(provider: InMemoryEmailProvider, preferences: InMemoryPreferenceStore) -> World {
    let log = InMemoryDeliveryLog::new();
    let archive = InMemoryBodyArchive::new();
    World {
        handler: WelcomeEmail::new(
            provider.clone(),
            Deliveries::new(log.clone(), archive.clone(), preferences),
        ),
        provider,
        log,
        archive,
    }
}

fn world(provider: InMemoryEmailProvider) -> World {
    world_with(provider, InMemoryPreferenceStore::new())
}

fn registered(name: &str) -> EventEnvelope<UserRegistered> {
    EventEnvelope::new(
        UserRegistered {
            user_id: UserId::new(),
            email: Email::parse("ada@example.com").expect("valid"),
            name: PersonName::parse(name).expect("valid"),
            registered_at: datetime!(2026-11-21 23:30 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 23:30 UTC),
    )
}

fn html_key(event: &EventEnvelope<UserRegistered>) -> String {
    format!("welcome/2026/11/21/{}.html", event.id)
}

#[tokio::test]
async fn sends_once_archives_the_body_logs_the_delivery_and_reports_it() {
    let w = world(InMemoryEmailProvider::new());
    let event = registered("Ada");

    w.handler.handle(event.clone()).await.expect("handled");

    let sent = w.provider.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), "ada@example.com");
    assert_eq!(sent[0].subject, "Welcome, Ada!");

    let html = w.archive.get(&html_key(&event)).expect("html archived");
    assert_eq!(html.body, sent[0].html.as_bytes());
    assert_eq!(html.content_type, "text/html; charset=utf-8");
    let text = w
        .archive
        .get(&format!("welcome/2026/11/21/{}.txt", event.id))
        .expect("text archived");
    assert_eq!(text.body, sent[0].text.as_bytes());

    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.status, DeliveryStatus::Sent);
    assert_eq!(entry.provider_message_id.as_deref(), Some("in-memory-1"));
    assert_eq!(entry.event_id, event.id);
    assert_eq!(entry.user_id, event.data.user_id);
    assert_eq!(entry.channel, Channel::Email);
    assert_eq!(entry.template, "welcome");
    assert_eq!(entry.recipient.as_deref(), Some("ada@example.com"));
    assert_eq!(entry.subject.as_deref(), Some("Welcome, Ada!"));
    assert_eq!(entry.body_key.as_deref(), Some(html_key(&event).as_str()));
    assert_eq!(entry.at, event.occurred_at);

    let reports = w.log.reports();
    assert_eq!(reports.len(), 1);
    let report = reports[0]
        .clone()
        .decode::<NotificationSent>()
        .expect("a notification.sent report");
    assert_eq!(report.data.notification_id, entry.id().to_string());
    assert_eq!(report.data.source_event_id, event.id.to_string());
    assert_eq!(report.data.channel, "email");
    assert_eq!(report.data.template, "welcome");
    assert_eq!(
        report.data.provider_message_id.as_deref(),
        Some("in-memory-1")
    );
    assert_eq!(report.correlation_id, event.correlation_id);
}

#[tokio::test]
async fn an_email_opt_out_is_logged_as_skipped_and_nothing_is_sent() {
    let event = registered("Ada");
    let w = world_with(
        InMemoryEmailProvider::new(),
        InMemoryPreferenceStore::opted_out(event.data.user_id, Channel::Email),
    );

    w.handler.handle(event).await.expect("handled");

    assert!(w.provider.sent().is_empty());
    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Skipped);
    assert!(w.log.reports().is_empty(), "skipping is not reported");
    assert!(w.archive.keys().is_empty());
}

#[tokio::test]
async fn provider_outage_is_retryable_and_logs_nothing() {
    let w = world(InMemoryEmailProvider::failing_with(
        ProviderError::Retryable("throttled".into()),
    ));

    let result = w.handler.handle(registered("Ada")).await;

    assert!(
        matches!(&result, Err(HandlerError::Retryable(e)) if e.to_string().contains("throttled")),
        "{result:?}"
    );
    assert!(w.log.entries().is_empty(), "no delivery may be claimed");
    assert!(w.log.reports().is_empty());
}

#[tokio::test]
async fn provider_refusal_is_logged_as_failed_reported_and_not_retried() {
    let w = world(InMemoryEmailProvider::failing_with(
        ProviderError::Permanent("MessageRejected: address is on the suppression list".into()),
    ));
    let event = registered("Ada");

    w.handler.handle(event.clone()).await.expect("not retried");

    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Failed);
    assert_eq!(entries[0].provider_message_id, None);
    assert_eq!(
        entries[0].provider_response,
        "MessageRejected: address is on the suppression list"
    );
    assert_eq!(
        entries[0].body_key.as_deref(),
        Some(html_key(&event).as_str())
    );
    let reports = w.log.reports();
    assert_eq!(reports.len(), 1);
    let report = reports[0]
        .clone()
        .decode::<NotificationFailed>()
        .expect("a notification.failed report");
    assert!(report.data.reason.contains("suppression list"));
}

#[tokio::test]
async fn a_second_attempt_at_a_logged_event_sends_nothing() {
    let w = world(InMemoryEmailProvider::new());
    let event = registered("Ada");

    w.handler.handle(event.clone()).await.expect("first");
    w.handler.handle(event).await.expect("second");

    assert_eq!(w.provider.sent().len(), 1);
    assert_eq!(w.log.entries().len(), 1);
    assert_eq!(w.log.reports().len(), 1);
    assert_eq!(w.archive.keys().len(), 2, "html and text, once each");
}

/// A log whose first write fails, as if the function died right after the
/// provider accepted the email.
#[derive(Clone, Default)]
struct CrashOnFirstWrite {
    inner: InMemoryDeliveryLog,
    crashed: std::sync::Arc<AtomicBool>,
}

impl DeliveryLog for CrashOnFirstWrite {
    async fn status(&self, key: &DeliveryKey) -> anyhow::Result<Option<DeliveryStatus>> {
        self.inner.status(key).await
    }

    async fn record(
        &self,
        entry: &DeliveryEntry,
        report: Option<&RawEnvelope>,
    ) -> anyhow::Result<Recorded> {
        if !self.crashed.swap(true, Ordering::SeqCst) {
            anyhow::bail!("connection reset");
        }
        self.inner.record(entry, report).await
    }

    async fn record_attempt(
        &self,
        entry: &DeliveryEntry,
        attempted_at: time::OffsetDateTime,
    ) -> anyhow::Result<()> {
        self.inner.record_attempt(entry, attempted_at).await
    }
}

#[tokio::test]
async fn a_crash_between_send_and_log_is_retried_and_logged_once() {
    let provider = InMemoryEmailProvider::new();
    let log = CrashOnFirstWrite::default();
    let handler: Handler<CrashOnFirstWrite> = WelcomeEmail::new(
        provider.clone(),
        Deliveries::new(
            log.clone(),
            InMemoryBodyArchive::new(),
            InMemoryPreferenceStore::new(),
        ),
    );
    let event = registered("Ada");

    let first = handler.handle(event.clone()).await;
    assert!(
        matches!(first, Err(HandlerError::Retryable(_))),
        "{first:?}"
    );
    handler.handle(event).await.expect("retry");

    // At-least-once: the email went out twice, but it is logged and
    // reported once.
    assert_eq!(provider.sent().len(), 2);
    assert_eq!(log.inner.entries().len(), 1);
    assert_eq!(log.inner.reports().len(), 1);
}

#[tokio::test]
async fn a_malicious_name_is_escaped_in_the_html_body() {
    let w = world(InMemoryEmailProvider::new());
    let event = registered(r#"<img src=x onerror="alert(1)">"#);

    w.handler.handle(event.clone()).await.expect("handled");

    let html = &w.provider.sent()[0].html;
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"));
    let archived = w.archive.get(&html_key(&event)).expect("archived");
    assert_eq!(archived.body, html.as_bytes());
}

#[tokio::test]
async fn an_event_id_unfit_for_a_key_is_a_permanent_error() {
    let w = world(InMemoryEmailProvider::new());
    let mut event = registered("Ada");
    event.id = serde_json::from_str("\"../../etc/passwd\"").expect("any string is an id");

    let result = w.handler.handle(event).await;

    assert!(
        matches!(result, Err(HandlerError::Permanent(_))),
        "{result:?}"
    );
    assert!(w.provider.sent().is_empty());
}

fn sqs(id: &str, event: &EventEnvelope<UserRegistered>) -> SqsMessage {
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
async fn a_redelivered_message_sends_one_email() {
    let w = world(InMemoryEmailProvider::new());
    let consumer = Consumer::new(
        w.handler,
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency: 1,
        },
    );
    let event = registered("Ada");
    let deadline = OffsetDateTime::now_utc() + Duration::seconds(30);

    let first = consumer
        .process_batch(batch(vec![sqs("m1", &event)]), deadline, "r1")
        .await;
    let again = consumer
        .process_batch(
            batch(vec![sqs("m2", &event), sqs("m3", &event)]),
            deadline,
            "r2",
        )
        .await;

    assert!(first.batch_item_failures.is_empty());
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(w.provider.sent().len(), 1);
    assert_eq!(w.log.entries().len(), 1);
    assert_eq!(w.log.reports().len(), 1);
    assert_eq!(w.log.reports()[0].event_type, NotificationSent::TYPE);
}
