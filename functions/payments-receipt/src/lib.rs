//! Receipts: the PDF of every paid order, issued once both its payment
//! (`payment.succeeded`: amount, method, provider reference) and its
//! confirmation (`order.confirmed`: the lines) have arrived, whichever
//! comes first. Subscribing to both is what lets the receipt list what was
//! bought and how it was paid without reading another service's table;
//! `invoices::issue_receipt` joins them and is idempotent per payment.

use consumer_kit::{EventHandler, FromEnvelope, HandlerError};
use contracts::envelope::EnvelopeError;
use contracts::events::{OrderConfirmed, PaymentSucceeded};
use contracts::{DomainEvent, EventEnvelope, RawEnvelope};
use documents::DocumentStore;
use invoices::{Invoice, InvoiceError, InvoiceStore, ReceiptPart, ReceiptRenderer, issue_receipt};
use platform::{ConfigError, Env};
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "payments-receipt";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The shop's name in the receipt header (`RECEIPT_SELLER_NAME`).
    pub seller_name: String,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            seller_name: env
                .required("RECEIPT_SELLER_NAME")
                .unwrap_or_else(|_| "Serverless Commerce".to_owned()),
        })
    }
}

/// The two events this consumer's queue receives.
#[derive(Debug, Clone)]
pub enum ReceiptEvent {
    Payment(EventEnvelope<PaymentSucceeded>),
    Order(EventEnvelope<OrderConfirmed>),
}

impl FromEnvelope for ReceiptEvent {
    fn from_envelope(raw: RawEnvelope) -> Result<Self, EnvelopeError> {
        if raw.event_type == OrderConfirmed::TYPE {
            raw.decode().map(ReceiptEvent::Order)
        } else {
            // Anything else fails to decode as a payment and is reported.
            raw.decode().map(ReceiptEvent::Payment)
        }
    }
}

/// The PDF renderer of the `receipts` crate behind the invoices port.
pub struct PdfReceipts {
    seller: String,
}

impl PdfReceipts {
    pub fn new(seller: String) -> Self {
        Self { seller }
    }
}

impl ReceiptRenderer for PdfReceipts {
    fn render(
        &self,
        invoice: &Invoice,
        payment: &PaymentSucceeded,
        order: &OrderConfirmed,
    ) -> anyhow::Result<Vec<u8>> {
        Ok(receipts::render(&receipts::Receipt {
            seller: &self.seller,
            invoice_id: invoice.id.as_str(),
            order_id: invoice.order_id,
            customer_id: invoice.user_id,
            payment_id: &invoice.payment_id,
            method: invoice.method,
            provider_reference: &payment.provider_reference,
            paid_at: payment.succeeded_at,
            amount: invoice.amount,
            currency: invoice.currency,
            lines: &order.lines,
        }))
    }
}

pub struct IssueReceipt<S, D, R> {
    store: S,
    documents: D,
    renderer: R,
}

impl<S: InvoiceStore, D: DocumentStore, R: ReceiptRenderer> IssueReceipt<S, D, R> {
    pub fn new(store: S, documents: D, renderer: R) -> Self {
        Self {
            store,
            documents,
            renderer,
        }
    }
}

impl<S: InvoiceStore, D: DocumentStore, R: ReceiptRenderer> EventHandler for IssueReceipt<S, D, R> {
    type Input = ReceiptEvent;

    /// Contradictory parts are permanent (they go to the DLQ for a person
    /// to look at); storage and rendering trouble is worth a retry.
    async fn handle(&self, input: ReceiptEvent) -> Result<(), HandlerError> {
        let (part, correlation_id) = match input {
            ReceiptEvent::Payment(e) => (ReceiptPart::Payment(e.data), e.correlation_id),
            ReceiptEvent::Order(e) => (ReceiptPart::Order(e.data), e.correlation_id),
        };
        issue_receipt(
            &self.store,
            &self.documents,
            &self.renderer,
            part,
            correlation_id,
            OffsetDateTime::now_utc(),
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            InvoiceError::Inconsistent(_) => HandlerError::Permanent(anyhow::Error::new(e)),
            other => HandlerError::Retryable(anyhow::Error::new(other)),
        })
    }
}

#[cfg(test)]
mod tests;
