//! The analytics service: every event of every service is archived once to
//! S3 (JSON lines partitioned by type and date) and folded into daily
//! aggregates in DynamoDB, exactly once per event.

pub mod archive;
pub mod metrics;
pub mod range;
pub mod report;
pub mod sales;
pub mod store;

pub use metrics::{Increment, increments_for};
pub use range::DayRange;
pub use sales::{ProductLabel, SalesEffect, SalesGuard, sales_effect_for};
pub use store::{Counted, DayStats, DynamoStatsStore, InMemoryStatsStore, StatsStore};

/// `yyyy-mm-dd`.
pub fn day_key(day: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}
