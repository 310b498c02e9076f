use std::future::Future;

use contracts::events::{OrderConfirmed, PaymentSucceeded};
use contracts::{OrderId, RawEnvelope};
use time::OffsetDateTime;

use crate::model::{Invoice, InvoiceId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An invoice with this id exists: nothing was written.
    #[error("invoice already exists")]
    InvoiceExists,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One of the two facts a receipt is made from: the payment (amount,
/// method, provider reference) and the confirmed order (its lines).
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiptPart {
    Payment(PaymentSucceeded),
    Order(OrderConfirmed),
}

impl ReceiptPart {
    pub fn order_id(&self) -> OrderId {
        match self {
            ReceiptPart::Payment(p) => p.order_id,
            ReceiptPart::Order(o) => o.order_id,
        }
    }
}

/// The parts of one order's receipt known so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReceiptParts {
    pub payment: Option<PaymentSucceeded>,
    pub order: Option<OrderConfirmed>,
}

/// Storage port of the invoices (payments table).
pub trait InvoiceStore: Send + Sync {
    /// Adds `part` to its order's receipt parts (the first copy of a part
    /// is kept) and returns every part known after the write, atomically:
    /// of two parts arriving at once, exactly one write sees both.
    fn add_receipt_part(
        &self,
        part: &ReceiptPart,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<ReceiptParts>> + Send;

    /// The invoice (strongly consistent read).
    fn invoice(&self, id: &InvoiceId) -> impl Future<Output = StoreResult<Option<Invoice>>> + Send;

    /// Stores the invoice and records `event` in the outbox, atomically.
    /// `InvoiceExists` (and nothing written) if the id is taken.
    fn create_invoice(
        &self,
        invoice: &Invoice,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
