//! The admin reports, built from the daily aggregates.

use std::collections::BTreeMap;

use serde::Serialize;
use time::Date;

use crate::day_key;
use crate::range::DayRange;
use crate::store::DayStats;

#[derive(Debug, Serialize, PartialEq)]
pub struct RegistrationsReport {
    pub from: String,
    pub to: String,
    pub total: i64,
    pub days: Vec<RegistrationsDay>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct RegistrationsDay {
    pub date: String,
    pub registrations: i64,
}

/// Registrations per day, every day of the range (zeros included).
pub fn registrations(range: DayRange, stats: &BTreeMap<Date, DayStats>) -> RegistrationsReport {
    let days: Vec<RegistrationsDay> = range
        .days()
        .map(|day| RegistrationsDay {
            date: day_key(day),
            registrations: stats
                .get(&day)
                .and_then(|s| s.metrics.get("registrations"))
                .copied()
                .unwrap_or(0),
        })
        .collect();
    RegistrationsReport {
        from: day_key(range.from),
        to: day_key(range.to),
        total: days.iter().map(|d| d.registrations).sum(),
        days,
    }
}

#[derive(Debug, Serialize, PartialEq)]
pub struct EventsReport {
    pub from: String,
    pub to: String,
    /// Events per type over the whole range.
    pub totals: BTreeMap<String, i64>,
    pub days: Vec<EventsDay>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct EventsDay {
    pub date: String,
    pub counts: BTreeMap<String, i64>,
    pub deposits: Deposits,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Deposits {
    pub count: i64,
    /// Minor units per currency.
    pub amount: BTreeMap<String, i64>,
}

/// Event counts by type per day, plus the deposit figures.
pub fn events(range: DayRange, stats: &BTreeMap<Date, DayStats>) -> EventsReport {
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    let days = range
        .days()
        .map(|day| {
            let mut counts = BTreeMap::new();
            let mut deposits = Deposits::default();
            if let Some(s) = stats.get(&day) {
                for (metric, value) in &s.metrics {
                    if let Some(event_type) = metric.strip_prefix("events#") {
                        counts.insert(event_type.to_owned(), *value);
                        *totals.entry(event_type.to_owned()).or_default() += value;
                    } else if metric == "deposits#count" {
                        deposits.count = *value;
                    } else if let Some(currency) = metric.strip_prefix("deposits#amount#") {
                        deposits.amount.insert(currency.to_owned(), *value);
                    }
                }
            }
            EventsDay {
                date: day_key(day),
                counts,
                deposits,
            }
        })
        .collect();
    EventsReport {
        from: day_key(range.from),
        to: day_key(range.to),
        totals,
        days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn stats() -> BTreeMap<Date, DayStats> {
        let mut day = DayStats::default();
        day.metrics.insert("registrations".into(), 3);
        day.metrics.insert("events#user.registered".into(), 3);
        day.metrics.insert("events#wallet.deposited".into(), 2);
        day.metrics.insert("deposits#count".into(), 2);
        day.metrics.insert("deposits#amount#USD".into(), 1500);
        [(date!(2026 - 11 - 20), day)].into_iter().collect()
    }

    #[test]
    fn registrations_fill_every_day() {
        let range = DayRange {
            from: date!(2026 - 11 - 19),
            to: date!(2026 - 11 - 21),
        };
        let r = registrations(range, &stats());
        assert_eq!(r.total, 3);
        assert_eq!(r.days.len(), 3);
        assert_eq!(
            r.days[1],
            RegistrationsDay {
                date: "2026-11-20".into(),
                registrations: 3
            }
        );
        assert_eq!(r.days[0].registrations, 0);
    }

    #[test]
    fn events_are_counted_by_type_with_deposit_figures() {
        let range = DayRange {
            from: date!(2026 - 11 - 20),
            to: date!(2026 - 11 - 20),
        };
        let r = events(range, &stats());
        assert_eq!(r.totals["wallet.deposited"], 2);
        assert_eq!(r.days[0].deposits.count, 2);
        assert_eq!(r.days[0].deposits.amount["USD"], 1500);
    }
}
