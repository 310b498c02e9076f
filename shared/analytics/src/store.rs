use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::{Context, anyhow};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use contracts::OrderId;
use platform::dynamo::{cancelled_conditions, get_n, get_opt_s, get_s, n, s};
use time::{Date, Duration, OffsetDateTime};

use crate::day_key;
use crate::metrics::Increment;
use crate::range::DayRange;
use crate::sales::{ProductLabel, SalesEffect, SalesGuard};

/// How long an event's "already counted" marker is kept: far longer than any
/// redelivery (queue retention plus DLQ redrive) can take.
pub const MARKER_TTL: Duration = Duration::days(30);
/// How long an order's sale record is kept: cancellations and refunds of
/// confirmed orders arrive within days, at most months.
pub const SALE_TTL: Duration = Duration::days(400);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Counted,
    AlreadyCounted,
    /// Counted by type, but its sales figures did not apply (a repeated
    /// confirmation, or a cancellation or refund of an order that was
    /// never confirmed or was already undone).
    CountedWithoutSales,
}

/// The aggregates of one day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayStats {
    pub metrics: BTreeMap<String, i64>,
    /// Product labels of the `sales#units#<product>` metrics.
    pub labels: BTreeMap<String, ProductLabel>,
}

pub trait StatsStore: Send + Sync {
    /// Adds `increments` to `day`, once per `event_id`.
    fn record(
        &self,
        event_id: &str,
        day: Date,
        increments: &[Increment],
    ) -> impl Future<Output = anyhow::Result<Counted>> + Send;

    /// Adds `increments` to `day` once per `event_id`, and the sales
    /// figures of `sales` with them if its guard lets them apply (see
    /// [`crate::sales`]); all in one transaction.
    fn record_sales(
        &self,
        event_id: &str,
        day: Date,
        increments: &[Increment],
        sales: &SalesEffect,
    ) -> impl Future<Output = anyhow::Result<Counted>> + Send;

    /// Aggregates of every day in `range` that has any.
    fn stats(
        &self,
        range: DayRange,
    ) -> impl Future<Output = anyhow::Result<BTreeMap<Date, DayStats>>> + Send;
}

fn month_key(day: Date) -> String {
    format!("STATS#{:04}-{:02}", day.year(), u8::from(day.month()))
}

/// Aggregates live in one partition per month (`STATS#yyyy-mm`) with sort
/// key `yyyy-mm-dd#<metric>`, so a report is one query per month.
#[derive(Clone)]
pub struct DynamoStatsStore {
    client: Client,
    table: String,
}

fn sale_key(order_id: OrderId) -> [(&'static str, AttributeValue); 2] {
    [("pk", s(format!("SALE#{order_id}"))), ("sk", s("sale"))]
}

impl DynamoStatsStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// The "already counted" marker of an event.
    fn marker(&self, event_id: &str, now: OffsetDateTime) -> anyhow::Result<TransactWriteItem> {
        let marker = Put::builder()
            .table_name(&self.table)
            .item("pk", s(format!("SEEN#{event_id}")))
            .item("sk", s("event"))
            .item("expires_at", n((now + MARKER_TTL).unix_timestamp()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .context("building the marker put")?;
        Ok(TransactWriteItem::builder().put(marker).build())
    }

    fn increment(
        &self,
        day: Date,
        inc: &Increment,
        label: Option<&ProductLabel>,
    ) -> anyhow::Result<TransactWriteItem> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(month_key(day)))
            .key("sk", s(format!("{}#{}", day_key(day), inc.metric)))
            // `day` and `total` are DynamoDB reserved words.
            .expression_attribute_names("#day", "day")
            .expression_attribute_names("#total", "total")
            .expression_attribute_values(":day", s(day_key(day)))
            .expression_attribute_values(":metric", s(inc.metric.clone()))
            .expression_attribute_values(":by", n(inc.by));
        update = match label {
            None => update.update_expression("SET #day = :day, metric = :metric ADD #total :by"),
            // So is `name`.
            Some(label) => update
                .update_expression(
                    "SET #day = :day, metric = :metric, sku = :sku, #name = :name ADD #total :by",
                )
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":sku", s(label.sku.clone()))
                .expression_attribute_values(":name", s(label.name.clone())),
        };
        let update = update.build().context("building an aggregate update")?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The conditional write on the order's sale record that decides
    /// whether a sales effect applies.
    fn guard(
        &self,
        guard: &SalesGuard,
        day: Date,
        now: OffsetDateTime,
    ) -> anyhow::Result<TransactWriteItem> {
        let item = match guard {
            SalesGuard::Confirmed {
                order_id,
                currency,
                amount,
            } => {
                let mut put = Put::builder().table_name(&self.table);
                for (k, v) in sale_key(*order_id) {
                    put = put.item(k, v);
                }
                let put = put
                    .item("day", s(day_key(day)))
                    .item("currency", s(currency.code()))
                    .item("amount", n(*amount))
                    .item("expires_at", n((now + SALE_TTL).unix_timestamp()))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .context("building the sale put")?;
                TransactWriteItem::builder().put(put).build()
            }
            SalesGuard::Cancelled { order_id } => {
                let mut update = Update::builder().table_name(&self.table);
                for (k, v) in sale_key(*order_id) {
                    update = update.key(k, v);
                }
                let update = update
                    .update_expression("SET cancelled_on = :day")
                    .condition_expression(
                        "attribute_exists(pk) AND attribute_not_exists(cancelled_on)",
                    )
                    .expression_attribute_values(":day", s(day_key(day)))
                    .build()
                    .context("building the sale cancellation")?;
                TransactWriteItem::builder().update(update).build()
            }
            SalesGuard::Refunded {
                order_id,
                payment_id,
            } => {
                let mut update = Update::builder().table_name(&self.table);
                for (k, v) in sale_key(*order_id) {
                    update = update.key(k, v);
                }
                let update = update
                    .update_expression("ADD refunded_payments :payments")
                    .condition_expression(
                        "attribute_exists(pk) AND NOT contains(refunded_payments, :payment)",
                    )
                    .expression_attribute_values(
                        ":payments",
                        AttributeValue::Ss(vec![payment_id.clone()]),
                    )
                    .expression_attribute_values(":payment", s(payment_id.clone()))
                    .build()
                    .context("building the sale refund")?;
                TransactWriteItem::builder().update(update).build()
            }
        };
        Ok(item)
    }
}

