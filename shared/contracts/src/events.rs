//! The event catalogue. Each payload is a typed definition; the golden files
//! under `fixtures/` pin the wire format and are checked by the tests below, so
//! a change that would break consumers fails here first.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::envelope::DomainEvent;
use crate::{Currency, Email, PersonName, UserId};

pub mod catalog;
pub mod charges;
pub mod inventory;
pub mod orders;

pub use catalog::{ProductCreated, ProductDeleted, ProductDetails, ProductUpdated};
pub use charges::{InvoiceGenerated, PaymentFailed, PaymentRefunded, PaymentSucceeded};
pub use inventory::{
    InventoryLowStock, InventoryReleased, InventoryReservationFailed, InventoryReserved, ShortLine,
};
pub use orders::{
    CancelReason, OrderCancelled, OrderConfirmed, OrderDelivered, OrderLine, OrderPayment,
    OrderPlaced, OrderShipped, PaymentKind, PaymentMethod,
};

/// Every event type the system publishes, for subscriptions that want all of
/// them (analytics) and for the documentation test.
pub const ALL_EVENT_TYPES: &[&str] = &[
    UserRegistered::TYPE,
    PaymentAccountCreated::TYPE,
    WalletDeposited::TYPE,
    NotificationSent::TYPE,
    NotificationFailed::TYPE,
    ProductCreated::TYPE,
    ProductUpdated::TYPE,
    ProductDeleted::TYPE,
    InventoryReserved::TYPE,
    InventoryReservationFailed::TYPE,
    InventoryReleased::TYPE,
    InventoryLowStock::TYPE,
    OrderPlaced::TYPE,
    OrderConfirmed::TYPE,
    OrderCancelled::TYPE,
    OrderShipped::TYPE,
    OrderDelivered::TYPE,
    PaymentSucceeded::TYPE,
    PaymentFailed::TYPE,
    PaymentRefunded::TYPE,
    InvoiceGenerated::TYPE,
];

/// A new account was created (identity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRegistered {
    pub user_id: UserId,
    pub email: Email,
    pub name: PersonName,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
}

impl DomainEvent for UserRegistered {
    const TYPE: &'static str = "user.registered";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "identity";

    fn subject(&self) -> String {
        self.user_id.to_string()
    }
}

/// A user's payment account (with its wallet at zero) exists (payments).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentAccountCreated {
    pub account_id: String,
    pub user_id: UserId,
    pub currency: Currency,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl DomainEvent for PaymentAccountCreated {
    const TYPE: &'static str = "payment_account.created";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "payments";

    fn subject(&self) -> String {
        self.account_id.clone()
    }
}

/// Money was credited to a wallet (payments). Amounts in minor units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletDeposited {
    pub account_id: String,
    pub user_id: UserId,
    pub transaction_id: String,
    pub amount: i64,
    pub currency: Currency,
    pub balance_after: i64,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub deposited_at: OffsetDateTime,
}

impl DomainEvent for WalletDeposited {
    const TYPE: &'static str = "wallet.deposited";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "payments";

    fn subject(&self) -> String {
        self.account_id.clone()
    }
}

/// A notification was handed to its provider (notifications delivery report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSent {
    pub notification_id: String,
    pub user_id: UserId,
    pub channel: String,
    pub template: String,
    /// The event that caused the notification.
    pub source_event_id: String,
    pub provider_message_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}

impl DomainEvent for NotificationSent {
    const TYPE: &'static str = "notification.sent";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "notifications";

    fn subject(&self) -> String {
        self.notification_id.clone()
    }
}

/// A notification could not be delivered and will not be retried
/// (notifications delivery report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationFailed {
    pub notification_id: String,
    pub user_id: UserId,
    pub channel: String,
    pub template: String,
    pub source_event_id: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub failed_at: OffsetDateTime,
}

impl DomainEvent for NotificationFailed {
    const TYPE: &'static str = "notification.failed";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "notifications";

    fn subject(&self) -> String {
        self.notification_id.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RawEnvelope;

    fn golden<T: DomainEvent + PartialEq + std::fmt::Debug>(file: &str) {
        let path = format!("{}/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("fixture exists");
        let raw: RawEnvelope = serde_json::from_str(&text).expect("fixture is an envelope");
        let original = raw.data.clone();
        let typed = raw
            .decode::<T>()
            .expect("fixture matches the typed definition");
        assert_eq!(typed.event_type, T::TYPE);
        let reencoded = serde_json::to_value(&typed.data).expect("serialise");
        assert_eq!(reencoded, original, "wire format drifted for {file}");
    }

    #[test]
    fn user_registered_matches_golden_file() {
        golden::<UserRegistered>("user.registered.v1.json");
    }

    #[test]
    fn payment_account_created_matches_golden_file() {
        golden::<PaymentAccountCreated>("payment_account.created.v1.json");
    }

    #[test]
    fn wallet_deposited_matches_golden_file() {
        golden::<WalletDeposited>("wallet.deposited.v1.json");
    }

    #[test]
    fn notification_sent_matches_golden_file() {
        golden::<NotificationSent>("notification.sent.v1.json");
    }

    #[test]
    fn notification_failed_matches_golden_file() {
        golden::<NotificationFailed>("notification.failed.v1.json");
    }

    /// One golden test per commerce event, named after the type.
    macro_rules! goldens {
        ($($test:ident: $ty:ty,)*) => {$(
            #[test]
            fn $test() {
                golden::<$ty>(&format!("{}.v1.json", <$ty>::TYPE));
            }
        )*};
    }

    goldens! {
        product_created_matches_golden_file: ProductCreated,
        product_updated_matches_golden_file: ProductUpdated,
        product_deleted_matches_golden_file: ProductDeleted,
        inventory_reserved_matches_golden_file: InventoryReserved,
        inventory_reservation_failed_matches_golden_file: InventoryReservationFailed,
        inventory_released_matches_golden_file: InventoryReleased,
        inventory_low_stock_matches_golden_file: InventoryLowStock,
        order_placed_matches_golden_file: OrderPlaced,
        order_confirmed_matches_golden_file: OrderConfirmed,
        order_cancelled_matches_golden_file: OrderCancelled,
        order_shipped_matches_golden_file: OrderShipped,
        order_delivered_matches_golden_file: OrderDelivered,
        payment_succeeded_matches_golden_file: PaymentSucceeded,
        payment_failed_matches_golden_file: PaymentFailed,
        payment_refunded_matches_golden_file: PaymentRefunded,
        invoice_generated_matches_golden_file: InvoiceGenerated,
    }

    #[test]
    fn payment_methods_are_tagged_by_type() {
        let card: PaymentMethod =
            serde_json::from_str(r#"{"type": "card", "payment_method": "pm_card_visa"}"#)
                .expect("card");
        assert_eq!(card.kind(), PaymentKind::Card);
        let wallet: PaymentMethod = serde_json::from_str(r#"{"type": "wallet"}"#).expect("wallet");
        assert_eq!(wallet, PaymentMethod::Wallet);
        assert!(serde_json::from_str::<PaymentMethod>(r#"{"type": "cash"}"#).is_err());
    }

    #[test]
    fn every_catalogued_type_has_a_fixture() {
        for event_type in ALL_EVENT_TYPES {
            let path = format!(
                "{}/fixtures/{event_type}.v1.json",
                env!("CARGO_MANIFEST_DIR")
            );
            assert!(std::path::Path::new(&path).exists(), "missing {path}");
        }
    }
}
