//! Charges every reserved order with the method chosen at checkout: the
//! wallet (debited in our own table) or a card through Stripe. Answers with
//! `payment.succeeded` or `payment.failed` (declines, short wallets and
//! orders cancelled meanwhile are outcomes, not errors).

use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::InventoryReserved;
use payments::charges::model::OrderCharge;
use payments::charges::provider::{ChargeError, StripeProvider, WalletProvider};
use payments::charges::service::charge_order;
use payments::charges::store::ChargesStore;
use payments::charges::stripe_api::StripeApi;
use payments::store::PaymentsStore;
use platform::{ConfigError, Env};
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "payments-charge";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Payments table: wallets, charges, outbox and this consumer's
    /// idempotency records.
    pub table_name: String,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
        })
    }
}

/// One place where use-case errors become consumer answers.
pub fn handler_error(e: ChargeError) -> HandlerError {
    match e {
        ChargeError::Retryable(e) => HandlerError::Retryable(e),
        ChargeError::Permanent(e) => HandlerError::Permanent(e),
    }
}

pub struct ChargeOrders<S, A> {
    store: S,
    wallet: WalletProvider<S>,
    card: StripeProvider<S, A>,
}

impl<S: Clone, A> ChargeOrders<S, A> {
    pub fn new(store: S, stripe: A) -> Self {
        Self {
            wallet: WalletProvider::new(store.clone()),
            card: StripeProvider::new(store.clone(), stripe),
            store,
        }
    }
}

impl<S, A> EventHandler for ChargeOrders<S, A>
where
    S: PaymentsStore + ChargesStore + Clone,
    A: StripeApi,
{
    type Input = EventEnvelope<InventoryReserved>;

    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        let order = OrderCharge {
            order_id: input.data.order_id,
            user_id: input.data.user_id,
            amount: input.data.payment.amount,
            currency: input.data.payment.currency,
            method: input.data.payment.method,
            correlation_id: input.correlation_id,
        };
        charge_order(
            &self.store,
            &self.wallet,
            &self.card,
            &order,
            OffsetDateTime::now_utc(),
        )
        .await
        .map(|_| ())
        .map_err(handler_error)
    }
}

#[cfg(test)]
mod tests;
