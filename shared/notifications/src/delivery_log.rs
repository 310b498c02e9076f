//! The delivery log: one item per notification (source event, channel,
//! template) in the user's partition of the notifications table, sorted by
//! the time of the source event, plus the delivery report written in the
//! same transaction.
//!
//! | item         | pk          | sk                                                     |
//! |--------------|-------------|--------------------------------------------------------|
//! | delivery     | `USER#<id>` | `DELIVERY#<event time>#<event id>#<channel>#<template>` |
//! | report event | `OUTBOX#<event id>` | `OUTBOX` (relayed to the notifications topic)  |

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use contracts::{EventId, RawEnvelope, UserId};
use platform::dynamo::{ConditionFailed, Item, cancelled_conditions, get_opt_s, get_s, s};
use platform::outbox::outbox_put;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Discord,
    Sms,
    Push,
}

impl Channel {
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Discord => "discord",
            Channel::Sms => "sms",
            Channel::Push => "push",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "email" => Ok(Channel::Email),
            "discord" => Ok(Channel::Discord),
            "sms" => Ok(Channel::Sms),
            "push" => Ok(Channel::Push),
            _ => Err("unknown channel"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// The provider accepted the message.
    Sent,
    /// The provider refused it for good; it will not be retried.
    Failed,
    /// The user opted out of the channel; nothing was sent.
    Skipped,
    /// One attempt failed in a way worth retrying (provider down, 5xx,
    /// timeout). Only attempt entries carry it; the message goes back to
    /// its queue and a later attempt logs the outcome.
    Retrying,
}

impl DeliveryStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Skipped => "skipped",
            DeliveryStatus::Retrying => "retrying",
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryStatus {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sent" => Ok(DeliveryStatus::Sent),
            "failed" => Ok(DeliveryStatus::Failed),
            "skipped" => Ok(DeliveryStatus::Skipped),
            "retrying" => Ok(DeliveryStatus::Retrying),
            _ => Err("unknown delivery status"),
        }
    }
}

/// Identifies one notification: derived from the source event, the channel
/// and the template, so every attempt at the same notification (retries,
/// redeliveries) carries the same id, in the log and in its report.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct NotificationId(String);

impl NotificationId {
    pub fn derive(event_id: &EventId, channel: Channel, template: &str) -> Self {
        let digest = Sha256::digest(format!("{event_id}|{channel}|{template}").as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("ntf_{hex}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NotificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an entry lives. Every part comes from the source event (its time,
/// not the clock), so a retried delivery finds the entry of an earlier
/// attempt.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryKey {
    pub pk: String,
    pub sk: String,
}

const SK_PREFIX: &str = "DELIVERY#";
const ATTEMPT_PREFIX: &str = "ATTEMPT#";
/// Attempt entries are operational detail: kept a month, then expired by TTL.
const ATTEMPT_RETENTION: time::Duration = time::Duration::days(30);

fn rfc3339(t: OffsetDateTime) -> anyhow::Result<String> {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .context("formatting a delivery timestamp")
}

fn user_pk(user_id: UserId) -> String {
    format!("USER#{user_id}")
}

impl DeliveryKey {
    pub fn new(
        user_id: UserId,
        event_id: &EventId,
        channel: Channel,
        template: &str,
        at: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            pk: user_pk(user_id),
            sk: format!(
                "{SK_PREFIX}{}#{event_id}#{channel}#{template}",
                rfc3339(at)?
            ),
        })
    }
}

/// One delivery attempt's outcome, as the user's notification history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryEntry {
    pub event_id: EventId,
    pub user_id: UserId,
    pub channel: Channel,
    pub template: String,
    pub status: DeliveryStatus,
    /// Address, phone number, … (`None` for a team channel such as Discord,
    /// and for skipped deliveries, which resolve no address).
    pub recipient: Option<String>,
    pub subject: Option<String>,
    /// The start of the plain-text body, for the inbox.
    pub preview: Option<String>,
    pub provider_message_id: Option<String>,
    pub provider_response: String,
    /// S3 key of the archived rendered body (none when nothing was rendered).
    pub body_key: Option<String>,
    /// When the notified event occurred (part of the key).
    pub at: OffsetDateTime,
}

