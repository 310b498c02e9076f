//! The steps every notification consumer takes, over the ports, in one place:
//!
//! 1. [`Deliveries::begin`]: if this notification was logged by an earlier
//!    attempt, stop (a retry after a crash sends nothing twice); if the user
//!    opted out of the channel, log it as `skipped` and stop.
//! 2. The consumer resolves the recipient and renders the message.
//! 3. [`Deliveries::deliver`]: archive the rendered bodies, hand the message
//!    to the provider and log the outcome together with its delivery report
//!    (`notification.sent` / `notification.failed`) in one transaction.
//!    A permanent refusal is logged as `failed` and the event is done; a
//!    retryable failure logs nothing and goes back to the queue.

use std::future::Future;

use anyhow::{Context, anyhow};
use consumer_kit::HandlerError;
use contracts::events::{NotificationFailed, NotificationSent};
use contracts::{CorrelationId, EventEnvelope, EventId, RawEnvelope, UserId};
use time::OffsetDateTime;

use crate::archive::BodyArchive;
use crate::delivery_log::{
    Channel, DeliveryEntry, DeliveryKey, DeliveryLog, DeliveryStatus, NotificationId, Recorded,
};
use crate::discord::DiscordMessage;
use crate::email::EmailMessage;
use crate::preferences::PreferenceStore;
use crate::provider::{DeliveryReceipt, ProviderError, snippet};

const PREVIEW_CHARS: usize = 140;

/// One notification a consumer wants to send about an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub event_id: EventId,
    pub correlation_id: CorrelationId,
    /// When the source event occurred; it orders and keys the log entry.
    pub occurred_at: OffsetDateTime,
    pub user_id: UserId,
    pub channel: Channel,
    pub template: &'static str,
}

impl Notification {
    pub fn about<T>(
        event: &EventEnvelope<T>,
        user_id: UserId,
        channel: Channel,
        template: &'static str,
    ) -> Self {
        Self {
            event_id: event.id.clone(),
            correlation_id: event.correlation_id.clone(),
            occurred_at: event.occurred_at,
            user_id,
            channel,
            template,
        }
    }

    pub fn id(&self) -> NotificationId {
        NotificationId::derive(&self.event_id, self.channel, self.template)
    }

    fn key(&self) -> anyhow::Result<DeliveryKey> {
        DeliveryKey::new(
            self.user_id,
            &self.event_id,
            self.channel,
            self.template,
            self.occurred_at,
        )
    }

    /// `<template>/<yyyy>/<mm>/<dd>/<event id>.<extension>`, by the UTC day
    /// of the event, so a retry overwrites the same objects.
    fn body_key(&self, extension: &str) -> String {
        let day = self.occurred_at.to_offset(time::UtcOffset::UTC).date();
        format!(
            "{}/{:04}/{:02}/{:02}/{}.{extension}",
            self.template,
            day.year(),
            u8::from(day.month()),
            day.day(),
            self.event_id
        )
    }

    fn entry(&self, status: DeliveryStatus, provider_response: String) -> DeliveryEntry {
        DeliveryEntry {
            event_id: self.event_id.clone(),
            user_id: self.user_id,
            channel: self.channel,
            template: self.template.to_owned(),
            status,
            recipient: None,
            subject: None,
            preview: None,
            provider_message_id: None,
            provider_response,
            body_key: None,
            at: self.occurred_at,
        }
    }
}

/// Event ids become object keys; anything but a plain id would scatter
/// objects across unexpected prefixes, so it is refused.
fn check_event_id(id: &EventId) -> Result<(), HandlerError> {
    let id = id.as_str();
    let safe = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if safe {
        Ok(())
    } else {
        Err(HandlerError::Permanent(anyhow!(
            "event id {id:?} cannot be used in an object key (expected a UUID)"
        )))
    }
}

/// A notification that passed [`Deliveries::begin`] and may be sent.
#[derive(Debug)]
pub struct Pending(Notification);

impl Pending {
    pub fn notification(&self) -> &Notification {
        &self.0
    }
}

/// One rendered body to archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub extension: &'static str,
    pub content_type: &'static str,
    pub content: String,
}

/// What was rendered for one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub recipient: Option<String>,
    pub subject: Option<String>,
    /// The plain text the inbox preview is cut from.
    pub plain_text: String,
    /// Archived in order; the first one's key is logged.
    pub bodies: Vec<Body>,
}

impl Content {
    pub fn email(message: &EmailMessage) -> Self {
        Self {
            recipient: Some(message.to.to_string()),
            subject: Some(message.subject.clone()),
            plain_text: message.text.clone(),
            bodies: vec![
                Body {
                    extension: "html",
                    content_type: "text/html; charset=utf-8",
                    content: message.html.clone(),
                },
                Body {
                    extension: "txt",
                    content_type: "text/plain; charset=utf-8",
                    content: message.text.clone(),
                },
            ],
        }
    }

