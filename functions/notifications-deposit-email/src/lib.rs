//! Deposit confirmation by email: `wallet.deposited` carries only the user
//! id, so the address and name come from the contacts projection. A contact
//! that is not there yet (the projection lags behind the registration) is
//! retryable: SQS brings the event back, and the DLQ keeps it if it never
//! appears.

use anyhow::{Context, anyhow};
use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::WalletDeposited;
use notifications::templates::{DEPOSIT_CONFIRMATION, DepositView, render_deposit_confirmation};
use notifications::{
    BodyArchive, Channel, ContactStore, Content, Deliveries, DeliveryLog, EmailProvider,
    Notification, PreferenceStore,
};

pub const CONSUMER_NAME: &str = "notifications-deposit-email";

pub struct DepositEmail<E, C, L, A, P> {
    provider: E,
    contacts: C,
    deliveries: Deliveries<L, A, P>,
}

impl<E, C, L, A, P> DepositEmail<E, C, L, A, P>
where
    E: EmailProvider,
    C: ContactStore,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    pub fn new(provider: E, contacts: C, deliveries: Deliveries<L, A, P>) -> Self {
        Self {
            provider,
            contacts,
            deliveries,
        }
    }
}

impl<E, C, L, A, P> EventHandler for DepositEmail<E, C, L, A, P>
where
    E: EmailProvider,
    C: ContactStore,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    type Input = EventEnvelope<WalletDeposited>;

    async fn handle(&self, event: Self::Input) -> Result<(), HandlerError> {
        let deposit = &event.data;
        let notification = Notification::about(
            &event,
            deposit.user_id,
            Channel::Email,
            DEPOSIT_CONFIRMATION,
        );
        let Some(pending) = self.deliveries.begin(notification).await? else {
            return Ok(());
        };
        let contact = self
            .contacts
            .get(deposit.user_id)
            .await
            .context("reading the contact")?
            .ok_or_else(|| {
                HandlerError::Retryable(anyhow!(
                    "no contact for user {} yet (the contacts projection may lag)",
                    deposit.user_id
                ))
            })?;
        let view = DepositView {
            name: contact.name.as_str(),
            amount: deposit.amount,
            balance_after: deposit.balance_after,
            currency: deposit.currency,
            description: &deposit.description,
            transaction_id: &deposit.transaction_id,
            deposited_at: deposit.deposited_at,
        };
        let message = render_deposit_confirmation(&view)
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
