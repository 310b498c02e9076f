//! Welcome email for every new account: render, archive the body, send,
//! record the delivery.

use anyhow::{Context, anyhow};
use consumer_kit::{EventHandler, HandlerError};
use contracts::events::UserRegistered;
use contracts::{Email, EventEnvelope, EventId};
use notifications::{
    BodyArchive, Channel, DeliveryEntry, DeliveryLog, DeliveryStatus, EmailProvider, ProviderError,
    render_welcome,
};
use platform::{ConfigError, Env};
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "notifications-welcome-email";
const TEMPLATE: &str = "welcome";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Notifications table: delivery log and idempotency records.
    pub table_name: String,
    /// Bucket for rendered bodies.
    pub bucket_name: String,
    /// Verified SES sender address.
    pub email_from: Email,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let from = env.required("EMAIL_FROM")?;
        let email_from = Email::parse(&from).map_err(|reason| ConfigError::Invalid {
            name: "EMAIL_FROM",
            value: from.clone(),
            reason: format!("{reason} (expected a plain address such as noreply@example.com)"),
        })?;
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            bucket_name: env.required("BUCKET_NAME")?,
            email_from,
        })
    }
}

pub struct WelcomeEmail<P, L, A> {
    provider: P,
    log: L,
    archive: A,
}

impl<P, L, A> WelcomeEmail<P, L, A>
where
    P: EmailProvider,
    L: DeliveryLog,
    A: BodyArchive,
{
    pub fn new(provider: P, log: L, archive: A) -> Self {
        Self {
            provider,
            log,
            archive,
        }
    }

    /// A provider refusal is recorded as a failed delivery and not retried;
    /// a provider outage is returned as retryable and nothing is recorded, so
    /// the log never claims an email that was not sent. If recording fails
    /// after a successful send, the retry sends again: delivery is
    /// at-least-once, like every consumer here.
    pub async fn send(&self, event: &EventEnvelope<UserRegistered>) -> Result<(), HandlerError> {
        let user = &event.data;
        let keys = BodyKeys::new(&event.id, event.occurred_at).map_err(HandlerError::Permanent)?;
        let rendered = render_welcome(&user.name, &user.email);

        self.archive
            .put(
                &keys.html,
                rendered.html.clone().into_bytes(),
                "text/html; charset=utf-8",
            )
            .await
            .context("archiving the HTML body")?;
        self.archive
            .put(
                &keys.text,
                rendered.text.clone().into_bytes(),
                "text/plain; charset=utf-8",
            )
            .await
            .context("archiving the text body")?;

        let message = rendered.into_message(user.email.clone());
        let outcome = self.provider.send(&message).await;
        let (status, provider_message_id, provider_response) = match outcome {
            Ok(receipt) => (
                DeliveryStatus::Sent,
                Some(receipt.message_id),
                format!("accepted by {}", receipt.provider),
            ),
            Err(ProviderError::Retryable(reason)) => {
                return Err(HandlerError::Retryable(anyhow!(
                    "sending the welcome email: {reason}"
                )));
            }
            Err(ProviderError::Permanent(reason)) => {
                tracing::warn!(%reason, "provider refused the welcome email; recording it as failed");
                (DeliveryStatus::Failed, None, reason)
            }
        };

        self.log
            .record(&DeliveryEntry {
                event_id: event.id.clone(),
                user_id: user.user_id,
                recipient: user.email.clone(),
                channel: Channel::Email,
                template: TEMPLATE,
                status,
                provider_message_id,
                provider_response,
                body_key: keys.html,
                at: event.occurred_at,
            })
            .await
            .context("recording the welcome email delivery")?;
        tracing::info!(status = %status, "welcome email handled");
        Ok(())
    }
}

impl<P, L, A> EventHandler for WelcomeEmail<P, L, A>
where
    P: EmailProvider,
    L: DeliveryLog,
    A: BodyArchive,
{
    type Input = EventEnvelope<UserRegistered>;

    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        self.send(&input).await
    }
}

/// S3 keys of one rendered welcome email, by event date and id, so a retry
/// overwrites the same objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyKeys {
    pub html: String,
    pub text: String,
}

impl BodyKeys {
    pub fn new(event_id: &EventId, occurred_at: OffsetDateTime) -> anyhow::Result<Self> {
        let id = event_id.as_str();
        // Event ids are UUIDs; anything else would scatter objects across
        // unexpected prefixes, so it is refused rather than stored.
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
        let day = occurred_at.to_offset(time::UtcOffset::UTC).date();
        let stem = format!(
            "{TEMPLATE}/{:04}/{:02}/{:02}/{id}",
            day.year(),
            u8::from(day.month()),
            day.day()
        );
        Ok(Self {
            html: format!("{stem}.html"),
            text: format!("{stem}.txt"),
        })
    }
}

#[cfg(test)]
mod tests;