impl DeliveryEntry {
    pub fn id(&self) -> NotificationId {
        NotificationId::derive(&self.event_id, self.channel, &self.template)
    }

    pub fn key(&self) -> anyhow::Result<DeliveryKey> {
        DeliveryKey::new(
            self.user_id,
            &self.event_id,
            self.channel,
            &self.template,
            self.at,
        )
    }
}

/// The stored item. Besides the key it carries every field as a plain
/// attribute, and `gsi1pk`/`gsi1sk` so that an index can answer "what
/// happened to event X" without knowing the user.
pub fn delivery_item(entry: &DeliveryEntry, recorded_at: OffsetDateTime) -> anyhow::Result<Item> {
    let key = entry.key()?;
    let mut item: Item = [
        ("pk", s(key.pk)),
        ("sk", s(key.sk)),
        ("entity", s("delivery")),
        ("gsi1pk", s(format!("EVENT#{}", entry.event_id))),
        (
            "gsi1sk",
            s(format!("DELIVERY#{}#{}", entry.channel, entry.template)),
        ),
        ("notification_id", s(entry.id().as_str())),
        ("event_id", s(entry.event_id.as_str())),
        ("user_id", s(entry.user_id.to_string())),
        ("channel", s(entry.channel.as_str())),
        ("template", s(&entry.template)),
        ("status", s(entry.status.as_str())),
        ("provider_response", s(&entry.provider_response)),
        ("at", s(rfc3339(entry.at)?)),
        ("recorded_at", s(rfc3339(recorded_at)?)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let optional = [
        ("recipient", &entry.recipient),
        ("subject", &entry.subject),
        ("preview", &entry.preview),
        ("provider_message_id", &entry.provider_message_id),
        ("body_key", &entry.body_key),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            item.insert(name.to_owned(), s(v));
        }
    }
    Ok(item)
}

/// A failed attempt, kept beside the notification's entry (same partition,
/// `ATTEMPT#<entry key>#<attempt time>`): every attempt is in the log, while
/// the `DELIVERY#` entry, which decides whether a redelivery sends again,
/// only ever holds an outcome. The history endpoint reads `DELIVERY#` only.
pub fn attempt_item(entry: &DeliveryEntry, attempted_at: OffsetDateTime) -> anyhow::Result<Item> {
    let mut item = delivery_item(entry, attempted_at)?;
    let key = entry.key()?;
    let suffix = key.sk.strip_prefix(SK_PREFIX).unwrap_or(&key.sk);
    item.insert(
        "sk".to_owned(),
        s(format!(
            "{ATTEMPT_PREFIX}{suffix}#{}",
            rfc3339(attempted_at)?
        )),
    );
    item.insert("entity".to_owned(), s("attempt"));
    item.insert(
        "gsi1sk".to_owned(),
        s(format!(
            "ATTEMPT#{}#{}#{}",
            entry.channel,
            entry.template,
            rfc3339(attempted_at)?
        )),
    );
    item.insert(
        "expires_at".to_owned(),
        AttributeValue::N(
            (attempted_at + ATTEMPT_RETENTION)
                .unix_timestamp()
                .to_string(),
        ),
    );
    Ok(item)
}

/// What `record` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The entry (and its report) were written.
    New,
    /// An earlier attempt had logged this notification; nothing was written.
    AlreadyLogged,
}

pub trait DeliveryLog: Send + Sync {
    /// The status of the notification logged under `key`, if any.
    fn status(
        &self,
        key: &DeliveryKey,
    ) -> impl Future<Output = anyhow::Result<Option<DeliveryStatus>>> + Send;

