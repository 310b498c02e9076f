//! payment.failed: the open order is cancelled for a failed payment, and
//! `order.cancelled` announced so that inventory releases its stock.

use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::PaymentFailed;
use orders::OrdersError;
use orders::service::on_payment_failed;
use orders::store::OrdersStore;
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "orders-payment-failed";

pub struct CancelUnpaid<S> {
    store: S,
}

impl<S: OrdersStore> CancelUnpaid<S> {
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

impl<S: OrdersStore> EventHandler for CancelUnpaid<S> {
    type Input = EventEnvelope<PaymentFailed>;

    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        let outcome = on_payment_failed(&self.store, &input, OffsetDateTime::now_utc())
            .await
            .map_err(failure)?;
        tracing::info!(order_id = %input.data.order_id, ?outcome, "saga step handled");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
