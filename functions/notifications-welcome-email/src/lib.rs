//! Welcome email for every new account: unless the user opted out of email,
//! render, archive the body, send, and log the delivery with its report.

use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::UserRegistered;
use notifications::templates::{WELCOME, render_welcome};
use notifications::{
    BodyArchive, Channel, Content, Deliveries, DeliveryLog, EmailProvider, Notification,
    PreferenceStore,
};

pub const CONSUMER_NAME: &str = "notifications-welcome-email";

pub struct WelcomeEmail<E, L, A, P> {
    provider: E,
    deliveries: Deliveries<L, A, P>,
}

impl<E, L, A, P> WelcomeEmail<E, L, A, P>
where
    E: EmailProvider,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    pub fn new(provider: E, deliveries: Deliveries<L, A, P>) -> Self {
        Self {
            provider,
            deliveries,
        }
    }
}

impl<E, L, A, P> EventHandler for WelcomeEmail<E, L, A, P>
where
    E: EmailProvider,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    type Input = EventEnvelope<UserRegistered>;

    async fn handle(&self, event: Self::Input) -> Result<(), HandlerError> {
        let user = &event.data;
        let notification = Notification::about(&event, user.user_id, Channel::Email, WELCOME);
        let Some(pending) = self.deliveries.begin(notification).await? else {
            return Ok(());
        };
        let message = render_welcome(&user.name, &user.email)
            .map_err(HandlerError::Permanent)?
            .into_message(user.email.clone());
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
