//! Compensation: a cancelled order's stock goes back on the shelf.

use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::OrderCancelled;
use inventory::reservations::release;
use inventory::store::InventoryStore;
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "inventory-release";

pub struct ReleaseOrder<S> {
    store: S,
}

impl<S: InventoryStore> ReleaseOrder<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: InventoryStore> EventHandler for ReleaseOrder<S> {
    type Input = EventEnvelope<OrderCancelled>;

    /// An order with nothing held (failed, released already, never placed)
    /// is a success: there is nothing to undo.
    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        release(
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
