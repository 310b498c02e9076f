//! Building blocks of the notification functions.
//!
//! - one provider port per channel, each with an in-memory adapter and a
//!   real one: [`email`] (SES or SMTP, `EMAIL_PROVIDER`), [`discord`]
//!   (webhook), [`sms`] (SNS), [`push`] (webhook); failures are classified
//!   retryable or permanent ([`ProviderError`]);
//! - [`templates`] rendered from the files in `templates/`;
//! - the [`delivery`] pipeline every consumer runs: idempotent log,
//!   [`preferences`], body [`archive`], delivery reports through the outbox;
//! - the [`contacts`] projection and the delivery history for the inbox.
//!
//! Providers with heavy dependencies are behind the `email`, `discord` and
//! `push` features.

pub mod archive;
pub mod contacts;
pub mod deadline;
pub mod delivery;
pub mod delivery_log;
pub mod discord;
pub mod email;
pub mod money;
pub mod preferences;
pub mod provider;
pub mod push;
pub mod runtime;
pub mod sms;
pub mod templates;
#[cfg(any(feature = "discord", feature = "push"))]
pub mod webhook;
pub mod wiring;

#[cfg(test)]
mod test_server;

pub use archive::{BodyArchive, InMemoryBodyArchive};
pub use contacts::{Contact, ContactStore, DynamoContactStore, InMemoryContactStore};
pub use delivery::{Content, Deliveries, Notification, Pending};
pub use delivery_log::{
    Channel, DeliveryEntry, DeliveryHistory, DeliveryLog, DeliveryStatus, DeliveryView,
    DynamoDeliveryLog, HistoryError, HistoryPage, InMemoryDeliveryLog, NotificationId,
};
pub use discord::{DiscordMessage, DiscordProvider, InMemoryDiscord};
pub use email::{EmailMessage, EmailProvider, InMemoryEmailProvider};
pub use money::format_money;
pub use preferences::{
    DynamoPreferenceStore, InMemoryPreferenceStore, PreferenceStore, Preferences, PreferencesUpdate,
};
pub use provider::{DeliveryReceipt, ProviderError};
pub use templates::Rendered;
