use contracts::{CorrelationId, PersonName, UserId};
use notifications::{InMemoryBodyArchive, InMemoryDeliveryLog, InMemoryEmailProvider};
use time::macros::datetime;

use super::*;

type Handler = WelcomeEmail<InMemoryEmailProvider, InMemoryDeliveryLog, InMemoryBodyArchive>;

struct World {
    provider: InMemoryEmailProvider,
    log: InMemoryDeliveryLog,
    archive: InMemoryBodyArchive,
    handler: Handler,
}

fn world(provider: InMemoryEmailProvider) -> World {
    let log = InMemoryDeliveryLog::new();
    let archive = InMemoryBodyArchive::new();
    World {
        handler: WelcomeEmail::new(provider.clone(), log.clone(), archive.clone()),
        provider,
        log,
        archive,
    }
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
async fn sends_once_archives_the_body_and_logs_the_delivery() {
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
    assert_eq!(entry.body_key, html_key(&event));
    assert_eq!(entry.at, event.occurred_at);
}

#[tokio::test]
async fn a_redelivered_event_keeps_one_log_entry() {
    let w = world(InMemoryEmailProvider::new());
    let event = registered("Ada");

    w.handler.handle(event.clone()).await.expect("first");
    w.handler.handle(event).await.expect("second");

    assert_eq!(w.log.entries().len(), 1);
    assert_eq!(w.archive.keys().len(), 2, "html and text, once each");
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
    assert!(w.provider.sent().is_empty());
}

#[tokio::test]
async fn provider_refusal_is_logged_as_failed_and_not_retried() {
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
    assert_eq!(entries[0].body_key, html_key(&event));
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

#[test]
fn body_keys_use_the_utc_day_of_the_event() {
    let id: EventId = serde_json::from_str("\"0197a0b2-7c1e-7000-8000-000000000001\"").expect("id");
    let keys = BodyKeys::new(&id, datetime!(2026-01-02 00:30 +02:00)).expect("keys");
    assert_eq!(
        keys.html,
        "welcome/2026/01/01/0197a0b2-7c1e-7000-8000-000000000001.html"
    );
    assert_eq!(
        keys.text,
        "welcome/2026/01/01/0197a0b2-7c1e-7000-8000-000000000001.txt"
    );
}

#[test]
fn config_requires_a_plain_sender_address() {
    let ok = Env::from_pairs(&[
        ("TABLE_NAME", "notifications"),
        ("BUCKET_NAME", "bodies"),
        ("EMAIL_FROM", "NoReply@Example.com"),
    ]);
    let config = Config::from_env(&ok).expect("valid");
    assert_eq!(config.email_from.as_str(), "noreply@example.com");

    let bad = Env::from_pairs(&[
        ("TABLE_NAME", "notifications"),
        ("BUCKET_NAME", "bodies"),
        ("EMAIL_FROM", "Shop <noreply@example.com>"),
    ]);
    assert!(matches!(
        Config::from_env(&bad),
        Err(ConfigError::Invalid {
            name: "EMAIL_FROM",
            ..
        })
    ));
    let missing = Env::from_pairs(&[("TABLE_NAME", "t"), ("EMAIL_FROM", "a@example.com")]);
    assert_eq!(
        Config::from_env(&missing),
        Err(ConfigError::Missing("BUCKET_NAME"))
    );
}
