use contracts::OrderId;
use contracts::events::CancelReason;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::orders::cancellation;
use super::{Decision, change_order, envelope};
use crate::error::OrdersError;
use crate::model::OrderStatus;
use crate::store::OrdersStore;

/// What one sweep for stalled sagas did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Open orders older than the timeout, as the index listed them.
    pub examined: usize,
    /// Cancelled (timed out) by this sweep.
    pub cancelled: Vec<OrderId>,
    /// Moved on (or gone) between the listing and the re-read.
    pub skipped: usize,
    /// Could not be handled this time; the next sweep tries again.
    pub failed: usize,
}

/// Cancels, with reason `timed_out`, every order still waiting for a saga
/// step (pending or reserved) that was placed more than `timeout` before
/// `now`, at most `limit` per sweep (the schedule runs the next sweep a
/// minute later). Each order is re-read and cancelled with a write
/// conditioned on its version, so an order whose step arrives meanwhile is
/// left alone. `order.cancelled` makes inventory release and payments
/// refund whatever was done for it.
pub async fn cancel_stalled<S: OrdersStore>(
    store: &S,
    timeout: Duration,
    now: OffsetDateTime,
    limit: u32,
) -> Result<SweepReport, OrdersError> {
    let cutoff = now - timeout;
    let candidates = store.open_orders(cutoff, limit).await?;
    let mut report = SweepReport {
        examined: candidates.len(),
        ..SweepReport::default()
    };
    for id in candidates {
        let outcome = change_order(store, id, |order| {
            if !order.status.is_open() || order.placed_at >= cutoff {
                return Ok(Decision::Keep(false));
            }
            let reason = CancelReason::TimedOut;
            let cancelled = order.transition(OrderStatus::Cancelled, Some(reason), now)?;
            let event = envelope(
                cancellation(&cancelled, reason),
                order.correlation_id.clone(),
                cancelled.updated_at,
            )?;
            Ok(Decision::Write {
                order: cancelled,
                event: Some(event),
                answer: true,
            })
        })
        .await;
        match outcome {
            Ok(true) => {
                tracing::info!(order_id = %id, "stalled order cancelled (timed out)");
                report.cancelled.push(id);
            }
            Ok(false) | Err(OrdersError::OrderNotFound) => report.skipped += 1,
            Err(e) => {
                tracing::error!(order_id = %id, error = %format!("{e:#}"), "could not time out order");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}