    /// Writes `entry`, and `report` into the outbox, atomically, unless an
    /// entry exists under the same key: a retried delivery never logs twice
    /// nor emits a second report.
    fn record(
        &self,
        entry: &DeliveryEntry,
        report: Option<&RawEnvelope>,
    ) -> impl Future<Output = anyhow::Result<Recorded>> + Send;

    /// Logs one failed attempt (`entry.status` is `Retrying`); each attempt
    /// is its own item, so nothing is overwritten.
    fn record_attempt(
        &self,
        entry: &DeliveryEntry,
        attempted_at: OffsetDateTime,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// One entry of a user's notification history (`GET /notifications/me`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryView {
    pub id: NotificationId,
    pub channel: Channel,
    pub template: String,
    pub status: DeliveryStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
}

impl From<&DeliveryEntry> for DeliveryView {
    fn from(e: &DeliveryEntry) -> Self {
        Self {
            id: e.id(),
            channel: e.channel,
            template: e.template.clone(),
            status: e.status,
            created_at: e.at,
            subject: e.subject.clone(),
            preview: e.preview.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryPage {
    pub items: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("invalid pagination cursor")]
    BadCursor,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub trait DeliveryHistory: Send + Sync {
    /// The user's notifications, newest first; `cursor` is what the
    /// previous page returned.
    fn history(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<HistoryPage, HistoryError>> + Send;
}

/// Cursors carry the sort key of the last item, made opaque. The partition
/// is always the caller's, so a cursor cannot reach another user's items.
#[derive(Serialize, Deserialize)]
struct Cursor {
    sk: String,
}

fn encode_cursor(sk: &str) -> Option<String> {
    serde_json::to_vec(&Cursor { sk: sk.to_owned() })
        .ok()
        .map(|b| URL_SAFE_NO_PAD.encode(b))
}

fn decode_cursor(cursor: &str) -> Result<String, HistoryError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| HistoryError::BadCursor)?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| HistoryError::BadCursor)?;
    if !c.sk.starts_with(SK_PREFIX) || c.sk.len() > 1024 {
        return Err(HistoryError::BadCursor);
    }
    Ok(c.sk)
}

fn view_from_item(item: &Item) -> anyhow::Result<DeliveryView> {
    let event_id: EventId = serde_json::from_value(get_s(item, "event_id")?.into())?;
    let channel: Channel = get_s(item, "channel")?
        .parse()
        .map_err(anyhow::Error::msg)?;
    let template = get_s(item, "template")?.to_owned();
    let id = match get_opt_s(item, "notification_id")? {
        Some(id) => NotificationId(id.to_owned()),
        // Entries written before ids were stored: the id is derivable.
        None => NotificationId::derive(&event_id, channel, &template),
    };
    Ok(DeliveryView {
        id,
        channel,
        template,
        status: get_s(item, "status")?.parse().map_err(anyhow::Error::msg)?,
        created_at: OffsetDateTime::parse(get_s(item, "at")?, &Rfc3339)?,
        subject: get_opt_s(item, "subject")?.map(str::to_owned),
        preview: get_opt_s(item, "preview")?.map(str::to_owned),
    })
}

/// The delivery log in the notifications table.
#[derive(Clone)]
pub struct DynamoDeliveryLog {
    client: Client,
    table: String,
}

impl DynamoDeliveryLog {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

fn key_map(key: &DeliveryKey) -> HashMap<String, AttributeValue> {
    [("pk".to_owned(), s(&key.pk)), ("sk".to_owned(), s(&key.sk))]
        .into_iter()
        .collect()
}

impl DeliveryLog for DynamoDeliveryLog {
    async fn status(&self, key: &DeliveryKey) -> anyhow::Result<Option<DeliveryStatus>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .projection_expression("#status")
            .expression_attribute_names("#status", "status")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("reading the delivery log: {}", DisplayErrorContext(e)))?;
        out.item
            .map(|item| get_s(&item, "status")?.parse().map_err(anyhow::Error::msg))
            .transpose()
    }