    pub fn discord(message: &DiscordMessage) -> Self {
        Self {
            recipient: None,
            subject: None,
            plain_text: message.content.clone(),
            bodies: vec![Body {
                extension: "md",
                content_type: "text/markdown; charset=utf-8",
                content: message.content.clone(),
            }],
        }
    }

    pub fn text(recipient: Option<String>, text: &str) -> Self {
        Self {
            recipient,
            subject: None,
            plain_text: text.to_owned(),
            bodies: vec![Body {
                extension: "txt",
                content_type: "text/plain; charset=utf-8",
                content: text.to_owned(),
            }],
        }
    }
}

/// The delivery pipeline over its three ports.
pub struct Deliveries<L, A, P> {
    log: L,
    archive: A,
    preferences: P,
}

impl<L, A, P> Deliveries<L, A, P>
where
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    pub fn new(log: L, archive: A, preferences: P) -> Self {
        Self {
            log,
            archive,
            preferences,
        }
    }

    /// `None` when there is nothing to send: the notification was handled
    /// by an earlier attempt, or the user opted out (logged as `skipped`).
    pub async fn begin(&self, notification: Notification) -> Result<Option<Pending>, HandlerError> {
        check_event_id(&notification.event_id)?;
        let key = notification.key()?;
        if let Some(status) = self
            .log
            .status(&key)
            .await
            .context("checking the delivery log")?
        {
            tracing::info!(
                notification_id = %notification.id(),
                %status,
                "notification already handled by an earlier attempt"
            );
            return Ok(None);
        }
        let preferences = self
            .preferences
            .get(notification.user_id)
            .await
            .context("reading notification preferences")?;
        if !preferences.allows(notification.channel) {
            let entry = notification.entry(
                DeliveryStatus::Skipped,
                format!("the user opted out of {}", notification.channel),
            );
            self.log
                .record(&entry, None)
                .await
                .context("logging the skipped notification")?;
            tracing::info!(
                notification_id = %notification.id(),
                channel = %notification.channel,
                template = notification.template,
                status = %DeliveryStatus::Skipped,
                "user opted out; nothing sent"
            );
            return Ok(None);
        }
        Ok(Some(Pending(notification)))
    }

    /// Archives, sends (awaiting `send`), logs and reports. Returns the
    /// logged status; `Err(Retryable)` when the provider could not be
    /// reached, with nothing logged.
    pub async fn deliver<S>(
        &self,
        pending: Pending,
        content: Content,
        send: S,
    ) -> Result<DeliveryStatus, HandlerError>
    where
        S: Future<Output = Result<DeliveryReceipt, ProviderError>> + Send,
    {
        let notification = pending.0;
        let mut body_key = None;
        for body in &content.bodies {
            let key = notification.body_key(body.extension);
            self.archive
                .put(&key, body.content.clone().into_bytes(), body.content_type)
                .await
                .with_context(|| format!("archiving the {} body", body.extension))?;
            body_key.get_or_insert(key);
        }

        let outcome = send.await;
        let now = OffsetDateTime::now_utc();
        let id = notification.id();
        let (entry, report) = match outcome {
            Ok(receipt) => {
                let mut entry = notification.entry(
                    DeliveryStatus::Sent,
                    format!("accepted by {}", receipt.provider),
                );
                entry.provider_message_id = receipt.message_id.clone();
                let report = envelope(
                    NotificationSent {
                        notification_id: id.to_string(),
                        user_id: notification.user_id,
                        channel: notification.channel.to_string(),
                        template: notification.template.to_owned(),
                        source_event_id: notification.event_id.to_string(),
                        provider_message_id: receipt.message_id,
                        sent_at: now,
                    },
                    &notification,
                    now,
                )?;
                (entry, report)
            }
            Err(ProviderError::Retryable(reason)) => {
                let attempt = DeliveryEntry {
                    recipient: content.recipient,
                    subject: content.subject,
                    body_key,
                    ..notification.entry(DeliveryStatus::Retrying, reason.clone())
                };
                // The attempt log is a record, not a gate: failing to write
                // it must not turn a retry into something else.
                if let Err(e) = self.log.record_attempt(&attempt, now).await {
                    tracing::warn!(notification_id = %id, error = %e, "could not log the failed attempt");
                }
                return Err(HandlerError::Retryable(anyhow!(
                    "sending {} by {}: {reason}",
                    notification.template,
                    notification.channel
                )));
            }
            Err(ProviderError::Permanent(reason)) => {
                tracing::warn!(
                    notification_id = %id,
                    %reason,
                    "provider refused the notification; logging it as failed"
                );
                let entry = notification.entry(DeliveryStatus::Failed, reason.clone());
                let report = envelope(
                    NotificationFailed {
                        notification_id: id.to_string(),
                        user_id: notification.user_id,
                        channel: notification.channel.to_string(),
                        template: notification.template.to_owned(),
                        source_event_id: notification.event_id.to_string(),
                        reason,
                        failed_at: now,
                    },
                    &notification,
                    now,
                )?;
                (entry, report)
            }
        };
        let entry = DeliveryEntry {
            recipient: content.recipient,
            subject: content.subject,
            preview: Some(snippet(&content.plain_text, PREVIEW_CHARS)),
            body_key,
            ..entry
        };
        let recorded = self
            .log
            .record(&entry, Some(&report))
            .await
            .context("logging the delivery and its report")?;
        if recorded == Recorded::AlreadyLogged {
            tracing::info!(notification_id = %id, "an earlier attempt logged this notification already");
        }
        tracing::info!(
            notification_id = %id,
            channel = %entry.channel,
            template = %entry.template,
            status = %entry.status,
            "notification handled"
        );
        Ok(entry.status)
    }
}

