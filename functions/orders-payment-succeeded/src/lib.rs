//! payment.succeeded: the open order is paid and confirmed in one write,
//! announcing `order.confirmed`. A cancelled order stays cancelled (payments
//! refunds charges of cancelled orders itself).

use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::PaymentSucceeded;
use orders::OrdersError;
use orders::service::on_payment_succeeded;
use orders::store::OrdersStore;
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "orders-payment-succeeded";

pub struct ConfirmPaid<S> {
    store: S,
}

impl<S: OrdersStore> ConfirmPaid<S> {
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

impl<S: OrdersStore> EventHandler for ConfirmPaid<S> {
    type Input = EventEnvelope<PaymentSucceeded>;

    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        let outcome = on_payment_succeeded(&self.store, &input, OffsetDateTime::now_utc())
            .await
            .map_err(failure)?;
        tracing::info!(order_id = %input.data.order_id, ?outcome, "saga step handled");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