    async fn record(
        &self,
        entry: &DeliveryEntry,
        report: Option<&RawEnvelope>,
    ) -> anyhow::Result<Recorded> {
        let now = OffsetDateTime::now_utc();
        let item = delivery_item(entry, now)?;
        const FIRST_ONLY: &str = "attribute_not_exists(pk)";
        let Some(report) = report else {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(FIRST_ONLY)
                .send()
                .await;
            return match result {
                Ok(_) => Ok(Recorded::New),
                Err(e) if e.is_condition_failed() => Ok(Recorded::AlreadyLogged),
                Err(e) => Err(anyhow::anyhow!(
                    "recording the delivery: {}",
                    DisplayErrorContext(e)
                )),
            };
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(FIRST_ONLY)
            .build()?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(outbox_put(&self.table, report, now)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Recorded::New),
            // The first action is the delivery item: its condition failing
            // means an earlier attempt logged (and reported) this notification.
            Err(e)
                if cancelled_conditions(&e)
                    .is_some_and(|c| c.first().is_some_and(Option::is_some)) =>
            {
                Ok(Recorded::AlreadyLogged)
            }
            Err(e) => Err(anyhow::anyhow!(
                "recording the delivery and its report: {}",
                DisplayErrorContext(e)
            )),
        }
    }

    async fn record_attempt(
        &self,
        entry: &DeliveryEntry,
        attempted_at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attempt_item(entry, attempted_at)?))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("recording the attempt: {}", DisplayErrorContext(e)))?;
        Ok(())
    }
}

impl DeliveryHistory for DynamoDeliveryLog {
    async fn history(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<HistoryPage, HistoryError> {
        let pk = user_pk(user_id);
        let start = cursor
            .map(|c| decode_cursor(c).map(|sk| key_map(&DeliveryKey { pk: pk.clone(), sk })))
            .transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":prefix", s(SK_PREFIX))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("reading the delivery history: {}", DisplayErrorContext(e))
            })?;
        let items = out
            .items()
            .iter()
            .map(view_from_item)
            .collect::<anyhow::Result<Vec<_>>>()
            .context("reading a delivery item")?;
        let next_cursor = out
            .last_evaluated_key()
            .and_then(|k| k.get("sk"))
            .and_then(|v| v.as_s().ok())
            .and_then(|sk| encode_cursor(sk));
        Ok(HistoryPage { items, next_cursor })
    }
}

/// Keeps entries under the same keys as the DynamoDB adapter, with the
/// same first-write-wins rule, and the reports it would have put in the
/// outbox. Clones share their state.
#[derive(Clone, Default)]
pub struct InMemoryDeliveryLog {
    state: Arc<Mutex<LogState>>,
}

#[derive(Default)]
struct LogState {
    entries: BTreeMap<DeliveryKey, DeliveryEntry>,
    reports: Vec<RawEnvelope>,
    attempts: Vec<DeliveryEntry>,
}

