//! Team alert for every deposit on Discord. The member's name comes from
//! the contacts projection; a contact that is not there yet is retryable.
//! The message leaves the balance out (the channel is shared).

use anyhow::{Context, anyhow};
use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::WalletDeposited;
use notifications::templates::{DEPOSIT_DISCORD, DepositView, render_deposit_discord};
use notifications::{
    BodyArchive, Channel, ContactStore, Content, Deliveries, DeliveryLog, DiscordMessage,
    DiscordProvider, Notification, PreferenceStore,
};

pub const CONSUMER_NAME: &str = "notifications-deposit-discord";

pub struct DepositDiscord<D, C, L, A, P> {
    discord: D,
    contacts: C,
    deliveries: Deliveries<L, A, P>,
}

impl<D, C, L, A, P> DepositDiscord<D, C, L, A, P>
where
    D: DiscordProvider,
    C: ContactStore,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    pub fn new(discord: D, contacts: C, deliveries: Deliveries<L, A, P>) -> Self {
        Self {
            discord,
            contacts,
            deliveries,
        }
    }
}

impl<D, C, L, A, P> EventHandler for DepositDiscord<D, C, L, A, P>
where
    D: DiscordProvider,
    C: ContactStore,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    type Input = EventEnvelope<WalletDeposited>;

    async fn handle(&self, event: Self::Input) -> Result<(), HandlerError> {
        let deposit = &event.data;
        let notification =
            Notification::about(&event, deposit.user_id, Channel::Discord, DEPOSIT_DISCORD);
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
        let message = DiscordMessage {
            content: render_deposit_discord(&view).map_err(HandlerError::Permanent)?,
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
}

#[cfg(test)]
mod tests;
