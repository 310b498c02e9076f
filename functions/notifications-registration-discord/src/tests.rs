use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{NotificationFailed, NotificationSent};
use contracts::{CorrelationId, DomainEvent, Email, PersonName, UserId};
use notifications::{
    DeliveryStatus, InMemoryBodyArchive, InMemoryDeliveryLog, InMemoryDiscord,
    InMemoryPreferenceStore, ProviderError,
};
use platform::idempotency::InMemoryIdempotencyStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;

type Handler = RegistrationDiscord<
    InMemoryDiscord,
    InMemoryDeliveryLog,
    InMemoryBodyArchive,
    InMemoryPreferenceStore,
>;

struct World {
    discord: InMemoryDiscord,
    log: InMemoryDeliveryLog,
    archive: InMemoryBodyArchive,
    handler: Handler,
}

fn world_with(discord: InMemoryDiscord, preferences: InMemoryPreferenceStore) -> World {
    let log = InMemoryDeliveryLog::new();
    let archive = InMemoryBodyArchive::new();
    World {
        handler: RegistrationDiscord::new(
            discord.clone(),
            Deliveries::new(log.clone(), archive.clone(), preferences),
        ),
        discord,
        log,
        archive,
    }
}

fn world(discord: InMemoryDiscord) -> World {
    world_with(discord, InMemoryPreferenceStore::new())
}

fn registered(name: &str) -> EventEnvelope<UserRegistered> {
    EventEnvelope::new(
        UserRegistered {
            user_id: UserId::new(),
            email: Email::parse("ada@example.com").expect("valid"),
            name: PersonName::parse(name).expect("valid"),
            registered_at: datetime!(2026-11-21 10:00 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 10:00 UTC),
    )
}

#[tokio::test]
async fn announces_the_new_member_archives_logs_and_reports() {
    let w = world(InMemoryDiscord::new());
    let event = registered("Ada Lovelace");

    w.handler.handle(event.clone()).await.expect("handled");

    let sent = w.discord.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].content, "New member: Ada Lovelace");
    let key = format!("registration_discord/2026/11/21/{}.md", event.id);
    assert_eq!(
        w.archive.get(&key).expect("archived").body,
        sent[0].content.as_bytes()
    );
    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Sent);
    assert_eq!(entries[0].channel, Channel::Discord);
    assert_eq!(entries[0].template, "registration_discord");
    assert_eq!(entries[0].user_id, event.data.user_id);
    assert_eq!(entries[0].recipient, None, "a team channel, not the user");
    assert_eq!(
        entries[0].preview.as_deref(),
        Some("New member: Ada Lovelace")
    );
    let reports = w.log.reports();
    assert_eq!(reports.len(), 1);
    let report = reports[0]
        .clone()
        .decode::<NotificationSent>()
        .expect("notification.sent");
    assert_eq!(report.data.channel, "discord");
    assert_eq!(report.data.source_event_id, event.id.to_string());
}

#[tokio::test]
async fn the_name_cannot_format_or_mention() {
    let w = world(InMemoryDiscord::new());

    w.handler
        .handle(registered("@everyone **free money**"))
        .await
        .expect("handled");

    assert_eq!(
        w.discord.sent()[0].content,
        r"New member: \@everyone \*\*free money\*\*"
    );
}

#[tokio::test]
async fn a_discord_opt_out_is_logged_as_skipped_and_nothing_is_posted() {
    let event = registered("Ada");
    let w = world_with(
        InMemoryDiscord::new(),
        InMemoryPreferenceStore::opted_out(event.data.user_id, Channel::Discord),
    );

    w.handler.handle(event).await.expect("handled");

    assert!(w.discord.sent().is_empty());
    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Skipped);
    assert!(w.log.reports().is_empty());
}

#[tokio::test]
async fn a_refused_message_is_failed_reported_and_done() {
    let w = world(InMemoryDiscord::failing_with(ProviderError::Permanent(
        "400 Bad Request: {\"code\": 50006}".into(),
    )));
    let event = registered("Ada");

    w.handler.handle(event).await.expect("not retried");

    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Failed);
    assert!(entries[0].provider_response.starts_with("400 Bad Request"));
    let reports = w.log.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].event_type, NotificationFailed::TYPE);
}

#[tokio::test]
async fn a_rate_limit_or_outage_is_retryable_and_logs_nothing() {
    let w = world(InMemoryDiscord::failing_with(ProviderError::Retryable(
        "429 Too Many Requests: retry after 30.000s".into(),
    )));

    let result = w.handler.handle(registered("Ada")).await;

    assert!(
        matches!(result, Err(HandlerError::Retryable(_))),
        "{result:?}"
    );
    assert!(w.log.entries().is_empty());
    assert!(w.log.reports().is_empty());
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
async fn a_redelivered_event_posts_once() {
    let w = world(InMemoryDiscord::new());
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

    for (request, message) in [("r1", "m1"), ("r2", "m2")] {
        let response = consumer
            .process_batch(batch(vec![sqs(message, &event)]), deadline, request)
            .await;
        assert!(response.batch_item_failures.is_empty());
    }

    assert_eq!(w.discord.sent().len(), 1);
    assert_eq!(w.log.entries().len(), 1);
    assert_eq!(w.log.reports().len(), 1);
}
