//! Team alert for every new account: "New member: <name>" on Discord,
//! unless the member opted out of being announced there.

use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::UserRegistered;
use notifications::templates::{REGISTRATION_DISCORD, render_registration_discord};
use notifications::{
    BodyArchive, Channel, Content, Deliveries, DeliveryLog, DiscordMessage, DiscordProvider,
    Notification, PreferenceStore,
};

pub const CONSUMER_NAME: &str = "notifications-registration-discord";

pub struct RegistrationDiscord<D, L, A, P> {
    discord: D,
    deliveries: Deliveries<L, A, P>,
}

impl<D, L, A, P> RegistrationDiscord<D, L, A, P>
where
    D: DiscordProvider,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    pub fn new(discord: D, deliveries: Deliveries<L, A, P>) -> Self {
        Self {
            discord,
            deliveries,
        }
    }
}

impl<D, L, A, P> EventHandler for RegistrationDiscord<D, L, A, P>
where
    D: DiscordProvider,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    type Input = EventEnvelope<UserRegistered>;

    async fn handle(&self, event: Self::Input) -> Result<(), HandlerError> {
        let user = &event.data;
        let notification =
            Notification::about(&event, user.user_id, Channel::Discord, REGISTRATION_DISCORD);
        let Some(pending) = self.deliveries.begin(notification).await? else {
            return Ok(());
        };
        let message = DiscordMessage {
            content: render_registration_discord(&user.name).map_err(HandlerError::Permanent)?,
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
