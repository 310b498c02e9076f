//! The receipt by email: `invoice.generated` -> a message to the customer
//! with a link to the PDF. The link is presigned for the longest time S3
//! allows (7 days); the email also names the invoice, which the customer
//! can fetch again at any time (`GET /invoices/{id}` hands out a fresh
//! link). Address and name come from the contacts projection; a contact
//! that is not there yet is retryable, like the deposit email.

use anyhow::{Context, anyhow};
use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::InvoiceGenerated;
use documents::{DownloadLinks, MAX_LINK_VALIDITY};
use notifications::templates::{RECEIPT, ReceiptView, render_receipt};
use notifications::{
    BodyArchive, Channel, ContactStore, Content, Deliveries, DeliveryLog, EmailProvider,
    Notification, PreferenceStore,
};

pub const CONSUMER_NAME: &str = "notifications-receipt-email";

pub struct ReceiptEmail<E, C, K, L, A, P> {
    provider: E,
    contacts: C,
    links: K,
    deliveries: Deliveries<L, A, P>,
}

impl<E, C, K, L, A, P> ReceiptEmail<E, C, K, L, A, P>
where
    E: EmailProvider,
    C: ContactStore,
    K: DownloadLinks,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    pub fn new(provider: E, contacts: C, links: K, deliveries: Deliveries<L, A, P>) -> Self {
        Self {
            provider,
            contacts,
            links,
            deliveries,
        }
    }
}

impl<E, C, K, L, A, P> EventHandler for ReceiptEmail<E, C, K, L, A, P>
where
    E: EmailProvider,
    C: ContactStore,
    K: DownloadLinks,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    type Input = EventEnvelope<InvoiceGenerated>;

    async fn handle(&self, event: Self::Input) -> Result<(), HandlerError> {
        let invoice = &event.data;
        let notification = Notification::about(&event, invoice.user_id, Channel::Email, RECEIPT);
        let Some(pending) = self.deliveries.begin(notification).await? else {
            return Ok(());
        };
        let contact = self
            .contacts
            .get(invoice.user_id)
            .await
            .context("reading the contact")?
            .ok_or_else(|| {
                HandlerError::Retryable(anyhow!(
                    "no contact for user {} yet (the contacts projection may lag)",
                    invoice.user_id
                ))
            })?;
        // A retry signs a new link: the archived body is the one sent last.
        let download_url = self
            .links
            .download_url(&invoice.document_key, MAX_LINK_VALIDITY)
            .await
            .context("presigning the receipt link")?;
        let order_id = invoice.order_id.to_string();
        let view = ReceiptView {
            name: contact.name.as_str(),
            invoice_id: &invoice.invoice_id,
            order_id: &order_id,
            amount: invoice.amount,
            currency: invoice.currency,
            download_url: &download_url,
            link_valid_days: MAX_LINK_VALIDITY.as_secs() / 86_400,
            generated_at: invoice.generated_at,
        };
        let message = render_receipt(&view)
            .map_err(HandlerError::Permanent)?
            .into_message(contact.email.clone());
        self.deliveries
            .deliver(
                pending,
                Content::email(&message),
                self.provider.send(&message),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
