//! The stalled-saga sweep, run every minute by the schedule: orders still
//! waiting for a saga step (pending or reserved) longer than the saga
//! timeout are cancelled (`timed_out`), and `order.cancelled` makes
//! inventory release and payments refund whatever was done for them.
//!
//! The input is whatever invoked the function: the schedule's event, or an
//! empty object `{}` when invoked directly. A direct invocation may carry
//! `older_than_seconds` to sweep with another threshold for that run (an
//! operator clearing a backlog; the e2e test); only callers allowed to
//! invoke the function can send one.

use orders::OrdersError;
use orders::service::{SweepReport, cancel_stalled};
use orders::store::OrdersStore;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

/// Orders handled per sweep; a bigger backlog drains over the next minutes.
pub const SWEEP_LIMIT: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("older_than_seconds must be a whole number of seconds from 1 up")]
    BadThreshold,
    #[error(transparent)]
    Orders(#[from] OrdersError),
}

/// The threshold for this run: the event's `older_than_seconds`, if any,
/// else the configured saga timeout.
fn threshold(event: &Value, configured: Duration) -> Result<Duration, SweepError> {
    match event.get("older_than_seconds") {
        None | Some(Value::Null) => Ok(configured),
        Some(v) => v
            .as_u64()
            .filter(|s| *s >= 1)
            .and_then(|s| i64::try_from(s).ok())
            .map(Duration::seconds)
            .ok_or(SweepError::BadThreshold),
    }
}

pub async fn handle<S: OrdersStore>(
    store: &S,
    saga_timeout: Duration,
    event: Value,
    now: OffsetDateTime,
) -> Result<SweepReport, SweepError> {
    let older_than = threshold(&event, saga_timeout)?;
    let report = cancel_stalled(store, older_than, now, SWEEP_LIMIT).await?;
    tracing::info!(
        examined = report.examined,
        cancelled = report.cancelled.len(),
        skipped = report.skipped,
        failed = report.failed,
        older_than_seconds = older_than.whole_seconds(),
        "stalled-saga sweep done"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use contracts::events::{CancelReason, OrderCancelled};
    use contracts::{DomainEvent, UserId};
    use orders::memory::InMemoryOrdersStore;
    use orders::model::OrderStatus;
    use orders::testing::place_order;

    use super::*;

    const SCHEDULED: &str = r#"{
        "version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-21T10:00:00Z", "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/orders-timeout"],
        "detail": {}
    }"#;

    fn cancellations(store: &InMemoryOrdersStore) -> Vec<OrderCancelled> {
        store
            .outbox()
            .into_iter()
            .filter(|e| e.event_type == OrderCancelled::TYPE)
            .map(|e| e.decode::<OrderCancelled>().expect("decodes").data)
            .collect()
    }

    #[tokio::test]
    async fn a_scheduled_or_empty_invocation_cancels_orders_older_than_the_timeout() {
        for event in [SCHEDULED, "{}"] {
            let store = InMemoryOrdersStore::new();
            let id = place_order(&store, UserId::new(), 1).await;
            let timeout = Duration::minutes(15);

            // Not yet stalled.
            let now = OffsetDateTime::now_utc();
            let report = handle(
                &store,
                timeout,
                serde_json::from_str(event).expect("json"),
                now,
            )
            .await
            .expect("swept");
            assert_eq!(report, SweepReport::default());

            // Sixteen minutes later, nothing has answered.
            let later = now + Duration::minutes(16);
            let report = handle(
                &store,
                timeout,
                serde_json::from_str(event).expect("json"),
                later,
            )
            .await
            .expect("swept");
            assert_eq!(report.cancelled, vec![id]);
            let order = store.order(id).await.expect("read").expect("order");
            assert_eq!(order.status, OrderStatus::Cancelled);
            assert_eq!(order.cancel_reason(), Some(CancelReason::TimedOut));
            let events = cancellations(&store);
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].reason, CancelReason::TimedOut);
            assert_eq!(
                serde_json::to_value(&report).expect("json"),
                serde_json::json!({
                    "examined": 1, "cancelled": [id.to_string()], "skipped": 0, "failed": 0
                })
            );
        }
    }

    #[tokio::test]
    async fn a_direct_invocation_can_sweep_with_another_threshold() {
        let store = InMemoryOrdersStore::new();
        let id = place_order(&store, UserId::new(), 1).await;
        let now = OffsetDateTime::now_utc() + Duration::seconds(3);
        let report = handle(
            &store,
            Duration::minutes(15),
            serde_json::json!({"older_than_seconds": 2}),
            now,
        )
        .await
        .expect("swept");
        assert_eq!(report.cancelled, vec![id]);

        for bad in [
            serde_json::json!({"older_than_seconds": 0}),
            serde_json::json!({"older_than_seconds": -5}),
            serde_json::json!({"older_than_seconds": "60"}),
            serde_json::json!({"older_than_seconds": 1.5}),
        ] {
            assert!(matches!(
                handle(&store, Duration::minutes(15), bad, now).await,
                Err(SweepError::BadThreshold)
            ));
        }
    }
}
