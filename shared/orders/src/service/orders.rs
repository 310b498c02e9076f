use std::str::FromStr;

use contracts::events::{CancelReason, OrderCancelled, OrderDelivered, OrderShipped};
use contracts::{CorrelationId, OrderId, UserId};
use time::OffsetDateTime;

use super::{Decision, change_order, envelope};
use crate::error::OrdersError;
use crate::model::{Order, OrderStatus, OrderView, Page};
use crate::store::OrdersStore;

/// Who is looking at an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: UserId,
    pub is_admin: bool,
}

impl Viewer {
    /// Owners and admins see an order; for anyone else it does not exist
    /// (404, not 403: its existence is not revealed).
    fn may_see(&self, order: &Order) -> bool {
        self.is_admin || order.user_id == self.user_id
    }
}

/// One order, for its owner or an admin.
pub async fn order_for<S: OrdersStore>(
    store: &S,
    viewer: Viewer,
    id: OrderId,
) -> Result<OrderView, OrdersError> {
    store
        .order(id)
        .await?
        .filter(|o| viewer.may_see(o))
        .map(|o| OrderView::from(&o))
        .ok_or(OrdersError::OrderNotFound)
}

/// The caller's orders, newest first.
pub async fn orders_of<S: OrdersStore>(
    store: &S,
    user_id: UserId,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<OrderView>, OrdersError> {
    let page = store
        .orders_of(user_id, cursor, limit.clamp(1, 100))
        .await?;
    Ok(Page {
        items: page.items.iter().map(OrderView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

/// The event announcing a cancellation: inventory releases what it holds
/// for the order, payments refunds what it charged for it.
pub(super) fn cancellation(order: &Order, reason: CancelReason) -> OrderCancelled {
    OrderCancelled {
        order_id: order.id,
        user_id: order.user_id,
        reason,
        lines: order.lines.clone(),
        cancelled_at: order.updated_at,
    }
}

/// The owner cancels an order that has not shipped yet. Someone else's
/// order is not found; a shipped, delivered or cancelled one is a conflict.
pub async fn cancel_by_customer<S: OrdersStore>(
    store: &S,
    user_id: UserId,
    id: OrderId,
    correlation_id: CorrelationId,
    now: OffsetDateTime,
) -> Result<OrderView, OrdersError> {
    change_order(store, id, |order| {
        if order.user_id != user_id {
            return Err(OrdersError::OrderNotFound);
        }
        let reason = CancelReason::CustomerRequest;
        let cancelled = order.transition(OrderStatus::Cancelled, Some(reason), now)?;
        let event = envelope(
            cancellation(&cancelled, reason),
            correlation_id.clone(),
            cancelled.updated_at,
        )?;
        Ok(Decision::Write {
            answer: OrderView::from(&cancelled),
            order: cancelled,
            event: Some(event),
        })
    })
    .await
}

/// The statuses an admin sets by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FulfilmentStatus {
    Shipped,
    Delivered,
}

impl FulfilmentStatus {
    fn status(self) -> OrderStatus {
        match self {
            FulfilmentStatus::Shipped => OrderStatus::Shipped,
            FulfilmentStatus::Delivered => OrderStatus::Delivered,
        }
    }
}

impl FromStr for FulfilmentStatus {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "shipped" => Ok(FulfilmentStatus::Shipped),
            "delivered" => Ok(FulfilmentStatus::Delivered),
            _ => Err("must be \"shipped\" or \"delivered\""),
        }
    }
}

/// An admin ships or delivers an order: confirmed, then shipped, then
/// delivered. Asking for the status the order already has changes nothing
/// and answers the order (a repeated `PUT` is harmless); any other move
/// the status machine refuses is a conflict.
pub async fn set_fulfilment_status<S: OrdersStore>(
    store: &S,
    id: OrderId,
    target: FulfilmentStatus,
    correlation_id: CorrelationId,
    now: OffsetDateTime,
) -> Result<OrderView, OrdersError> {
    let status = target.status();
    change_order(store, id, |order| {
        if order.status == status {
            return Ok(Decision::Keep(OrderView::from(&order)));
        }
        let next = order.transition(status, None, now)?;
        let at = next.updated_at;
        let event = match target {
            FulfilmentStatus::Shipped => envelope(
                OrderShipped {
                    order_id: next.id,
                    user_id: next.user_id,
                    shipped_at: at,
                },
                correlation_id.clone(),
                at,
            )?,
            FulfilmentStatus::Delivered => envelope(
                OrderDelivered {
                    order_id: next.id,
                    user_id: next.user_id,
                    delivered_at: at,
                },
                correlation_id.clone(),
                at,
            )?,
        };
        Ok(Decision::Write {
            answer: OrderView::from(&next),
            order: next,
            event: Some(event),
        })
    })
    .await
}
