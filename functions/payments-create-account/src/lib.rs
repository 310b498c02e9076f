//! Every registered user gets a payment account with a wallet at zero.

use consumer_kit::{EventHandler, HandlerError};
use contracts::events::UserRegistered;
use contracts::{Currency, EventEnvelope};
use payments::service::open_account;
use payments::store::PaymentsStore;
use platform::{ConfigError, Env};
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "payments-create-account";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Payments table: accounts, outbox and this consumer's idempotency records.
    pub table_name: String,
    /// Currency of new wallets.
    pub default_currency: Currency,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            default_currency: payments::config::default_currency(env)?,
        })
    }
}

pub struct OpenAccount<S> {
    store: S,
    currency: Currency,
}

impl<S: PaymentsStore> OpenAccount<S> {
    pub fn new(store: S, currency: Currency) -> Self {
        Self { store, currency }
    }
}

impl<S: PaymentsStore> EventHandler for OpenAccount<S> {
    type Input = EventEnvelope<UserRegistered>;

    /// A user who has an account already is a success (the event was a
    /// duplicate); every failure is storage trouble, so worth a retry.
    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        open_account(
            &self.store,
            input.data.user_id,
            self.currency,
            input.correlation_id,
            OffsetDateTime::now_utc(),
        )
        .await
        .map(|_| ())
        .map_err(|e| HandlerError::Retryable(anyhow::Error::new(e)))
    }
}

#[cfg(test)]
mod tests;
