use std::time::Duration;

use contracts::events::{InvoiceGenerated, OrderConfirmed, PaymentSucceeded};
use contracts::{CorrelationId, EventEnvelope, UserId};
use documents::{DocumentStore, DownloadLinks, MAX_LINK_VALIDITY};
use time::OffsetDateTime;

use crate::error::InvoiceError;
use crate::model::{Invoice, InvoiceId, InvoiceView, PDF_CONTENT_TYPE, document_key};
use crate::store::{InvoiceStore, ReceiptPart, StoreError};

/// Turns an invoice and the facts it documents into the document's bytes
/// (the PDF renderer lives in its own crate, linked only where receipts are
/// rendered).
pub trait ReceiptRenderer: Send + Sync {
    fn render(
        &self,
        invoice: &Invoice,
        payment: &PaymentSucceeded,
        order: &OrderConfirmed,
    ) -> anyhow::Result<Vec<u8>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptOutcome {
    /// Only one part is known; the other's arrival issues the receipt.
    Waiting,
    Issued(Invoice),
    /// An earlier or concurrent attempt issued it; nothing was written.
    AlreadyIssued(InvoiceId),
}

/// Issues the receipt of an order once both of its parts are known: the
/// successful payment (`payment.succeeded`: amount, method, reference) and
/// the confirmed order (`order.confirmed`: the lines). Either may come
/// first; the one that completes the pair does the work.
///
/// Idempotent per payment: the invoice id is derived from the payment id,
/// the invoice item is created only if absent, in one transaction with its
/// `invoice.generated` outbox event. The document is rendered
/// deterministically and stored under a key derived from the id before the
/// item is written, so a crash in between leaves a document that the retry
/// rewrites byte for byte, and racing attempts store one invoice and emit
/// one event.
pub async fn issue_receipt<S, D, R>(
    store: &S,
    documents: &D,
    renderer: &R,
    part: ReceiptPart,
    correlation_id: CorrelationId,
    now: OffsetDateTime,
) -> Result<ReceiptOutcome, InvoiceError>
where
    S: InvoiceStore,
    D: DocumentStore,
    R: ReceiptRenderer,
{
    let parts = store.add_receipt_part(&part, now).await?;
    let (Some(payment), Some(order)) = (parts.payment, parts.order) else {
        tracing::info!(order_id = %part.order_id(), "receipt part recorded; waiting for the other one");
        return Ok(ReceiptOutcome::Waiting);
    };
    if payment.user_id != order.user_id {
        // The document would show one user's order to another.
        return Err(InvoiceError::Inconsistent(format!(
            "order {} belongs to {} but was paid by {}",
            order.order_id, order.user_id, payment.user_id
        )));
    }
    if payment.payment_id != order.payment_id
        || payment.amount != order.amount
        || payment.currency != order.currency
    {
        // The receipt documents the money taken: the payment's figures win.
        tracing::warn!(
            order_id = %order.order_id,
            payment_id = %payment.payment_id,
            order_payment_id = %order.payment_id,
            "the confirmed order and the payment disagree; the receipt shows the payment"
        );
    }

    let id = InvoiceId::for_payment(&payment.payment_id);
    if let Some(existing) = store.invoice(&id).await? {
        tracing::info!(invoice_id = %existing.id, "receipt issued already; nothing to do");
        return Ok(ReceiptOutcome::AlreadyIssued(existing.id));
    }
    let invoice = Invoice {
        document_key: document_key(payment.user_id, &id),
        id: id.clone(),
        user_id: payment.user_id,
        order_id: payment.order_id,
        payment_id: payment.payment_id.clone(),
        amount: payment.amount,
        currency: payment.currency,
        method: payment.method,
        created_at: now,
    };
    let pdf = renderer.render(&invoice, &payment, &order)?;
    documents
        .put(&invoice.document_key, pdf, PDF_CONTENT_TYPE)
        .await?;
    let event = EventEnvelope::new(
        InvoiceGenerated {
            invoice_id: id.to_string(),
            order_id: invoice.order_id,
            user_id: invoice.user_id,
            payment_id: invoice.payment_id.clone(),
            amount: invoice.amount,
            currency: invoice.currency,
            document_key: invoice.document_key.clone(),
            generated_at: now,
        },
        correlation_id,
        now,
    )
    .into_raw()
    .map_err(anyhow::Error::from)?;
    match store.create_invoice(&invoice, &event, now).await {
        Ok(()) => {
            tracing::info!(invoice_id = %id, order_id = %invoice.order_id, event_id = %event.id, "receipt issued");
            Ok(ReceiptOutcome::Issued(invoice))
        }
        Err(StoreError::InvoiceExists) => {
            tracing::info!(invoice_id = %id, "a concurrent attempt issued the receipt");
            Ok(ReceiptOutcome::AlreadyIssued(id))
        }
        Err(e) => Err(e.into()),
    }
}

/// Who asks for an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    pub user_id: UserId,
    pub is_admin: bool,
}

/// The invoice with a fresh download link, for its owner or an admin;
/// `NotFound` for anyone else, exactly as for an unknown id.
pub async fn invoice_download<S, L>(
    store: &S,
    links: &L,
    reader: Reader,
    id: &InvoiceId,
    valid_for: Duration,
) -> Result<InvoiceView, InvoiceError>
where
    S: InvoiceStore,
    L: DownloadLinks,
{
    let invoice = store
        .invoice(id)
        .await?
        .filter(|i| reader.is_admin || i.user_id == reader.user_id)
        .ok_or(InvoiceError::NotFound)?;
    let valid_for = valid_for.min(MAX_LINK_VALIDITY);
    let download_url = links.download_url(&invoice.document_key, valid_for).await?;
    Ok(InvoiceView {
        id: invoice.id,
        order_id: invoice.order_id,
        amount: invoice.amount,
        currency: invoice.currency,
        created_at: invoice.created_at,
        download_url,
        expires_in: valid_for.as_secs(),
    })
}

#[cfg(test)]
mod tests;
