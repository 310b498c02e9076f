//! Gives back what a cancelled order was charged (wallet credit or Stripe
//! refund, with `payment.refunded`); if it was not charged yet, leaves a
//! tombstone so that a charge arriving later is refused.

use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::OrderCancelled;
use payments::charges::provider::{ChargeError, StripeProvider, WalletProvider};
use payments::charges::service::{RefundOutcome, refund_order};
use payments::charges::store::ChargesStore;
use payments::charges::stripe_api::StripeApi;
use payments::store::PaymentsStore;
use platform::{ConfigError, Env};
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "payments-refund";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Payments table: wallets, charges, tombstones, outbox and this
    /// consumer's idempotency records.
    pub table_name: String,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
        })
    }
}

pub struct RefundOrders<S, A> {
    store: S,
    wallet: WalletProvider<S>,
    card: StripeProvider<S, A>,
}

impl<S: Clone, A> RefundOrders<S, A> {
    pub fn new(store: S, stripe: A) -> Self {
        Self {
            wallet: WalletProvider::new(store.clone()),
            card: StripeProvider::new(store.clone(), stripe),
            store,
        }
    }
}

impl<S, A> EventHandler for RefundOrders<S, A>
where
    S: PaymentsStore + ChargesStore + Clone,
    A: StripeApi,
{
    type Input = EventEnvelope<OrderCancelled>;

    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        let outcome = refund_order(
            &self.store,
            &self.wallet,
            &self.card,
            input.data.order_id,
            input.data.user_id,
            &input.correlation_id,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| match e {
            ChargeError::Retryable(e) => HandlerError::Retryable(e),
            ChargeError::Permanent(e) => HandlerError::Permanent(e),
        })?;
        let order_id = input.data.order_id;
        match outcome {
            RefundOutcome::Refunded(r) => {
                tracing::info!(%order_id, fresh = r.fresh, "cancelled order refunded")
            }
            RefundOutcome::AlreadyRefunded(_) => {
                tracing::info!(%order_id, "refunded before; nothing to do")
            }
            RefundOutcome::NotCharged(_) => {
                tracing::info!(%order_id, "payment had failed; nothing to refund")
            }
            RefundOutcome::Tombstoned => {
                tracing::info!(%order_id, "not charged yet; a later charge will be refused")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