impl InMemoryDeliveryLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry, in key order (per user, oldest first).
    pub fn entries(&self) -> Vec<DeliveryEntry> {
        self.lock().entries.values().cloned().collect()
    }

    /// Failed attempts, in order.
    pub fn attempts(&self) -> Vec<DeliveryEntry> {
        self.lock().attempts.clone()
    }

    /// Reports written to the outbox, in order.
    pub fn reports(&self) -> Vec<RawEnvelope> {
        self.lock().reports.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl DeliveryLog for InMemoryDeliveryLog {
    async fn status(&self, key: &DeliveryKey) -> anyhow::Result<Option<DeliveryStatus>> {
        Ok(self.lock().entries.get(key).map(|e| e.status))
    }

    async fn record(
        &self,
        entry: &DeliveryEntry,
        report: Option<&RawEnvelope>,
    ) -> anyhow::Result<Recorded> {
        let key = entry.key()?;
        let mut state = self.lock();
        if state.entries.contains_key(&key) {
            return Ok(Recorded::AlreadyLogged);
        }
        state.entries.insert(key, entry.clone());
        state.reports.extend(report.cloned());
        Ok(Recorded::New)
    }

    async fn record_attempt(
        &self,
        entry: &DeliveryEntry,
        _attempted_at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        self.lock().attempts.push(entry.clone());
        Ok(())
    }
}

impl DeliveryHistory for InMemoryDeliveryLog {
    async fn history(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<HistoryPage, HistoryError> {
        let pk = user_pk(user_id);
        let before = cursor.map(decode_cursor).transpose()?;
        let state = self.lock();
        let matching: Vec<(&DeliveryKey, &DeliveryEntry)> = state
            .entries
            .iter()
            .rev()
            .filter(|(k, _)| k.pk == pk && before.as_ref().is_none_or(|b| k.sk < *b))
            .take(limit as usize)
            .collect();
        // Like DynamoDB: a full page has a cursor, even if nothing follows.
        let next_cursor = (matching.len() == limit as usize)
            .then(|| matching.last().and_then(|(k, _)| encode_cursor(&k.sk)))
            .flatten();
        Ok(HistoryPage {
            items: matching
                .iter()
                .map(|(_, e)| DeliveryView::from(*e))
                .collect(),
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput, PutItemOutput};
    use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
    use aws_sdk_dynamodb::operation::transact_write_items::{
        TransactWriteItemsError, TransactWriteItemsInput, TransactWriteItemsOutput,
    };
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, TransactionCanceledException,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use contracts::CorrelationId;
    use contracts::events::NotificationSent;
    use contracts::{DomainEvent, EventEnvelope};
    use time::macros::datetime;

    use super::*;

    fn entry(status: DeliveryStatus) -> DeliveryEntry {
        DeliveryEntry {
            event_id: EventId::new(),
            user_id: UserId::new(),
            channel: Channel::Email,
            template: "welcome".into(),
            status,
            recipient: Some("ada@example.com".into()),
            subject: Some("Welcome, Ada!".into()),
            preview: Some("Welcome, Ada! Your account…".into()),
            provider_message_id: None,
            provider_response: "accepted by ses".into(),
            body_key: Some("welcome/2026/11/21/e.html".into()),
            at: datetime!(2026-11-21 11:00 +01:00),
        }
    }

    fn report(e: &DeliveryEntry) -> RawEnvelope {
        EventEnvelope::new(
            NotificationSent {
                notification_id: e.id().to_string(),
                user_id: e.user_id,
                channel: e.channel.to_string(),
                template: e.template.clone(),
                source_event_id: e.event_id.to_string(),
                provider_message_id: None,
                sent_at: e.at,
            },
            CorrelationId::new(),
            e.at,
        )
        .into_raw()
        .expect("raw")
    }

    fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
        match item.get(name) {
            Some(AttributeValue::S(v)) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn key_sorts_by_event_time_in_utc() {
        let e = entry(DeliveryStatus::Sent);
        let key = e.key().expect("key");
        assert_eq!(key.pk, format!("USER#{}", e.user_id));
        assert_eq!(
            key.sk,
            format!("DELIVERY#2026-11-21T10:00:00Z#{}#email#welcome", e.event_id)
        );
    }

    #[test]
    fn notification_ids_are_deterministic_per_event_channel_and_template() {
        let event = EventId::new();
        let id = NotificationId::derive(&event, Channel::Email, "welcome");
        assert_eq!(
            id,
            NotificationId::derive(&event, Channel::Email, "welcome")
        );
        assert_ne!(
            id,
            NotificationId::derive(&event, Channel::Discord, "welcome")
        );
        assert_ne!(id, NotificationId::derive(&event, Channel::Email, "other"));
        assert_ne!(
            id,
            NotificationId::derive(&EventId::new(), Channel::Email, "welcome")
        );
        assert!(
            id.as_str().starts_with("ntf_") && id.as_str().len() == 36,
            "{id}"
        );
    }

    #[test]
    fn item_carries_the_lookup_attributes() {
        let mut e = entry(DeliveryStatus::Sent);
        e.provider_message_id = Some("ses-1".into());
        let item = delivery_item(&e, datetime!(2026-11-21 10:00:05 UTC)).expect("item");
        let event_key = format!("EVENT#{}", e.event_id);
        assert_eq!(attr(&item, "gsi1pk"), Some(event_key.as_str()));
        assert_eq!(attr(&item, "gsi1sk"), Some("DELIVERY#email#welcome"));
        assert_eq!(attr(&item, "status"), Some("sent"));
        assert_eq!(attr(&item, "template"), Some("welcome"));
        assert_eq!(attr(&item, "recipient"), Some("ada@example.com"));
        assert_eq!(attr(&item, "provider_message_id"), Some("ses-1"));
        assert_eq!(attr(&item, "notification_id"), Some(e.id().as_str()));
        assert_eq!(attr(&item, "recorded_at"), Some("2026-11-21T10:00:05Z"));
        assert_eq!(attr(&item, "at"), Some("2026-11-21T10:00:00Z"));
    }

    #[test]
    fn a_skipped_entry_has_no_optional_attributes() {
        let mut e = entry(DeliveryStatus::Skipped);
        e.recipient = None;
        e.subject = None;
        e.preview = None;
        e.body_key = None;
        let item = delivery_item(&e, OffsetDateTime::now_utc()).expect("item");
        assert_eq!(attr(&item, "status"), Some("skipped"));
        for absent in [
            "recipient",
            "subject",
            "preview",
            "body_key",
            "provider_message_id",
        ] {
            assert!(!item.contains_key(absent), "{absent}");
        }
    }

    #[test]
    fn stored_items_read_back_as_views() {
        let e = entry(DeliveryStatus::Failed);
        let item = delivery_item(&e, OffsetDateTime::now_utc()).expect("item");
        let view = view_from_item(&item).expect("view");
        assert_eq!(view, DeliveryView::from(&e));
        let mut legacy = item.clone();
        legacy.remove("notification_id");
        assert_eq!(view_from_item(&legacy).expect("view").id, e.id());
    }

    #[tokio::test]
    async fn in_memory_log_keeps_the_first_write_and_its_report_only() {
        let log = InMemoryDeliveryLog::new();
        let first = entry(DeliveryStatus::Sent);
        let mut retry = first.clone();
        retry.status = DeliveryStatus::Failed;

        let r1 = log
            .record(&first, Some(&report(&first)))
            .await
            .expect("recorded");
        let r2 = log
            .record(&retry, Some(&report(&retry)))
            .await
            .expect("recorded");

        assert_eq!((r1, r2), (Recorded::New, Recorded::AlreadyLogged));
        assert_eq!(log.entries(), vec![first.clone()]);
        assert_eq!(log.reports().len(), 1);
        assert_eq!(
            log.status(&first.key().expect("key"))
                .await
                .expect("status"),
            Some(DeliveryStatus::Sent)
        );
    }

    #[tokio::test]
    async fn in_memory_history_pages_newest_first_within_one_user() {
        let log = InMemoryDeliveryLog::new();
        let user = UserId::new();
        let base = datetime!(2026-11-21 10:00 UTC);
        for minute in 0..5 {
            let mut e = entry(DeliveryStatus::Sent);
            e.user_id = user;
            e.at = base + time::Duration::minutes(minute);
            log.record(&e, None).await.expect("recorded");
        }
        log.record(&entry(DeliveryStatus::Sent), None)
            .await
            .expect("someone else's");

        let first = log.history(user, None, 2).await.expect("page 1");
        let times: Vec<_> = first.items.iter().map(|v| v.created_at.minute()).collect();
        assert_eq!(times, vec![4, 3]);
        let cursor = first.next_cursor.expect("more");
        let second = log.history(user, Some(&cursor), 2).await.expect("page 2");
        let times: Vec<_> = second.items.iter().map(|v| v.created_at.minute()).collect();
        assert_eq!(times, vec![2, 1]);
        let third = log
            .history(user, second.next_cursor.as_deref(), 2)
            .await
            .expect("page 3");
        assert_eq!(third.items.len(), 1);
        assert_eq!(third.next_cursor, None);
        assert!(matches!(
            log.history(user, Some("bogus"), 2).await,
            Err(HistoryError::BadCursor)
        ));
    }

    #[test]
    fn cursors_are_opaque_and_checked() {
        let c = encode_cursor("DELIVERY#2026#x").expect("cursor");
        assert!(!c.contains("DELIVERY"));
        assert_eq!(decode_cursor(&c).expect("decodes"), "DELIVERY#2026#x");
        let foreign = encode_cursor("PREFERENCES").expect("cursor");
        assert!(matches!(
            decode_cursor(&foreign),
            Err(HistoryError::BadCursor)
        ));
        assert!(matches!(decode_cursor("!!"), Err(HistoryError::BadCursor)));
    }

    #[tokio::test]
    async fn dynamo_log_writes_entry_and_report_in_one_conditional_transaction() {
        let seen: Arc<Mutex<Option<TransactWriteItemsInput>>> = Arc::default();
        let capture = seen.clone();
        let rule = mock!(Client::transact_write_items)
            .match_requests(move |req| {
                *capture.lock().expect("lock") = Some(req.clone());
                true
            })
            .then_output(|| TransactWriteItemsOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let log = DynamoDeliveryLog::new(client, "notifications".into());
        let e = entry(DeliveryStatus::Sent);
        let r = report(&e);

        assert_eq!(
            log.record(&e, Some(&r)).await.expect("recorded"),
            Recorded::New
        );

        let input = seen.lock().expect("lock").clone().expect("captured");
        let actions = input.transact_items();
        assert_eq!(actions.len(), 2);
        let delivery = actions[0].put().expect("delivery put");
        assert_eq!(delivery.table_name(), "notifications");
        assert_eq!(
            delivery.condition_expression(),
            Some("attribute_not_exists(pk)")
        );
        let key = e.key().expect("key");
        assert_eq!(attr(delivery.item(), "sk"), Some(key.sk.as_str()));
        let outbox = actions[1].put().expect("outbox put");
        assert_eq!(attr(outbox.item(), "kind"), Some("outbox"));
        assert_eq!(
            attr(outbox.item(), "event_type"),
            Some(NotificationSent::TYPE)
        );
    }

    #[tokio::test]
    async fn dynamo_log_treats_a_failed_delivery_condition_as_already_logged() {
        let rule = mock!(Client::transact_write_items).then_error(|| {
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .cancellation_reasons(
                        CancellationReason::builder()
                            .code("ConditionalCheckFailed")
                            .build(),
                    )
                    .cancellation_reasons(CancellationReason::builder().code("None").build())
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let log = DynamoDeliveryLog::new(client, "notifications".into());
        let e = entry(DeliveryStatus::Sent);

        let recorded = log.record(&e, Some(&report(&e))).await.expect("no error");

        assert_eq!(recorded, Recorded::AlreadyLogged);
    }

    #[tokio::test]
    async fn dynamo_log_reports_other_transaction_failures() {
        let rule = mock!(Client::transact_write_items).then_error(|| {
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .cancellation_reasons(CancellationReason::builder().code("None").build())
                    .cancellation_reasons(
                        CancellationReason::builder()
                            .code("ConditionalCheckFailed")
                            .build(),
                    )
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let log = DynamoDeliveryLog::new(client, "notifications".into());
        let e = entry(DeliveryStatus::Sent);

        assert!(log.record(&e, Some(&report(&e))).await.is_err());
    }

    #[tokio::test]
    async fn a_skipped_entry_is_a_conditional_put_without_report() {
        let seen: Arc<Mutex<Option<PutItemInput>>> = Arc::default();
        let capture = seen.clone();
        let ok = mock!(Client::put_item)
            .match_requests(move |req| {
                *capture.lock().expect("lock") = Some(req.clone());
                true
            })
            .then_output(|| PutItemOutput::builder().build());
        let exists = mock!(Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&ok, &exists]);
        let log = DynamoDeliveryLog::new(client, "notifications".into());
        let e = entry(DeliveryStatus::Skipped);

        assert_eq!(log.record(&e, None).await.expect("first"), Recorded::New);
        assert_eq!(
            log.record(&e, None).await.expect("second"),
            Recorded::AlreadyLogged
        );
        let input = seen.lock().expect("lock").clone().expect("captured");
        assert_eq!(
            input.condition_expression(),
            Some("attribute_not_exists(pk)")
        );
    }

    #[tokio::test]
    async fn dynamo_status_reads_the_logged_status() {
        let rule = mock!(Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item("status", AttributeValue::S("failed".into()))
                .build()
        });
        let missing = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule, &missing]);
        let log = DynamoDeliveryLog::new(client, "notifications".into());
        let key = entry(DeliveryStatus::Sent).key().expect("key");

        assert_eq!(
            log.status(&key).await.expect("read"),
            Some(DeliveryStatus::Failed)
        );
        assert_eq!(log.status(&key).await.expect("read"), None);
    }

    #[tokio::test]
    async fn dynamo_history_queries_the_callers_partition_newest_first() {
        let seen: Arc<Mutex<Vec<QueryInput>>> = Arc::default();
        let capture = seen.clone();
        let e = entry(DeliveryStatus::Sent);
        let item = delivery_item(&e, OffsetDateTime::now_utc()).expect("item");
        let last_sk = e.key().expect("key").sk;
        let page_item = item.clone();
        let rule = mock!(Client::query)
            .match_requests(move |req| {
                capture.lock().expect("lock").push(req.clone());
                true
            })
            .then_output(move || {
                QueryOutput::builder()
                    .items(page_item.clone())
                    .last_evaluated_key("pk", AttributeValue::S("USER#x".into()))
                    .last_evaluated_key("sk", AttributeValue::S(last_sk.clone()))
                    .build()
            });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
        let log = DynamoDeliveryLog::new(client, "notifications".into());

        let page = log.history(e.user_id, None, 1).await.expect("page");
        assert_eq!(page.items, vec![DeliveryView::from(&e)]);
        let cursor = page.next_cursor.expect("cursor");
        log.history(e.user_id, Some(&cursor), 1)
            .await
            .expect("page 2");

        let inputs = seen.lock().expect("lock").clone();
        let first = &inputs[0];
        assert_eq!(first.scan_index_forward(), Some(false));
        assert_eq!(first.limit(), Some(1));
        assert_eq!(
            first.key_condition_expression(),
            Some("pk = :pk AND begins_with(sk, :prefix)")
        );
        let pk = format!("USER#{}", e.user_id);
        let values = first.expression_attribute_values().expect("values");
        assert_eq!(values[":pk"].as_s().ok(), Some(&pk));
        assert_eq!(first.exclusive_start_key(), None);
        let start = inputs[1].exclusive_start_key().expect("start key");
        assert_eq!(
            start["pk"].as_s().ok(),
            Some(&pk),
            "always the caller's partition"
        );
        assert_eq!(start["sk"].as_s().ok(), Some(&e.key().expect("key").sk));
    }
}