fn envelope<T: contracts::DomainEvent>(
    data: T,
    notification: &Notification,
    now: OffsetDateTime,
) -> Result<RawEnvelope, HandlerError> {
    EventEnvelope::new(data, notification.correlation_id.clone(), now)
        .into_raw()
        .map_err(|e| HandlerError::Permanent(anyhow!("encoding the delivery report: {e}")))
}

#[cfg(test)]
mod tests {
    use contracts::events::UserRegistered;
    use contracts::{DomainEvent, Email, PersonName};
    use time::macros::datetime;

    use super::*;
    use crate::archive::InMemoryBodyArchive;
    use crate::delivery_log::InMemoryDeliveryLog;
    use crate::preferences::InMemoryPreferenceStore;

    type TestDeliveries =
        Deliveries<InMemoryDeliveryLog, InMemoryBodyArchive, InMemoryPreferenceStore>;

    struct World {
        log: InMemoryDeliveryLog,
        archive: InMemoryBodyArchive,
        deliveries: TestDeliveries,
    }

    fn world(preferences: InMemoryPreferenceStore) -> World {
        let log = InMemoryDeliveryLog::new();
        let archive = InMemoryBodyArchive::new();
        World {
            deliveries: Deliveries::new(log.clone(), archive.clone(), preferences),
            log,
            archive,
        }
    }

    fn event() -> EventEnvelope<UserRegistered> {
        EventEnvelope::new(
            UserRegistered {
                user_id: UserId::new(),
                email: Email::parse("ada@example.com").expect("email"),
                name: PersonName::parse("Ada").expect("name"),
                registered_at: datetime!(2026-11-21 23:30 UTC),
            },
            CorrelationId::new(),
            datetime!(2026-11-21 23:30 UTC),
        )
    }

    fn notification(e: &EventEnvelope<UserRegistered>) -> Notification {
        Notification::about(e, e.data.user_id, Channel::Discord, "registration_discord")
    }

    fn content() -> Content {
        Content::discord(&DiscordMessage {
            content: "New member: Ada".into(),
        })
    }

    fn accepted() -> Result<DeliveryReceipt, ProviderError> {
        Ok(DeliveryReceipt {
            provider: "test",
            message_id: Some("m-1".into()),
        })
    }

