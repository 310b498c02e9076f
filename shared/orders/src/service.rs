//! The use cases, as plain async functions over the [`OrdersStore`] port.
//!
//! Every change of a cart or an order is read-decide-write with the write
//! conditioned on the version read; a lost race re-reads and decides again
//! on what is there now. That is what lets consumers, the timeout and
//! customers act on one order at the same time without clobbering each
//! other, and what makes a redelivered event harmless: the second decision
//! sees the first one's result.

use contracts::{CorrelationId, DomainEvent, EventEnvelope, OrderId, RawEnvelope};
use time::OffsetDateTime;

use crate::error::OrdersError;
use crate::model::Order;
use crate::store::{OrdersStore, StoreError};

mod cart;
mod catalog;
mod checkout;
mod orders;
mod saga;
mod timeout;

pub use cart::{cart, remove_cart_item, set_cart_item};
pub use catalog::{ProjectionOutcome, project_product};
pub use checkout::{
    CHECKOUT_ACCEPTED, CHECKOUT_KEY_TTL, CheckoutCommand, CheckoutReceipt, checkout,
};
pub use orders::{
    FulfilmentStatus, Viewer, cancel_by_customer, order_for, orders_of, set_fulfilment_status,
};
pub use saga::{
    SagaOutcome, on_inventory_reserved, on_payment_failed, on_payment_succeeded,
    on_reservation_failed,
};
pub use timeout::{SweepReport, cancel_stalled};

/// Read-and-write rounds before giving up on a cart or order that keeps
/// changing under us. Backoff between rounds is jittered so that racing
/// writers spread out instead of colliding again.
const MAX_ATTEMPTS: u32 = 8;
const BACKOFF_BASE_MS: u64 = 10;
const BACKOFF_CAP_MS: u64 = 320;

/// Full jitter: uniformly random up to an exponentially growing ceiling.
async fn backoff(attempt: u32) {
    if attempt < MAX_ATTEMPTS {
        let ceiling = (BACKOFF_BASE_MS << attempt.min(6)).min(BACKOFF_CAP_MS);
        tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(
            0..=ceiling,
        )))
        .await;
    }
}

fn envelope<T: DomainEvent>(
    data: T,
    correlation_id: CorrelationId,
    at: OffsetDateTime,
) -> Result<RawEnvelope, OrdersError> {
    Ok(EventEnvelope::new(data, correlation_id, at)
        .into_raw()
        .map_err(anyhow::Error::from)?)
}

/// What to do with an order as it stands.
#[expect(
    clippy::large_enum_variant,
    reason = "made and consumed once per attempt, never stored in bulk"
)]
enum Decision<T> {
    /// Write this new state of the order (conditioned on the version read),
    /// with this event in the same transaction, then answer `T`.
    Write {
        order: Order,
        event: Option<RawEnvelope>,
        answer: T,
    },
    /// Nothing to write; answer `T`.
    Keep(T),
}

/// Read-decide-write on one order until the write lands on the version the
/// decision was made on. `decide` sees the order as stored now, so after a
/// lost race it decides on the winner's result.
async fn change_order<S, T, F>(store: &S, id: OrderId, mut decide: F) -> Result<T, OrdersError>
where
    S: OrdersStore,
    F: FnMut(Order) -> Result<Decision<T>, OrdersError>,
{
    for attempt in 1..=MAX_ATTEMPTS {
        let current = store.order(id).await?.ok_or(OrdersError::OrderNotFound)?;
        let expected = current.version;
        match decide(current)? {
            Decision::Keep(answer) => return Ok(answer),
            Decision::Write {
                order,
                event,
                answer,
            } => {
                let now = order.updated_at;
                match store
                    .update_order(&order, expected, event.as_ref(), now)
                    .await
                {
                    Ok(()) => {
                        tracing::info!(
                            order_id = %id,
                            status = %order.status,
                            version = order.version,
                            event = event.as_ref().map(|e| e.event_type.as_str()),
                            "order updated"
                        );
                        return Ok(answer);
                    }
                    Err(StoreError::Stale) => {
                        tracing::debug!(order_id = %id, attempt, "order changed since it was read; deciding again");
                        backoff(attempt).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    tracing::warn!(order_id = %id, "gave up after {MAX_ATTEMPTS} conflicting attempts");
    Err(OrdersError::Busy)
}

#[cfg(test)]
mod tests;
