use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::{CorrelationId, Email, PersonName, RawEnvelope, UserId};
use payments::memory::InMemoryPaymentsStore;
use payments::model::{Account, IdempotencyKey, IdempotencyRecord, LedgerEntry, Page};
use payments::store::{DepositWrite, StoreError, StoreResult};
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

fn registered(user_id: UserId) -> EventEnvelope<UserRegistered> {
    let now = OffsetDateTime::now_utc();
    EventEnvelope::new(
        UserRegistered {
            user_id,
            email: Email::parse("ada@example.com").expect("valid"),
            name: PersonName::parse("Ada").expect("valid"),
            registered_at: now,
        },
        CorrelationId::new(),
        now,
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

fn settings() -> ConsumerSettings {
    ConsumerSettings {
        name: CONSUMER_NAME.into(),
        idempotency_ttl: Duration::hours(1),
        concurrency: 4,
    }
}

fn deadline() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(30)
}

#[tokio::test]
async fn a_registration_opens_an_account_and_announces_it() {
    let store = InMemoryPaymentsStore::new();
    let handler = OpenAccount::new(store.clone(), Currency::EUR);
    let user = UserId::new();
    let event = registered(user);
    let correlation = event.correlation_id.clone();

    handler.handle(event).await.expect("handled");

    let account = store.account(user).await.expect("read").expect("opened");
    assert_eq!(account.currency, Currency::EUR);
    assert_eq!(account.balance, 0);
    let outbox = store.outbox();
    assert_eq!(outbox.len(), 1);
    let created = outbox[0]
        .clone()
        .decode::<contracts::events::PaymentAccountCreated>()
        .expect("payment_account.created");
    assert_eq!(
        created.correlation_id, correlation,
        "the flow keeps its correlation id"
    );
    assert_eq!(created.data.account_id, account.id.to_string());
    assert_eq!(created.data.user_id, user);
    assert_eq!(created.data.currency, Currency::EUR);
}

#[tokio::test]
async fn the_same_registration_twice_opens_one_account_with_one_event() {
    let store = InMemoryPaymentsStore::new();
    let handler = OpenAccount::new(store.clone(), Currency::USD);
    let user = UserId::new();
    let event = registered(user);

    handler.handle(event.clone()).await.expect("first");
    handler.handle(event).await.expect("duplicate is fine");
    // A re-published registration (new event id, same user) as well.
    handler.handle(registered(user)).await.expect("republished");

    assert_eq!(store.account_count(), 1);
    assert_eq!(store.outbox().len(), 1);
}

#[tokio::test]
async fn a_batch_with_a_duplicate_and_garbage_opens_once_and_fails_only_the_garbage() {
    let store = InMemoryPaymentsStore::new();
    let consumer = Consumer::new(
        OpenAccount::new(store.clone(), Currency::USD),
        InMemoryIdempotencyStore::new(),
        settings(),
    );
    let user = UserId::new();
    let body = serde_json::to_string(&registered(user)).expect("json");
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
    // Processed side by side, the duplicate may find the original still in
    // progress and be handed back for a later retry; it never runs twice.
    assert!(!failed.contains(&"m1"), "{failed:?}");
    assert_eq!(store.account_count(), 1);
    assert_eq!(store.outbox().len(), 1);

    let redelivery = consumer
        .process_batch(sqs(&[("m3", body)]), deadline(), "req")
        .await;
    assert!(redelivery.batch_item_failures.is_empty());
    assert_eq!(store.account_count(), 1);
    assert_eq!(store.outbox().len(), 1);
}

/// A table that cannot be reached.
struct Down;

fn down<T>() -> StoreResult<T> {
    Err(StoreError::Other(anyhow::anyhow!("table unreachable")))
}

impl PaymentsStore for Down {
    async fn create_account(
        &self,
        _: &Account,
        _: &RawEnvelope,
        _: OffsetDateTime,
    ) -> StoreResult<()> {
        down()
    }
    async fn account(&self, _: UserId) -> StoreResult<Option<Account>> {
        down()
    }
    async fn record_deposit(
        &self,
        _: DepositWrite<'_>,
        _: &RawEnvelope,
        _: OffsetDateTime,
    ) -> StoreResult<()> {
        down()
    }
    async fn idempotency_record(
        &self,
        _: UserId,
        _: &IdempotencyKey,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        down()
    }
    async fn ledger(&self, _: UserId, _: Option<&str>, _: u32) -> StoreResult<Page<LedgerEntry>> {
        down()
    }
}

#[tokio::test]
async fn a_storage_outage_fails_the_record_for_a_retry() {
    let result = OpenAccount::new(Down, Currency::USD)
        .handle(registered(UserId::new()))
        .await;
    assert!(
        matches!(result, Err(HandlerError::Retryable(_))),
        "{result:?}"
    );

    let consumer = Consumer::new(
        OpenAccount::new(Down, Currency::USD),
        InMemoryIdempotencyStore::new(),
        settings(),
    );
    let body = serde_json::to_string(&registered(UserId::new())).expect("json");
    let out = consumer
        .process_batch(sqs(&[("m1", body)]), deadline(), "req")
        .await;
    assert_eq!(out.failed_ids(), vec!["m1"]);
}

#[test]
fn config_needs_a_table_and_defaults_to_usd() {
    let env = Env::from_pairs(&[("TABLE_NAME", "payments")]);
    assert_eq!(
        Config::from_env(&env),
        Ok(Config {
            table_name: "payments".into(),
            default_currency: Currency::USD,
        })
    );
    let env = Env::from_pairs(&[("TABLE_NAME", "payments"), ("DEFAULT_CURRENCY", "GBP")]);
    assert_eq!(
        Config::from_env(&env).map(|c| c.default_currency),
        Ok(Currency::GBP)
    );
    let env = Env::from_pairs(&[("DEFAULT_CURRENCY", "GBP")]);
    assert_eq!(
        Config::from_env(&env),
        Err(ConfigError::Missing("TABLE_NAME"))
    );
}
