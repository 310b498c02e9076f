//! Registration analytics: a per-day counter that counts each event exactly
//! once, and the raw events archived to S3 as date-partitioned JSON lines.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::{Context, anyhow};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use consumer_kit::{EventHandler, HandlerError};
use contracts::events::UserRegistered;
use contracts::{DomainEvent, EventEnvelope, EventId};
use platform::archive::S3Archive;
use platform::dynamo::{cancelled_conditions, n, s};
use platform::{ConfigError, Env};
use time::{Date, Duration, OffsetDateTime};

pub const CONSUMER_NAME: &str = "analytics-registrations";

/// How long the "already counted" marker of an event is kept. Far longer
/// than any redelivery (queue retention plus DLQ redrive) can take.
pub const MARKER_TTL: Duration = Duration::days(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Analytics table: counters, markers and idempotency records.
    pub table_name: String,
    /// Bucket for the raw event archive.
    pub bucket_name: String,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            bucket_name: env.required("BUCKET_NAME")?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Counted,
    AlreadyCounted,
}

pub trait RegistrationCounter: Send + Sync {
    /// Adds one registration to `day`, unless this event was counted before.
    fn count(
        &self,
        event_id: &EventId,
        day: Date,
    ) -> impl Future<Output = anyhow::Result<Counted>> + Send;
}

/// `yyyy-mm-dd`.
pub fn day_key(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// One transaction: a marker for the event (only if absent) and the
/// increment. The marker makes the count exact even when the consumer's
/// idempotency record is gone, because a second count of the same event
/// fails the marker's condition and cancels its increment with it.
#[derive(Clone)]
pub struct DynamoRegistrationCounter {
    client: Client,
    table: String,
}

impl DynamoRegistrationCounter {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

impl RegistrationCounter for DynamoRegistrationCounter {
    async fn count(&self, event_id: &EventId, day: Date) -> anyhow::Result<Counted> {
        let expires_at = OffsetDateTime::now_utc() + MARKER_TTL;
        let marker = Put::builder()
            .table_name(&self.table)
            .item("pk", s(format!("SEEN#{event_id}")))
            .item("sk", s("registrations"))
            .item("expires_at", n(expires_at.unix_timestamp()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .context("building the marker put")?;
        let increment = Update::builder()
            .table_name(&self.table)
            .key("pk", s(format!("DAY#{}", day_key(day))))
            .key("sk", s("registrations"))
            .update_expression("ADD registrations :one")
            .expression_attribute_values(":one", n(1))
            .build()
            .context("building the counter update")?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(marker).build())
            .transact_items(TransactWriteItem::builder().update(increment).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Counted::Counted),
            Err(e) if marker_exists(&e) => Ok(Counted::AlreadyCounted),
            Err(e) => Err(anyhow!(
                "counting the registration: {}",
                DisplayErrorContext(e)
            )),
        }
    }
}

/// Only the marker (action 0) has a condition; any other cancellation (a
/// conflicting transaction, throttling) is an error worth a retry.
fn marker_exists<R>(err: &SdkError<TransactWriteItemsError, R>) -> bool {
    cancelled_conditions(err).is_some_and(|codes| matches!(codes.first(), Some(Some(_))))
}

/// Same semantics in memory; clones share their state.
#[derive(Clone, Default)]
pub struct InMemoryRegistrationCounter {
    state: Arc<Mutex<CounterState>>,
}

#[derive(Default)]
struct CounterState {
    seen: HashSet<EventId>,
    days: HashMap<Date, u64>,
}

impl InMemoryRegistrationCounter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn registrations(&self, day: Date) -> u64 {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.days.get(&day).copied().unwrap_or(0)
    }
}

impl RegistrationCounter for InMemoryRegistrationCounter {
    async fn count(&self, event_id: &EventId, day: Date) -> anyhow::Result<Counted> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.seen.insert(event_id.clone()) {
            return Ok(Counted::AlreadyCounted);
        }
        *state.days.entry(day).or_default() += 1;
        Ok(Counted::Counted)
    }
}

/// Where raw events are archived. Writes are keyed by the caller and
/// idempotent.
pub trait EventArchive: Send + Sync {
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

impl EventArchive for S3Archive {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> anyhow::Result<()> {
        S3Archive::put(self, key, body, content_type).await
    }
}

/// Object bodies by key; clones share their state.
#[derive(Clone, Default)]
pub struct InMemoryEventArchive {
    objects: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl InMemoryEventArchive {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl EventArchive for InMemoryEventArchive {
    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &str) -> anyhow::Result<()> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned(), body);
        Ok(())
    }
}

/// `events/type=<type>/date=<yyyy-mm-dd>/<event_id>.jsonl`: Hive-style
/// partitions that Athena and Glue pick up, one object per event so a
/// retried write replaces its own object.
pub fn archive_key(event_id: &EventId, day: Date) -> anyhow::Result<String> {
    let id = event_id.as_str();
    // Event ids are UUIDs; anything else could escape its partition.
    let safe = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !safe {
        return Err(anyhow!(
            "event id {id:?} cannot be used in an object key (expected a UUID)"
        ));
    }
    Ok(format!(
        "events/type={}/date={}/{id}.jsonl",
        UserRegistered::TYPE,
        day_key(day)
    ))
}

/// The envelope as one JSON line.
pub fn archive_line(event: &EventEnvelope<UserRegistered>) -> anyhow::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(event).context("serialising the event")?;
    line.push(b'\n');
    Ok(line)
}

pub struct RegistrationAnalytics<C, A> {
    counter: C,
    archive: A,
}

impl<C, A> RegistrationAnalytics<C, A>
where
    C: RegistrationCounter,
    A: EventArchive,
{
    pub fn new(counter: C, archive: A) -> Self {
        Self { counter, archive }
    }

    /// The day is the event's UTC date, so a late redelivery still counts
    /// (and is archived) under the day the user registered.
    pub async fn record(&self, event: &EventEnvelope<UserRegistered>) -> Result<(), HandlerError> {
        let day = event.occurred_at.to_offset(time::UtcOffset::UTC).date();
        let key = archive_key(&event.id, day).map_err(HandlerError::Permanent)?;
        let line = archive_line(event).map_err(HandlerError::Permanent)?;

        let counted = self
            .counter
            .count(&event.id, day)
            .await
            .context("counting the registration")?;
        self.archive
            .put(&key, line, "application/x-ndjson")
            .await
            .context("archiving the event")?;
        tracing::info!(?counted, day = %day_key(day), "registration recorded");
        Ok(())
    }
}

impl<C, A> EventHandler for RegistrationAnalytics<C, A>
where
    C: RegistrationCounter,
    A: EventArchive,
{
    type Input = EventEnvelope<UserRegistered>;

    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        self.record(&input).await
    }
}

#[cfg(test)]
mod tests;
