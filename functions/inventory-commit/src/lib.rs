//! The saga's happy end for stock: a confirmed order's reserved units are
//! sold.

use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::OrderConfirmed;
use inventory::reservations::commit;
use inventory::store::InventoryStore;
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "inventory-commit";

pub struct CommitOrder<S> {
    store: S,
}

impl<S: InventoryStore> CommitOrder<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: InventoryStore> EventHandler for CommitOrder<S> {
    type Input = EventEnvelope<OrderConfirmed>;

    /// A confirmation of an order inventory never reserved cannot heal by
    /// retrying: it goes to the dead-letter queue (and its alarm) at once.
    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        commit(&self.store, &input.data, OffsetDateTime::now_utc())
            .await
            .map(|_| ())
            .map_err(|e| {
                if e.is_permanent() {
                    HandlerError::Permanent(e.into())
                } else {
                    HandlerError::Retryable(e.into())
                }
            })
    }
}

#[cfg(test)]
mod tests;
