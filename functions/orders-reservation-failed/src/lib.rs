//! inventory.reservation_failed: the open order is cancelled for being out
//! of stock, and `order.cancelled` announced in the same transaction.

use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::InventoryReservationFailed;
use orders::OrdersError;
use orders::service::on_reservation_failed;
use orders::store::OrdersStore;
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "orders-reservation-failed";

pub struct CancelOutOfStock<S> {
    store: S,
}

impl<S: OrdersStore> CancelOutOfStock<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

/// An event about an order that does not exist, or with another user than
/// the order's, fails the same way every time: permanent (it ends in the
/// DLQ). Everything else is storage trouble or contention: retryable.
fn failure(e: OrdersError) -> HandlerError {
    if e.is_permanent() {
        HandlerError::Permanent(e.into())
    } else {
        HandlerError::Retryable(e.into())
    }
}

impl<S: OrdersStore> EventHandler for CancelOutOfStock<S> {
    type Input = EventEnvelope<InventoryReservationFailed>;

    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        let outcome = on_reservation_failed(&self.store, &input, OffsetDateTime::now_utc())
            .await
            .map_err(failure)?;
        tracing::info!(order_id = %input.data.order_id, ?outcome, "saga step handled");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