impl StatsStore for DynamoStatsStore {
    async fn record(
        &self,
        event_id: &str,
        day: Date,
        increments: &[Increment],
    ) -> anyhow::Result<Counted> {
        // The marker and the increments are one transaction: a second count
        // of the same event fails the marker's condition and cancels the
        // increments with it, so the figures stay exact even if the
        // consumer's idempotency record is lost.
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(self.marker(event_id, OffsetDateTime::now_utc())?);
        for inc in increments {
            tx = tx.transact_items(self.increment(day, inc, None)?);
        }
        match tx.send().await {
            Ok(_) => Ok(Counted::Counted),
            // Only the marker (action 0) has a condition.
            Err(e)
                if cancelled_conditions(&e).is_some_and(|c| matches!(c.first(), Some(Some(_)))) =>
            {
                Ok(Counted::AlreadyCounted)
            }
            Err(e) => Err(anyhow!("recording aggregates: {}", DisplayErrorContext(e))),
        }
    }

    async fn record_sales(
        &self,
        event_id: &str,
        day: Date,
        increments: &[Increment],
        sales: &SalesEffect,
    ) -> anyhow::Result<Counted> {
        let now = OffsetDateTime::now_utc();
        // Marker (action 0), the sale guard (action 1), then the figures:
        // the guard's condition keeps an order from being sold, cancelled
        // or refunded (per payment) twice, whatever the event ids.
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(self.marker(event_id, now)?)
            .transact_items(self.guard(&sales.guard, day, now)?);
        for inc in increments {
            tx = tx.transact_items(self.increment(day, inc, None)?);
        }
        for inc in &sales.increments {
            tx = tx.transact_items(self.increment(day, inc, sales.labels.get(&inc.metric))?);
        }
        let err = match tx.send().await {
            Ok(_) => return Ok(Counted::Counted),
            Err(e) => e,
        };
        match cancelled_conditions(&err) {
            Some(c) if matches!(c.first(), Some(Some(_))) => Ok(Counted::AlreadyCounted),
            Some(c) if matches!(c.get(1), Some(Some(_))) => {
                // Not a sales fact (any more): still counted by type.
                Ok(match self.record(event_id, day, increments).await? {
                    Counted::Counted => Counted::CountedWithoutSales,
                    other => other,
                })
            }
            _ => Err(anyhow!(
                "recording sales aggregates: {}",
                DisplayErrorContext(err)
            )),
        }
    }

