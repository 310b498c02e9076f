//! Order status emails to the customer: confirmed (with the lines and the
//! total), cancelled (why, and what happens to the money), shipped. One
//! consumer for the three events, one template each; address and name come
//! from the contacts projection (retryable while it lags).

use anyhow::{Context, anyhow};
use consumer_kit::{EventHandler, FromEnvelope, HandlerError};
use contracts::envelope::EnvelopeError;
use contracts::events::{OrderCancelled, OrderConfirmed, OrderShipped};
use contracts::{DomainEvent, EventEnvelope, RawEnvelope, UserId};
use notifications::templates::{
    ORDER_CANCELLED, ORDER_CONFIRMED, ORDER_SHIPPED, render_order_cancelled,
    render_order_confirmed, render_order_shipped,
};
use notifications::{
    BodyArchive, Channel, ContactStore, Content, Deliveries, DeliveryLog, EmailProvider,
    Notification, PreferenceStore, Rendered,
};

pub const CONSUMER_NAME: &str = "notifications-order-status";

/// The events this consumer's queue receives.
#[derive(Debug, Clone)]
pub enum OrderStatusEvent {
    Confirmed(EventEnvelope<OrderConfirmed>),
    Cancelled(EventEnvelope<OrderCancelled>),
    Shipped(EventEnvelope<OrderShipped>),
}

impl FromEnvelope for OrderStatusEvent {
    fn from_envelope(raw: RawEnvelope) -> Result<Self, EnvelopeError> {
        match raw.event_type.as_str() {
            OrderCancelled::TYPE => raw.decode().map(OrderStatusEvent::Cancelled),
            OrderShipped::TYPE => raw.decode().map(OrderStatusEvent::Shipped),
            // Anything else fails to decode as a confirmation and is reported.
            _ => raw.decode().map(OrderStatusEvent::Confirmed),
        }
    }
}

pub struct OrderStatusEmail<E, C, L, A, P> {
    provider: E,
    contacts: C,
    deliveries: Deliveries<L, A, P>,
}

impl<E, C, L, A, P> OrderStatusEmail<E, C, L, A, P>
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

    /// The pipeline for one email: begin (duplicate / opt-out), contact,
    /// render with the customer's name, deliver.
    async fn send(
        &self,
        notification: Notification,
        render: impl FnOnce(&str) -> anyhow::Result<Rendered>,
    ) -> Result<(), HandlerError> {
        let user_id: UserId = notification.user_id;
        let Some(pending) = self.deliveries.begin(notification).await? else {
            return Ok(());
        };
        let contact = self
            .contacts
            .get(user_id)
            .await
            .context("reading the contact")?
            .ok_or_else(|| {
                HandlerError::Retryable(anyhow!(
                    "no contact for user {user_id} yet (the contacts projection may lag)"
                ))
            })?;
        let message = render(contact.name.as_str())
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

impl<E, C, L, A, P> EventHandler for OrderStatusEmail<E, C, L, A, P>
where
    E: EmailProvider,
    C: ContactStore,
    L: DeliveryLog,
    A: BodyArchive,
    P: PreferenceStore,
{
    type Input = OrderStatusEvent;

    async fn handle(&self, input: OrderStatusEvent) -> Result<(), HandlerError> {
        match input {
            OrderStatusEvent::Confirmed(e) => {
                let o = &e.data;
                let order_id = o.order_id.to_string();
                let n = Notification::about(&e, o.user_id, Channel::Email, ORDER_CONFIRMED);
                self.send(n, |name| {
                    render_order_confirmed(
                        name,
                        &order_id,
                        &o.lines,
                        o.amount,
                        o.currency,
                        o.confirmed_at,
                    )
                })
                .await
            }
            OrderStatusEvent::Cancelled(e) => {
                let o = &e.data;
                let order_id = o.order_id.to_string();
                let n = Notification::about(&e, o.user_id, Channel::Email, ORDER_CANCELLED);
                self.send(n, |name| {
                    render_order_cancelled(name, &order_id, o.reason, &o.lines, o.cancelled_at)
                })
                .await
            }
            OrderStatusEvent::Shipped(e) => {
                let o = &e.data;
                let order_id = o.order_id.to_string();
                let n = Notification::about(&e, o.user_id, Channel::Email, ORDER_SHIPPED);
                self.send(n, |name| {
                    render_order_shipped(name, &order_id, o.shipped_at)
                })
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests;
