use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::{Context, anyhow};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use platform::dynamo::{cancelled_conditions, get_n, get_s, n, s};
use time::{Date, Duration, OffsetDateTime};

use crate::day_key;
use crate::metrics::Increment;
use crate::range::DayRange;

/// How long an event's "already counted" marker is kept: far longer than any
/// redelivery (queue retention plus DLQ redrive) can take.
pub const MARKER_TTL: Duration = Duration::days(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Counted,
    AlreadyCounted,
}

/// The aggregates of one day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayStats {
    pub metrics: BTreeMap<String, i64>,
}

pub trait StatsStore: Send + Sync {
    /// Adds `increments` to `day`, once per `event_id`.
    fn record(
        &self,
        event_id: &str,
        day: Date,
        increments: &[Increment],
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

impl DynamoStatsStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

impl StatsStore for DynamoStatsStore {
    async fn record(
        &self,
        event_id: &str,
        day: Date,
        increments: &[Increment],
    ) -> anyhow::Result<Counted> {
        let expires_at = OffsetDateTime::now_utc() + MARKER_TTL;
        // The marker and the increments are one transaction: a second count
        // of the same event fails the marker's condition and cancels the
        // increments with it, so the figures stay exact even if the
        // consumer's idempotency record is lost.
        let marker = Put::builder()
            .table_name(&self.table)
            .item("pk", s(format!("SEEN#{event_id}")))
            .item("sk", s("event"))
            .item("expires_at", n(expires_at.unix_timestamp()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .context("building the marker put")?;
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(marker).build());
        for inc in increments {
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(month_key(day)))
                .key("sk", s(format!("{}#{}", day_key(day), inc.metric)))
                // `day` and `total` are DynamoDB reserved words.
                .update_expression("SET #day = :day, metric = :metric ADD #total :by")
                .expression_attribute_names("#day", "day")
                .expression_attribute_names("#total", "total")
                .expression_attribute_values(":day", s(day_key(day)))
                .expression_attribute_values(":metric", s(inc.metric.clone()))
                .expression_attribute_values(":by", n(inc.by))
                .build()
                .context("building an aggregate update")?;
            tx = tx.transact_items(TransactWriteItem::builder().update(update).build());
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
                    out.entry(day)
                        .or_default()
                        .metrics
                        .insert(get_s(item, "metric")?.to_owned(), get_n(item, "total")?);
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
struct MemoryState {
    seen: HashSet<String>,
    days: BTreeMap<Date, DayStats>,
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
