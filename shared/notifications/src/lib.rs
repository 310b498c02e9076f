//! Building blocks of the notification consumers: the provider port with
//! its SES adapter, the delivery log, body archiving and templates. Each
//! port has an in-memory adapter so consumers are unit-tested as plain calls.

pub mod archive;
pub mod delivery_log;
pub mod provider;
pub mod ses;
pub mod templates;

pub use archive::{BodyArchive, InMemoryBodyArchive};
pub use delivery_log::{
    Channel, DeliveryEntry, DeliveryLog, DeliveryStatus, DynamoDeliveryLog, InMemoryDeliveryLog,
};
pub use provider::{
    DeliveryReceipt, EmailMessage, EmailProvider, InMemoryEmailProvider, ProviderError,
};
pub use ses::SesEmailProvider;
pub use templates::{Rendered, render_welcome};
