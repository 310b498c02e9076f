//! The order's side of the saga: what each answer from inventory and
//! payments does to the order.
//!
//! Every step is decided on the order as stored, so a duplicate or a late
//! event is recognised by the status it finds (an order that has moved on
//! is left alone) instead of by remembering events: this holds even when
//! the consumer's idempotency record has expired, or when events arrive in
//! another order than they were sent.

use contracts::events::{
    CancelReason, InventoryReservationFailed, InventoryReserved, OrderConfirmed, PaymentFailed,
    PaymentSucceeded,
};
use contracts::{EventEnvelope, OrderId, UserId};
use time::OffsetDateTime;

use super::orders::cancellation;
use super::{Decision, change_order, envelope};
use crate::error::OrdersError;
use crate::model::{Order, OrderStatus};
use crate::store::OrdersStore;

/// What an event did to its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SagaOutcome {
    /// The order moved to this status.
    Applied(OrderStatus),
    /// The order was left as it is: it had already moved past the step
    /// (a duplicate, a late event, or a cancelled order).
    Ignored(OrderStatus),
}

fn owned_by(order: &Order, user_id: UserId) -> Result<(), OrdersError> {
    if order.user_id == user_id {
        Ok(())
    } else {
        Err(OrdersError::WrongUser(order.id))
    }
}

fn ignored(order: &Order, event: &str) -> Decision<SagaOutcome> {
    tracing::info!(order_id = %order.id, status = %order.status, event, "order has moved past this step; nothing to do");
    Decision::Keep(SagaOutcome::Ignored(order.status))
}

/// `inventory.reserved`: a pending order is now reserved. An order that is
/// already further (the payment was reported first) or cancelled stays as
/// it is; a cancelled order's reservation is released by inventory on
/// `order.cancelled`.
pub async fn on_inventory_reserved<S: OrdersStore>(
    store: &S,
    event: &EventEnvelope<InventoryReserved>,
    now: OffsetDateTime,
) -> Result<SagaOutcome, OrdersError> {
    change_order(store, event.data.order_id, |order| {
        owned_by(&order, event.data.user_id)?;
        if order.status != OrderStatus::Pending {
            return Ok(ignored(&order, &event.event_type));
        }
        let reserved = order.transition(OrderStatus::Reserved, None, now)?;
        Ok(Decision::Write {
            order: reserved,
            event: None,
            answer: SagaOutcome::Applied(OrderStatus::Reserved),
        })
    })
    .await
}

/// What a cancelling answer is about.
struct Cancellation<'a> {
    id: OrderId,
    user_id: UserId,
    reason: CancelReason,
    /// The statuses this answer can cancel; in any other the order has
    /// moved past it.
    from: &'a [OrderStatus],
    event: &'a str,
    correlation_id: &'a contracts::CorrelationId,
}

/// Cancels the order for `reason`, announcing it so that inventory
/// releases and payments refunds whatever they did for it.
async fn cancel_for<S: OrdersStore>(
    store: &S,
    c: Cancellation<'_>,
    now: OffsetDateTime,
) -> Result<SagaOutcome, OrdersError> {
    let Cancellation {
        id,
        user_id,
        reason,
        from,
        event,
        correlation_id,
    } = c;
    change_order(store, id, |order| {
        owned_by(&order, user_id)?;
        if !from.contains(&order.status) {
            return Ok(ignored(&order, event));
        }
        let cancelled = order.transition(OrderStatus::Cancelled, Some(reason), now)?;
        let announcement = envelope(
            cancellation(&cancelled, reason),
            correlation_id.clone(),
            cancelled.updated_at,
        )?;
        Ok(Decision::Write {
            order: cancelled,
            event: Some(announcement),
            answer: SagaOutcome::Applied(OrderStatus::Cancelled),
        })
    })
    .await
}

/// `inventory.reservation_failed`: the order cannot be fulfilled; a pending
/// order is cancelled (out of stock). Only a pending one: an order that is
/// reserved (or further) had its reservation succeed, so this answer is a
/// stray, and cancelling would release stock that is rightly held.
pub async fn on_reservation_failed<S: OrdersStore>(
    store: &S,
    event: &EventEnvelope<InventoryReservationFailed>,
    now: OffsetDateTime,
) -> Result<SagaOutcome, OrdersError> {
    let cancellation = Cancellation {
        id: event.data.order_id,
        user_id: event.data.user_id,
        reason: CancelReason::OutOfStock,
        from: &[OrderStatus::Pending],
        event: &event.event_type,
        correlation_id: &event.correlation_id,
    };
    cancel_for(store, cancellation, now).await
}

/// `payment.failed`: an order waiting for its payment (reserved, or still
/// pending if the reservation's answer is late) is cancelled (payment
/// failed), and `order.cancelled` makes inventory release its stock.
pub async fn on_payment_failed<S: OrdersStore>(
    store: &S,
    event: &EventEnvelope<PaymentFailed>,
    now: OffsetDateTime,
) -> Result<SagaOutcome, OrdersError> {
    let cancellation = Cancellation {
        id: event.data.order_id,
        user_id: event.data.user_id,
        reason: CancelReason::PaymentFailed,
        from: &[OrderStatus::Pending, OrderStatus::Reserved],
        event: &event.event_type,
        correlation_id: &event.correlation_id,
    };
    cancel_for(store, cancellation, now).await
}

/// `payment.succeeded`: the order is paid and, in the same write, confirmed
/// (`order.confirmed` makes inventory commit the reservation). A cancelled
/// order stays cancelled: payments refunds the charges of cancelled orders
/// itself. A confirmed (or later) order was confirmed by an earlier copy.
pub async fn on_payment_succeeded<S: OrdersStore>(
    store: &S,
    event: &EventEnvelope<PaymentSucceeded>,
    now: OffsetDateTime,
) -> Result<SagaOutcome, OrdersError> {
    let paid = &event.data;
    change_order(store, paid.order_id, |order| {
        owned_by(&order, paid.user_id)?;
        if !order.status.can_become(OrderStatus::Paid) && order.status != OrderStatus::Paid {
            return Ok(ignored(&order, &event.event_type));
        }
        if paid.amount != order.total || paid.currency != order.currency {
            tracing::warn!(
                order_id = %order.id,
                charged = paid.amount,
                charged_currency = %paid.currency,
                total = order.total,
                currency = %order.currency,
                "payment amount differs from the order total"
            );
        }
        let mut confirmed = if order.status == OrderStatus::Paid {
            order
        } else {
            order.transition(OrderStatus::Paid, None, now)?
        };
        confirmed.payment_id = Some(paid.payment_id.clone());
        let confirmed = confirmed.transition(OrderStatus::Confirmed, None, now)?;
        let announcement = envelope(
            OrderConfirmed {
                order_id: confirmed.id,
                user_id: confirmed.user_id,
                payment_id: paid.payment_id.clone(),
                lines: confirmed.lines.clone(),
                amount: confirmed.total,
                currency: confirmed.currency,
                confirmed_at: confirmed.updated_at,
            },
            event.correlation_id.clone(),
            confirmed.updated_at,
        )?;
        Ok(Decision::Write {
            order: confirmed,
            event: Some(announcement),
            answer: SagaOutcome::Applied(OrderStatus::Confirmed),
        })
    })
    .await
}
