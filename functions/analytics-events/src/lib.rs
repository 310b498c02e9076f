//! Every event of every service: archived once to S3 as JSON lines
//! partitioned by type and date, and folded into the day's aggregates.
//! Order confirmations, cancellations and refunds also move the sales
//! figures, in the same transaction as the event's "seen" marker
//! (`analytics::sales`).

use analytics::archive::{EventArchive, archive_key, archive_line};
use analytics::{StatsStore, day_key, increments_for, sales_effect_for};
use anyhow::Context;
use consumer_kit::{AnyEvent, EventHandler, HandlerError};

pub const CONSUMER_NAME: &str = "analytics-events";

pub struct EventAnalytics<S, A> {
    stats: S,
    archive: A,
}

impl<S: StatsStore, A: EventArchive> EventAnalytics<S, A> {
    pub fn new(stats: S, archive: A) -> Self {
        Self { stats, archive }
    }
}

impl<S: StatsStore, A: EventArchive> EventHandler for EventAnalytics<S, A> {
    type Input = AnyEvent;

    /// The day is the event's own UTC date, so a late redelivery is counted
    /// and archived under the day it happened.
    async fn handle(&self, AnyEvent(event): AnyEvent) -> Result<(), HandlerError> {
        let day = event.occurred_at.to_offset(time::UtcOffset::UTC).date();
        let key = archive_key(&event, day).map_err(HandlerError::Permanent)?;
        let line = archive_line(&event).map_err(HandlerError::Permanent)?;
        // Archive first: the object is keyed by event id, so a retry after a
        // failed count rewrites the same object.
        self.archive
            .put(&key, line)
            .await
            .context("archiving the event")?;
        let increments = increments_for(&event);
        let counted = match sales_effect_for(&event) {
            Some(sales) => {
                self.stats
                    .record_sales(event.id.as_str(), day, &increments, &sales)
                    .await
            }
            None => self.stats.record(event.id.as_str(), day, &increments).await,
        }
        .context("recording aggregates")?;
        tracing::info!(?counted, day = %day_key(day), event_type = %event.event_type, "event recorded");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::archive::InMemoryEventArchive;
    use analytics::{DayRange, InMemoryStatsStore};
    use contracts::RawEnvelope;
    use time::macros::date;

    fn event(id: &str, event_type: &str, at: &str) -> AnyEvent {
        let raw: RawEnvelope = serde_json::from_value(serde_json::json!({
            "id": id, "type": event_type, "version": 1, "source": "s",
            "occurred_at": at, "correlation_id": "c", "subject": "x", "data": {}
        }))
        .expect("envelope");
        AnyEvent(raw)
    }

    #[tokio::test]
    async fn archives_by_type_and_date_and_counts_once() {
        let stats = InMemoryStatsStore::new();
        let archive = InMemoryEventArchive::new();
        let handler = EventAnalytics::new(stats.clone(), archive.clone());
        let e = || event("e1", "user.registered", "2026-11-21T23:59:59Z");
        handler.handle(e()).await.expect("first");
        handler.handle(e()).await.expect("retry");
        let objects = archive.objects();
        let line = &objects["events/type=user.registered/date=2026-11-21/e1.jsonl"];
        assert!(line.ends_with(b"\n"));
        let day = date!(2026 - 11 - 21);
        let s = stats
            .stats(DayRange { from: day, to: day })
            .await
            .expect("stats");
        assert_eq!(s[&day].metrics["registrations"], 1);
        assert_eq!(s[&day].metrics["events#user.registered"], 1);
    }

    fn typed<T: contracts::DomainEvent>(data: T, at: time::OffsetDateTime) -> AnyEvent {
        AnyEvent(
            contracts::EventEnvelope::new(data, contracts::CorrelationId::new(), at)
                .into_raw()
                .expect("raw"),
        )
    }

    #[tokio::test]
    async fn confirmations_move_the_sales_figures_once_per_order() {
        use contracts::events::{CancelReason, OrderCancelled, OrderConfirmed, OrderLine};
        use contracts::{Currency, OrderId, ProductId, UserId};

        let stats = InMemoryStatsStore::new();
        let handler = EventAnalytics::new(stats.clone(), InMemoryEventArchive::new());
        let (order_id, user_id, product) = (OrderId::new(), UserId::new(), ProductId::new());
        let at = time::macros::datetime!(2026-11-21 10:00 UTC);
        let confirmation = OrderConfirmed {
            order_id,
            user_id,
            payment_id: "pay_1".into(),
            lines: vec![OrderLine {
                product_id: product,
                sku: "MUG".into(),
                name: "Mug".into(),
                unit_price: 1_250,
                quantity: 2,
            }],
            amount: 2_500,
            currency: Currency::USD,
            confirmed_at: at,
        };
        let event = typed(confirmation.clone(), at);
        handler.handle(event.clone()).await.expect("first");
        handler.handle(event).await.expect("redelivered");
        handler
            .handle(typed(confirmation, at))
            .await
            .expect("republished");
        let cancel = |reason| OrderCancelled {
            order_id,
            user_id,
            reason,
            lines: vec![],
            cancelled_at: at,
        };
        handler
            .handle(typed(cancel(CancelReason::CustomerRequest), at))
            .await
            .expect("cancelled");

        let day = date!(2026 - 11 - 21);
        let s = stats
            .stats(DayRange { from: day, to: day })
            .await
            .expect("stats");
        let m = &s[&day].metrics;
        assert_eq!(m["sales#orders"], 1);
        assert_eq!(m["sales#revenue#USD"], 2_500);
        assert_eq!(m[&format!("sales#units#{product}")], 2);
        assert_eq!(m["sales#cancelled"], 1);
        assert_eq!(m["events#order.confirmed"], 2);
    }

    #[tokio::test]
    async fn low_stock_alerts_are_counted_by_type() {
        use contracts::ProductId;
        use contracts::events::InventoryLowStock;

        let stats = InMemoryStatsStore::new();
        let handler = EventAnalytics::new(stats.clone(), InMemoryEventArchive::new());
        let at = time::macros::datetime!(2026-11-21 10:00 UTC);
        handler
            .handle(typed(
                InventoryLowStock {
                    product_id: ProductId::new(),
                    sku: "MUG".into(),
                    available: 1,
                    threshold: 3,
                    detected_at: at,
                },
                at,
            ))
            .await
            .expect("counted");
        let day = date!(2026 - 11 - 21);
        let s = stats
            .stats(DayRange { from: day, to: day })
            .await
            .expect("stats");
        assert_eq!(s[&day].metrics["events#inventory.low_stock"], 1);
    }

    #[tokio::test]
    async fn unsafe_ids_are_permanent_failures() {
        let handler = EventAnalytics::new(InMemoryStatsStore::new(), InMemoryEventArchive::new());
        let err = handler
            .handle(event(
                "../../etc",
                "user.registered",
                "2026-11-21T10:00:00Z",
            ))
            .await
            .expect_err("refused");
        assert!(matches!(err, HandlerError::Permanent(_)));
    }
}