    #[tokio::test]
    async fn a_sent_notification_is_archived_logged_and_reported_with_the_source_correlation() {
        let w = world(InMemoryPreferenceStore::new());
        let e = event();
        let pending = w
            .deliveries
            .begin(notification(&e))
            .await
            .expect("begin")
            .expect("to send");

        let status = w
            .deliveries
            .deliver(pending, content(), async { accepted() })
            .await
            .expect("delivered");

        assert_eq!(status, DeliveryStatus::Sent);
        let key = format!("registration_discord/2026/11/21/{}.md", e.id);
        assert_eq!(
            w.archive.get(&key).expect("archived").body,
            b"New member: Ada"
        );
        let entries = w.log.entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].body_key.as_deref(), Some(key.as_str()));
        assert_eq!(entries[0].preview.as_deref(), Some("New member: Ada"));
        assert_eq!(entries[0].provider_message_id.as_deref(), Some("m-1"));
        let reports = w.log.reports();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].event_type, NotificationSent::TYPE);
        assert_eq!(reports[0].correlation_id, e.correlation_id);
        assert_eq!(
            reports[0].data["notification_id"],
            notification(&e).id().as_str()
        );
    }

    #[tokio::test]
    async fn a_retryable_failure_logs_the_attempt_and_leaves_the_outcome_open() {
        let w = world(InMemoryPreferenceStore::new());
        let e = event();
        let pending = w.deliveries.begin(notification(&e)).await.expect("begin");
        let first = w
            .deliveries
            .deliver(pending.expect("pending"), content(), async {
                Err(ProviderError::Retryable("discord answered 503".into()))
            })
            .await;
        assert!(
            matches!(first, Err(HandlerError::Retryable(_))),
            "{first:?}"
        );
        let attempts = w.log.attempts();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].status, DeliveryStatus::Retrying);
        assert_eq!(attempts[0].provider_response, "discord answered 503");
        assert!(w.log.entries().is_empty() && w.log.reports().is_empty());

        let retry = w.deliveries.begin(notification(&e)).await.expect("begin");
        let status = w
            .deliveries
            .deliver(retry.expect("still to send"), content(), async {
                accepted()
            })
            .await
            .expect("delivered");
        assert_eq!(status, DeliveryStatus::Sent);
        assert_eq!(w.log.attempts().len(), 1);
        assert_eq!(w.log.reports().len(), 1);
    }

    #[test]
    fn an_attempt_item_lives_beside_the_entry_and_expires() {
        let e = event();
        let entry = notification(&e).entry(DeliveryStatus::Retrying, "503".into());
        let at = datetime!(2026-11-21 23:31:05 UTC);
        let item = crate::delivery_log::attempt_item(&entry, at).expect("item");
        let sk = item["sk"].as_s().expect("sk");
        let entry_sk = entry.key().expect("key").sk;
        assert!(sk.starts_with("ATTEMPT#2026-11-21T23:30:00Z#"), "{sk}");
        assert!(sk.ends_with("#2026-11-21T23:31:05Z"), "{sk}");
        assert!(sk.contains(entry_sk.trim_start_matches("DELIVERY#")));
        assert_eq!(item["status"].as_s().expect("status"), "retrying");
        let expires: i64 = item["expires_at"].as_n().expect("ttl").parse().expect("n");
        assert_eq!(expires, (at + time::Duration::days(30)).unix_timestamp());
    }

    #[tokio::test]
    async fn a_logged_notification_is_not_begun_again() {
        let w = world(InMemoryPreferenceStore::new());
        let e = event();
        let pending = w.deliveries.begin(notification(&e)).await.expect("begin");
        w.deliveries
            .deliver(pending.expect("pending"), content(), async { accepted() })
            .await
            .expect("delivered");

        let again = w.deliveries.begin(notification(&e)).await.expect("begin");

        assert!(again.is_none());
        assert_eq!(w.log.reports().len(), 1);
    }

    #[tokio::test]
    async fn an_opt_out_is_logged_as_skipped_without_report_or_body() {
        let e = event();
        let w = world(InMemoryPreferenceStore::opted_out(
            e.data.user_id,
            Channel::Discord,
        ));

        let pending = w.deliveries.begin(notification(&e)).await.expect("begin");

        assert!(pending.is_none());
        let entries = w.log.entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].status, DeliveryStatus::Skipped);
        assert_eq!(entries[0].body_key, None);
        assert!(w.log.reports().is_empty());
        assert!(w.archive.keys().is_empty());
    }

    #[tokio::test]
    async fn an_opt_out_of_another_channel_does_not_matter() {
        let e = event();
        let w = world(InMemoryPreferenceStore::opted_out(
            e.data.user_id,
            Channel::Email,
        ));

        assert!(
            w.deliveries
                .begin(notification(&e))
                .await
                .expect("begin")
                .is_some()
        );
    }

    #[tokio::test]
    async fn an_unusable_event_id_is_permanent_before_anything_happens() {
        let w = world(InMemoryPreferenceStore::new());
        let mut e = event();
        e.id = serde_json::from_str("\"../../etc/passwd\"").expect("any string is an id");

        let result = w.deliveries.begin(notification(&e)).await;

        assert!(
            matches!(result, Err(HandlerError::Permanent(_))),
            "{result:?}"
        );
        assert!(w.log.entries().is_empty());
    }

    #[test]
    fn body_keys_use_the_utc_day_of_the_event() {
        let mut e = event();
        e.id = serde_json::from_str("\"0197a0b2-7c1e-7000-8000-000000000001\"").expect("id");
        e.occurred_at = datetime!(2026-01-02 00:30 +02:00);
        let n = Notification::about(&e, e.data.user_id, Channel::Email, "welcome");
        assert_eq!(
            n.body_key("html"),
            "welcome/2026/01/01/0197a0b2-7c1e-7000-8000-000000000001.html"
        );
    }
}