    async fn stats(&self, range: DayRange) -> anyhow::Result<BTreeMap<Date, DayStats>> {
        let mut months: Vec<String> = range.days().map(month_key).collect();
        months.dedup();
        let mut out: BTreeMap<Date, DayStats> = BTreeMap::new();
        for month in months {
            let mut start = None;
            loop {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                    .expression_attribute_values(":pk", s(month.clone()))
                    .expression_attribute_values(":from", s(format!("{}#", day_key(range.from))))
                    .expression_attribute_values(":to", s(format!("{}#~", day_key(range.to))))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| anyhow!("querying aggregates: {}", DisplayErrorContext(e)))?;
                for item in page.items() {
                    let day = Date::parse(
                        get_s(item, "day")?,
                        time::macros::format_description!("[year]-[month]-[day]"),
                    )?;
                    let metric = get_s(item, "metric")?.to_owned();
                    let stats = out.entry(day).or_default();
                    if let (Some(sku), Some(name)) =
                        (get_opt_s(item, "sku")?, get_opt_s(item, "name")?)
                    {
                        stats.labels.insert(
                            metric.clone(),
                            ProductLabel {
                                sku: sku.to_owned(),
                                name: name.to_owned(),
                            },
                        );
                    }
                    stats.metrics.insert(metric, get_n(item, "total")?);
                }
                start = page.last_evaluated_key().cloned();
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(out)
    }
}

#[derive(Default)]
struct SaleState {
    cancelled: bool,
    refunded: HashSet<String>,
}

#[derive(Default)]
struct MemoryState {
    seen: HashSet<String>,
    days: BTreeMap<Date, DayStats>,
    sales: HashMap<OrderId, SaleState>,
}

/// Same semantics in memory; clones share their state.
#[derive(Clone, Default)]
pub struct InMemoryStatsStore {
    state: Arc<Mutex<MemoryState>>,
}

impl InMemoryStatsStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl StatsStore for InMemoryStatsStore {
    async fn record(
        &self,
        event_id: &str,
        day: Date,
        increments: &[Increment],
    ) -> anyhow::Result<Counted> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.seen.insert(event_id.to_owned()) {
            return Ok(Counted::AlreadyCounted);
        }
        let stats = state.days.entry(day).or_default();
        for inc in increments {
            *stats.metrics.entry(inc.metric.clone()).or_default() += inc.by;
        }
        Ok(Counted::Counted)
    }

    async fn record_sales(
        &self,
        event_id: &str,
        day: Date,
        increments: &[Increment],
        sales: &SalesEffect,
    ) -> anyhow::Result<Counted> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.seen.insert(event_id.to_owned()) {
            return Ok(Counted::AlreadyCounted);
        }
        let applies = match &sales.guard {
            SalesGuard::Confirmed { order_id, .. } => match state.sales.entry(*order_id) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(SaleState::default());
                    true
                }
            },
            SalesGuard::Cancelled { order_id } => match state.sales.get_mut(order_id) {
                Some(sale) if !sale.cancelled => {
                    sale.cancelled = true;
                    true
                }
                _ => false,
            },
            SalesGuard::Refunded {
                order_id,
                payment_id,
            } => state
                .sales
                .get_mut(order_id)
                .is_some_and(|sale| sale.refunded.insert(payment_id.clone())),
        };
        let stats = state.days.entry(day).or_default();
        let figures = increments
            .iter()
            .chain(sales.increments.iter().filter(|_| applies));
        for inc in figures {
            *stats.metrics.entry(inc.metric.clone()).or_default() += inc.by;
        }
        if applies {
            stats.labels.extend(sales.labels.clone());
            Ok(Counted::Counted)
        } else {
            Ok(Counted::CountedWithoutSales)
        }
    }

    async fn stats(&self, range: DayRange) -> anyhow::Result<BTreeMap<Date, DayStats>> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Ok(state
            .days
            .range(range.from..=range.to)
            .map(|(d, s)| (*d, s.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn inc(metric: &str, by: i64) -> Increment {
        Increment {
            metric: metric.into(),
            by,
        }
    }

    #[tokio::test]
    async fn an_event_counts_once() {
        let store = InMemoryStatsStore::new();
        let day = date!(2026 - 11 - 21);
        let incs = [inc("events#user.registered", 1), inc("registrations", 1)];
        assert_eq!(
            store.record("e1", day, &incs).await.ok(),
            Some(Counted::Counted)
        );
        assert_eq!(
            store.record("e1", day, &incs).await.ok(),
            Some(Counted::AlreadyCounted)
        );
        store.record("e2", day, &incs).await.expect("second event");
        let range = DayRange { from: day, to: day };
        let stats = store.stats(range).await.expect("stats");
        assert_eq!(stats[&day].metrics["registrations"], 2);
    }
}

#[cfg(test)]
mod sales_tests;
