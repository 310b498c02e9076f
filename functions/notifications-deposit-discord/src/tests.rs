use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{NotificationFailed, NotificationSent};
use contracts::{CorrelationId, Currency, Email, PersonName, UserId};
use notifications::{
    Contact, DeliveryStatus, InMemoryBodyArchive, InMemoryContactStore, InMemoryDeliveryLog,
    InMemoryDiscord, InMemoryPreferenceStore, ProviderError,
};
use platform::idempotency::InMemoryIdempotencyStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;

type Handler = DepositDiscord<
    InMemoryDiscord,
    InMemoryContactStore,
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

fn world_with(
    discord: InMemoryDiscord,
    contacts: InMemoryContactStore,
    preferences: InMemoryPreferenceStore,
) -> World {
    let log = InMemoryDeliveryLog::new();
    let archive = InMemoryBodyArchive::new();
    World {
        handler: DepositDiscord::new(
            discord.clone(),
            contacts,
            Deliveries::new(log.clone(), archive.clone(), preferences),
        ),
        discord,
        log,
        archive,
    }
}

fn deposited() -> EventEnvelope<WalletDeposited> {
    EventEnvelope::new(
        WalletDeposited {
            account_id: "acct_1".into(),
            user_id: UserId::new(),
            transaction_id: "txn_1".into(),
            amount: 2500,
            currency: Currency::EUR,
            balance_after: 99_999,
            description: "Top-up".into(),
            deposited_at: datetime!(2026-11-21 10:05 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 10:05 UTC),
    )
}

fn world_for(event: &EventEnvelope<WalletDeposited>, discord: InMemoryDiscord) -> World {
    world_with(
        discord,
        InMemoryContactStore::with(Contact {
            user_id: event.data.user_id,
            email: Email::parse("ada@example.com").expect("email"),
            name: PersonName::parse("Ada").expect("name"),
            as_of: datetime!(2026-11-20 09:00 UTC),
        }),
        InMemoryPreferenceStore::new(),
    )
}

#[tokio::test]
async fn posts_the_deposit_archives_logs_and_reports() {
    let event = deposited();
    let w = world_for(&event, InMemoryDiscord::new());

    w.handler.handle(event.clone()).await.expect("handled");

    let sent = w.discord.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].content,
        "Deposit: Ada added **25.00 EUR** to their wallet (Top-up)."
    );
    assert!(
        !sent[0].content.contains("999"),
        "no balance in a shared channel"
    );
    let key = format!("deposit_discord/2026/11/21/{}.md", event.id);
    assert!(w.archive.get(&key).is_some());
    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Sent);
    assert_eq!(entries[0].channel, Channel::Discord);
    assert_eq!(entries[0].template, "deposit_discord");
    let report = w.log.reports()[0]
        .clone()
        .decode::<NotificationSent>()
        .expect("notification.sent");
    assert_eq!(report.data.source_event_id, event.id.to_string());
    assert_eq!(report.correlation_id, event.correlation_id);
}

#[tokio::test]
async fn a_missing_contact_is_retryable_and_posts_nothing() {
    let w = world_with(
        InMemoryDiscord::new(),
        InMemoryContactStore::new(),
        InMemoryPreferenceStore::new(),
    );

    let result = w.handler.handle(deposited()).await;

    assert!(
        matches!(&result, Err(HandlerError::Retryable(e)) if e.to_string().contains("no contact")),
        "{result:?}"
    );
    assert!(w.discord.sent().is_empty());
    assert!(w.log.entries().is_empty());
}

#[tokio::test]
async fn a_discord_opt_out_is_logged_as_skipped_and_nothing_is_posted() {
    let event = deposited();
    let w = world_with(
        InMemoryDiscord::new(),
        InMemoryContactStore::new(),
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
    let event = deposited();
    let w = world_for(
        &event,
        InMemoryDiscord::failing_with(ProviderError::Permanent(
            "404 Not Found: Unknown Webhook".into(),
        )),
    );

    w.handler.handle(event).await.expect("not retried");

    let entries = w.log.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Failed);
    let reports = w.log.reports();
    assert_eq!(reports.len(), 1);
    let failed = reports[0]
        .clone()
        .decode::<NotificationFailed>()
        .expect("notification.failed");
    assert!(failed.data.reason.contains("Unknown Webhook"));
}

#[tokio::test]
async fn an_outage_is_retryable_and_logs_nothing() {
    let event = deposited();
    let w = world_for(
        &event,
        InMemoryDiscord::failing_with(ProviderError::Retryable("503 Service Unavailable".into())),
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
async fn a_redelivered_event_posts_once() {
    let event = deposited();
    let w = world_for(&event, InMemoryDiscord::new());
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

    assert_eq!(w.discord.sent().len(), 1);
    assert_eq!(w.log.entries().len(), 1);
    assert_eq!(w.log.reports().len(), 1);
}
