//! Low-stock alert for the shop's admins: `inventory.low_stock` -> one
//! message on the team's Discord channel and one email to each address of
//! `ADMIN_ALERT_EMAILS` (the `AdminAlertEmails` parameter; when it is
//! empty, the `BootstrapAdminEmails` addresses, the people who administer
//! the shop from day one).
//!
//! Admin alerts are operational, not a user's notifications: they have no
//! user to opt out and no contact to look up. Each recipient (the Discord
//! channel, each address) gets its own delivery-log partition under a
//! recipient id derived from it: a version-8 UUID, a form no user id takes
//! (those are version 7), so no one's preferences can ever apply to it,
//! and the log, body archive and reports work exactly as for every other
//! consumer. Recipients are handled independently: one that cannot be
//! reached is retried without sending twice to the others.

use consumer_kit::{EventHandler, HandlerError};
use contracts::events::InventoryLowStock;
use contracts::{Email, EventEnvelope, UserId};
use notifications::templates::{
    LOW_STOCK_ALERT, LOW_STOCK_DISCORD, LowStockView, render_low_stock_alert,
    render_low_stock_discord,
};
use notifications::{
    BodyArchive, Channel, Content, Deliveries, DeliveryLog, DiscordMessage, DiscordProvider,
    EmailProvider, Notification, PreferenceStore,
};
use platform::{ConfigError, Env};
use sha2::{Digest, Sha256};

pub const CONSUMER_NAME: &str = "notifications-low-stock";

/// The delivery-log recipient id of an admin alert target (`discord`, or
/// an email address): a UUID v8 derived from it.
pub fn recipient_id(target: &str) -> Result<UserId, contracts::InvalidId> {
    let digest = Sha256::digest(format!("admin-alert|{target}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
    .parse()
}

/// Who admin alerts go to, resolved once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRecipients {
    pub discord: UserId,
    pub emails: Vec<(Email, UserId)>,
}

impl AdminRecipients {
    /// `ADMIN_ALERT_EMAILS`, or `BOOTSTRAP_ADMIN_EMAILS` when that is
    /// empty: comma-separated addresses, deduplicated. A malformed address
    /// is a configuration error, not a silently dropped admin.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let (name, raw) = match env.required("ADMIN_ALERT_EMAILS") {
            Ok(v) => ("ADMIN_ALERT_EMAILS", v),
            Err(_) => (
                "BOOTSTRAP_ADMIN_EMAILS",
                env.required("BOOTSTRAP_ADMIN_EMAILS").unwrap_or_default(),
            ),
        };
        let invalid = |value: &str, reason: String| ConfigError::Invalid {
            name,
            value: value.to_owned(),
            reason,
        };
        let mut emails: Vec<(Email, UserId)> = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let email = Email::parse(part).map_err(|r| invalid(part, r.to_string()))?;
            if emails.iter().any(|(e, _)| *e == email) {
                continue;
            }
            let id = recipient_id(email.as_str()).map_err(|e| invalid(part, e.to_string()))?;
            emails.push((email, id));
        }
        let discord = recipient_id("discord").map_err(|e| invalid("discord", e.to_string()))?;
        Ok(Self { discord, emails })
    }
}

pub struct LowStockAlert<D, E, L, A, P> {
    discord: D,
    email: E,
    admins: AdminRecipients,
    deliveries: Deliveries<L, A, P>,
}

impl<D, E, L, A, P> LowStockAlert<D, E, L, A, P>
where
    D: DiscordProvider,
    E: EmailProvider,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    pub fn new(
        discord: D,
        email: E,
        admins: AdminRecipients,
        deliveries: Deliveries<L, A, P>,
    ) -> Self {
        Self {
            discord,
            email,
            admins,
            deliveries,
        }
    }

    async fn to_discord(
        &self,
        event: &EventEnvelope<InventoryLowStock>,
        view: &LowStockView<'_>,
    ) -> Result<(), HandlerError> {
        let n = Notification::about(
            event,
            self.admins.discord,
            Channel::Discord,
            LOW_STOCK_DISCORD,
        );
        let Some(pending) = self.deliveries.begin(n).await? else {
            return Ok(());
        };
        let message = DiscordMessage {
            content: render_low_stock_discord(view).map_err(HandlerError::Permanent)?,
        };
        self.deliveries
            .deliver(
                pending,
                Content::discord(&message),
                self.discord.send(&message),
            )
            .await?;
        Ok(())
    }

    async fn to_email(
        &self,
        event: &EventEnvelope<InventoryLowStock>,
        view: &LowStockView<'_>,
        address: &Email,
        recipient: UserId,
    ) -> Result<(), HandlerError> {
        let n = Notification::about(event, recipient, Channel::Email, LOW_STOCK_ALERT);
        let Some(pending) = self.deliveries.begin(n).await? else {
            return Ok(());
        };
        let message = render_low_stock_alert(view)
            .map_err(HandlerError::Permanent)?
            .into_message(address.clone());
        self.deliveries
            .deliver(pending, Content::email(&message), self.email.send(&message))
            .await?;
        Ok(())
    }
}

impl<D, E, L, A, P> EventHandler for LowStockAlert<D, E, L, A, P>
where
    D: DiscordProvider,
    E: EmailProvider,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    type Input = EventEnvelope<InventoryLowStock>;

    /// Every recipient is tried; a retryable failure of one is reported
    /// after the others had their turn, a permanent one at once.
    async fn handle(&self, event: Self::Input) -> Result<(), HandlerError> {
        let stock = &event.data;
        let product_id = stock.product_id.to_string();
        let view = LowStockView {
            sku: &stock.sku,
            product_id: &product_id,
            available: stock.available,
            threshold: stock.threshold,
            detected_at: stock.detected_at,
        };
        let mut retry = None;
        let mut outcome = |result: Result<(), HandlerError>| match result {
            Ok(()) => Ok(()),
            Err(HandlerError::Retryable(e)) => {
                tracing::warn!(error = %e, "a low-stock alert will be retried");
                retry.get_or_insert(e);
                Ok(())
            }
            Err(permanent) => Err(permanent),
        };
        outcome(self.to_discord(&event, &view).await)?;
        for (address, recipient) in &self.admins.emails {
            outcome(self.to_email(&event, &view, address, *recipient).await)?;
        }
        match retry {
            Some(e) => Err(HandlerError::Retryable(e)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
