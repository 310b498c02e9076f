use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use contracts::{Email, EventId, UserId};
use platform::dynamo::{Item, s};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
}

impl Channel {
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Email => "email",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Sent,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One delivery attempt's outcome, as the user's notification history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryEntry {
    pub event_id: EventId,
    pub user_id: UserId,
    pub recipient: Email,
    pub channel: Channel,
    pub template: &'static str,
    pub status: DeliveryStatus,
    pub provider_message_id: Option<String>,
    pub provider_response: String,
    /// S3 key of the archived rendered body.
    pub body_key: String,
    /// When the notified event occurred. It keys the entry, so it must come
    /// from the event and not from the clock: a retried delivery then
    /// overwrites its entry instead of adding a second one.
    pub at: OffsetDateTime,
}

pub trait DeliveryLog: Send + Sync {
    fn record(&self, entry: &DeliveryEntry) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// `(pk, sk)` of an entry: the user's partition, sorted by time, one item
/// per event and channel.
pub fn delivery_key(entry: &DeliveryEntry) -> anyhow::Result<(String, String)> {
    let at = entry
        .at
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .context("formatting the delivery time")?;
    Ok((
        format!("USER#{}", entry.user_id),
        format!("DELIVERY#{at}#{}#{}", entry.event_id, entry.channel),
    ))
}

/// The stored item. Besides the key it carries every field as a plain
/// attribute, and `gsi1pk`/`gsi1sk` so that an index can answer "what
/// happened to event X" without knowing the user.
pub fn delivery_item(entry: &DeliveryEntry, recorded_at: OffsetDateTime) -> anyhow::Result<Item> {
    let (pk, sk) = delivery_key(entry)?;
    let rfc3339 = |t: OffsetDateTime| {
        t.to_offset(time::UtcOffset::UTC)
            .format(&Rfc3339)
            .context("formatting a delivery timestamp")
    };
    let mut item: Item = [
        ("pk", s(pk)),
        ("sk", s(sk)),
        ("entity", s("delivery")),
        ("gsi1pk", s(format!("EVENT#{}", entry.event_id))),
        ("gsi1sk", s(format!("DELIVERY#{}", entry.channel))),
        ("event_id", s(entry.event_id.as_str())),
        ("user_id", s(entry.user_id.to_string())),
        ("recipient", s(entry.recipient.as_str())),
        ("channel", s(entry.channel.as_str())),
        ("template", s(entry.template)),
        ("status", s(entry.status.as_str())),
        ("provider_response", s(&entry.provider_response)),
        ("body_key", s(&entry.body_key)),
        ("at", s(rfc3339(entry.at)?)),
        ("recorded_at", s(rfc3339(recorded_at)?)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(id) = &entry.provider_message_id {
        item.insert("provider_message_id".to_owned(), s(id));
    }
    Ok(item)
}

/// Writes entries to the notifications table. A plain put: the key is
/// derived from the event, so writing the same delivery twice leaves one item.
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

impl DeliveryLog for DynamoDeliveryLog {
    async fn record(&self, entry: &DeliveryEntry) -> anyhow::Result<()> {
        let item = delivery_item(entry, OffsetDateTime::now_utc())?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("recording the delivery: {}", DisplayErrorContext(e)))?;
        Ok(())
    }
}

/// Keeps entries under the same key as the DynamoDB adapter, so a test sees
/// the same overwrite-on-retry behaviour.
#[derive(Clone, Default)]
pub struct InMemoryDeliveryLog {
    entries: Arc<Mutex<BTreeMap<(String, String), DeliveryEntry>>>,
}

impl InMemoryDeliveryLog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn entries(&self) -> Vec<DeliveryEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

impl DeliveryLog for InMemoryDeliveryLog {
    async fn record(&self, entry: &DeliveryEntry) -> anyhow::Result<()> {
        let key = delivery_key(entry)?;
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, entry.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use time::macros::datetime;

    use super::*;

    fn entry(status: DeliveryStatus) -> DeliveryEntry {
        DeliveryEntry {
            event_id: EventId::new(),
            user_id: UserId::new(),
            recipient: Email::parse("ada@example.com").expect("valid"),
            channel: Channel::Email,
            template: "welcome",
            status,
            provider_message_id: None,
            provider_response: "accepted by ses".into(),
            body_key: "welcome/2026/11/21/e.html".into(),
            at: datetime!(2026-11-21 11:00 +01:00),
        }
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
        let (pk, sk) = delivery_key(&e).expect("key");
        assert_eq!(pk, format!("USER#{}", e.user_id));
        assert_eq!(
            sk,
            format!("DELIVERY#2026-11-21T10:00:00Z#{}#email", e.event_id)
        );
    }

    #[test]
    fn item_carries_the_lookup_attributes() {
        let mut e = entry(DeliveryStatus::Sent);
        e.provider_message_id = Some("ses-1".into());
        let item = delivery_item(&e, datetime!(2026-11-21 10:00:05 UTC)).expect("item");
        let event_key = format!("EVENT#{}", e.event_id);
        assert_eq!(attr(&item, "gsi1pk"), Some(event_key.as_str()));
        assert_eq!(attr(&item, "gsi1sk"), Some("DELIVERY#email"));
        assert_eq!(attr(&item, "status"), Some("sent"));
        assert_eq!(attr(&item, "template"), Some("welcome"));
        assert_eq!(attr(&item, "recipient"), Some("ada@example.com"));
        assert_eq!(attr(&item, "provider_message_id"), Some("ses-1"));
        assert_eq!(attr(&item, "recorded_at"), Some("2026-11-21T10:00:05Z"));
    }

    #[test]
    fn a_failed_entry_has_no_message_id_attribute() {
        let item =
            delivery_item(&entry(DeliveryStatus::Failed), OffsetDateTime::now_utc()).expect("item");
        assert_eq!(attr(&item, "status"), Some("failed"));
        assert!(!item.contains_key("provider_message_id"));
    }

    #[tokio::test]
    async fn in_memory_log_overwrites_a_retried_delivery() {
        let log = InMemoryDeliveryLog::new();
        let first = entry(DeliveryStatus::Sent);
        log.record(&first).await.expect("recorded");
        log.record(&first).await.expect("recorded again");
        assert_eq!(log.entries(), vec![first]);
    }

    #[tokio::test]
    async fn dynamo_log_puts_one_item_under_the_derived_key() {
        let seen: Arc<Mutex<Option<PutItemInput>>> = Arc::default();
        let capture = seen.clone();
        let rule = mock!(Client::put_item)
            .match_requests(move |req| {
                *capture.lock().expect("lock") = Some(req.clone());
                true
            })
            .then_output(|| PutItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let log = DynamoDeliveryLog::new(client, "notifications".into());
        let e = entry(DeliveryStatus::Sent);

        log.record(&e).await.expect("recorded");

        let input = seen
            .lock()
            .expect("lock")
            .clone()
            .expect("request captured");
        assert_eq!(input.table_name(), Some("notifications"));
        assert_eq!(
            input.condition_expression(),
            None,
            "a retry must overwrite, not fail"
        );
        let item = input.item().expect("item");
        let (pk, sk) = delivery_key(&e).expect("key");
        assert_eq!(attr(item, "pk"), Some(pk.as_str()));
        assert_eq!(attr(item, "sk"), Some(sk.as_str()));
    }
}
