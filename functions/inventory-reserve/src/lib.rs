//! The saga's first step: a placed order's lines are reserved, all or
//! nothing, and the answer is `inventory.reserved` or
//! `inventory.reservation_failed`.

use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::OrderPlaced;
use inventory::reservations::reserve;
use inventory::store::InventoryStore;
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "inventory-reserve";

pub struct ReserveOrder<S> {
    store: S,
}

impl<S: InventoryStore> ReserveOrder<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: InventoryStore> EventHandler for ReserveOrder<S> {
    type Input = EventEnvelope<OrderPlaced>;

    /// Short stock is an answer (`inventory.reservation_failed`), not a
    /// failure. An order that cannot be reserved as sent fails for good;
    /// storage trouble and lost races are retried.
    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        reserve(
            &self.store,
            &input.data,
            input.correlation_id,
            OffsetDateTime::now_utc(),
        )
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
