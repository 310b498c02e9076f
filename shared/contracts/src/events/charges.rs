//! Payments' answers in the order saga, and receipts. Amounts in minor units.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::envelope::DomainEvent;
use crate::events::orders::PaymentKind;
use crate::{Currency, OrderId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSucceeded {
    pub payment_id: String,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub amount: i64,
    pub currency: Currency,
    pub method: PaymentKind,
    /// The provider's id for the charge (wallet ledger entry, Stripe
    /// PaymentIntent).
    pub provider_reference: String,
    #[serde(with = "time::serde::rfc3339")]
    pub succeeded_at: OffsetDateTime,
}

impl DomainEvent for PaymentSucceeded {
    const TYPE: &'static str = "payment.succeeded";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "payments";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentFailed {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub amount: i64,
    pub currency: Currency,
    pub method: PaymentKind,
    /// Machine-readable: `insufficient_funds`, `card_declined`, ...
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub failed_at: OffsetDateTime,
}

impl DomainEvent for PaymentFailed {
    const TYPE: &'static str = "payment.failed";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "payments";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRefunded {
    pub payment_id: String,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub amount: i64,
    pub currency: Currency,
    pub method: PaymentKind,
    pub provider_reference: String,
    #[serde(with = "time::serde::rfc3339")]
    pub refunded_at: OffsetDateTime,
}

impl DomainEvent for PaymentRefunded {
    const TYPE: &'static str = "payment.refunded";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "payments";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}

/// A receipt document for a successful payment is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceGenerated {
    pub invoice_id: String,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub payment_id: String,
    pub amount: i64,
    pub currency: Currency,
    /// S3 key of the PDF in the payments documents bucket.
    pub document_key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
}

impl DomainEvent for InvoiceGenerated {
    const TYPE: &'static str = "invoice.generated";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "payments";

    fn subject(&self) -> String {
        self.invoice_id.clone()
    }
}
