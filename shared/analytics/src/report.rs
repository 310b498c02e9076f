//! The admin reports, built from the daily aggregates.

use std::collections::BTreeMap;

use serde::Serialize;
use time::Date;

use crate::day_key;
use crate::range::DayRange;
use crate::sales::{self, ProductLabel};
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

/// An amount of money in one currency, minor units.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Amount {
    pub currency: String,
    pub amount: i64,
}

/// One product among the best sellers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TopProduct {
    pub product_id: String,
    pub sku: String,
    pub name: String,
    pub units: i64,
    pub revenue: Vec<Amount>,
}

/// Sales figures of a day, or of the whole range.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SalesFigures {
    /// Orders confirmed.
    pub orders: i64,
    /// What the confirmed orders cost, per currency.
    pub revenue: Vec<Amount>,
    /// Confirmed orders cancelled afterwards (counted on the day of the
    /// cancellation).
    pub cancelled_orders: i64,
    /// Money refunded on confirmed orders (on the day of the refund).
    pub refunds: Vec<Amount>,
    /// `revenue - refunds`, per currency.
    pub net_revenue: Vec<Amount>,
    /// At most [`TOP_PRODUCTS`], by units sold.
    pub top_products: Vec<TopProduct>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SalesDay {
    pub date: String,
    #[serde(flatten)]
    pub figures: SalesFigures,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SalesReport {
    pub from: String,
    pub to: String,
    pub totals: SalesFigures,
    pub days: Vec<SalesDay>,
}

pub const TOP_PRODUCTS: usize = 5;

/// Sums, per currency, of the metrics `<prefix><currency>`.
#[derive(Default)]
struct Tally {
    orders: i64,
    cancelled: i64,
    revenue: BTreeMap<String, i64>,
    refunds: BTreeMap<String, i64>,
    units: BTreeMap<String, i64>,
    product_revenue: BTreeMap<String, BTreeMap<String, i64>>,
    labels: BTreeMap<String, ProductLabel>,
}

impl Tally {
    fn add(&mut self, stats: &DayStats) {
        for (metric, value) in &stats.metrics {
            if metric == sales::ORDERS {
                self.orders += value;
            } else if metric == sales::CANCELLED {
                self.cancelled += value;
            } else if let Some(currency) = metric.strip_prefix(sales::REVENUE) {
                *self.revenue.entry(currency.to_owned()).or_default() += value;
            } else if let Some(currency) = metric.strip_prefix(sales::REFUNDS) {
                *self.refunds.entry(currency.to_owned()).or_default() += value;
            } else if let Some(product) = metric.strip_prefix(sales::UNITS) {
                *self.units.entry(product.to_owned()).or_default() += value;
                if let Some(label) = stats.labels.get(metric) {
                    self.labels.insert(product.to_owned(), label.clone());
                }
            } else if let Some(rest) = metric.strip_prefix(sales::PRODUCT_REVENUE)
                && let Some((product, currency)) = rest.split_once('#')
            {
                *self
                    .product_revenue
                    .entry(product.to_owned())
                    .or_default()
                    .entry(currency.to_owned())
                    .or_default() += value;
            }
        }
    }

    fn figures(&self) -> SalesFigures {
        let amounts = |m: &BTreeMap<String, i64>| -> Vec<Amount> {
            m.iter()
                .map(|(currency, amount)| Amount {
                    currency: currency.clone(),
                    amount: *amount,
                })
                .collect()
        };
        let mut net = self.revenue.clone();
        for (currency, refunded) in &self.refunds {
            *net.entry(currency.clone()).or_default() -= refunded;
        }
        let mut ranked: Vec<(&String, &i64)> = self.units.iter().collect();
        // Most units first; ties by product id, so the order is stable.
        ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top_products = ranked
            .into_iter()
            .take(TOP_PRODUCTS)
            .map(|(product, units)| {
                let label = self.labels.get(product);
                TopProduct {
                    product_id: product.clone(),
                    sku: label.map(|l| l.sku.clone()).unwrap_or_default(),
                    name: label.map(|l| l.name.clone()).unwrap_or_default(),
                    units: *units,
                    revenue: self
                        .product_revenue
                        .get(product)
                        .map(amounts)
                        .unwrap_or_default(),
                }
            })
            .collect();
        SalesFigures {
            orders: self.orders,
            revenue: amounts(&self.revenue),
            cancelled_orders: self.cancelled,
            refunds: amounts(&self.refunds),
            net_revenue: amounts(&net),
            top_products,
        }
    }
}

/// Orders, revenue and best sellers per day (every day of the range, zeros
/// included) and over the whole range.
pub fn sales(range: DayRange, stats: &BTreeMap<Date, DayStats>) -> SalesReport {
    let mut total = Tally::default();
    let days = range
        .days()
        .map(|day| {
            let mut tally = Tally::default();
            if let Some(s) = stats.get(&day) {
                tally.add(s);
                total.add(s);
            }
            SalesDay {
                date: day_key(day),
                figures: tally.figures(),
            }
        })
        .collect();
    SalesReport {
        from: day_key(range.from),
        to: day_key(range.to),
        totals: total.figures(),
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

    fn sales_day(entries: &[(&str, i64)], labels: &[(&str, &str, &str)]) -> DayStats {
        let mut day = DayStats::default();
        for (metric, value) in entries {
            day.metrics.insert((*metric).into(), *value);
        }
        for (metric, sku, name) in labels {
            day.labels.insert(
                (*metric).into(),
                ProductLabel {
                    sku: (*sku).into(),
                    name: (*name).into(),
                },
            );
        }
        day
    }

    #[test]
    fn sales_per_day_with_top_products_and_totals() {
        let first = sales_day(
            &[
                ("sales#orders", 3),
                ("sales#revenue#USD", 9_000),
                ("sales#revenue#EUR", 1_000),
                ("sales#units#p1", 5),
                ("sales#product_revenue#p1#USD", 5_000),
                ("sales#units#p2", 1),
                ("sales#product_revenue#p2#EUR", 1_000),
                ("sales#units#p3", 2),
                ("sales#product_revenue#p3#USD", 4_000),
                ("events#order.confirmed", 3),
            ],
            &[
                ("sales#units#p1", "MUG", "Mug"),
                ("sales#units#p2", "TEA", "Tea"),
                ("sales#units#p3", "CUP", "Cup"),
            ],
        );
        let second = sales_day(
            &[
                ("sales#cancelled", 1),
                ("sales#refunds#USD", 2_000),
                ("sales#orders", 1),
                ("sales#revenue#USD", 500),
                ("sales#units#p2", 7),
                ("sales#product_revenue#p2#USD", 500),
            ],
            &[("sales#units#p2", "TEA", "Green tea")],
        );
        let stats: BTreeMap<Date, DayStats> = [
            (date!(2026 - 11 - 20), first),
            (date!(2026 - 11 - 22), second),
        ]
        .into_iter()
        .collect();
        let range = DayRange {
            from: date!(2026 - 11 - 20),
            to: date!(2026 - 11 - 22),
        };

        let r = sales(range, &stats);

        assert_eq!(r.days.len(), 3);
        let d0 = &r.days[0].figures;
        assert_eq!(d0.orders, 3);
        assert_eq!(
            d0.revenue,
            vec![
                Amount {
                    currency: "EUR".into(),
                    amount: 1_000
                },
                Amount {
                    currency: "USD".into(),
                    amount: 9_000
                }
            ]
        );
        let top: Vec<(&str, i64)> = d0
            .top_products
            .iter()
            .map(|p| (p.product_id.as_str(), p.units))
            .collect();
        assert_eq!(top, vec![("p1", 5), ("p3", 2), ("p2", 1)]);
        assert_eq!(d0.top_products[0].sku, "MUG");
        assert_eq!(
            d0.top_products[0].revenue,
            vec![Amount {
                currency: "USD".into(),
                amount: 5_000
            }]
        );
        assert_eq!(r.days[1].figures, SalesFigures::default());
        let d2 = &r.days[2].figures;
        assert_eq!(d2.cancelled_orders, 1);
        assert_eq!(
            d2.net_revenue,
            vec![Amount {
                currency: "USD".into(),
                amount: -1_500
            }]
        );

        assert_eq!(r.totals.orders, 4);
        assert_eq!(r.totals.cancelled_orders, 1);
        assert_eq!(
            r.totals.net_revenue,
            vec![
                Amount {
                    currency: "EUR".into(),
                    amount: 1_000
                },
                Amount {
                    currency: "USD".into(),
                    amount: 7_500
                }
            ]
        );
        let best = &r.totals.top_products[0];
        assert_eq!((best.product_id.as_str(), best.units), ("p2", 8));
        assert_eq!(best.name, "Green tea", "the latest label wins");
        assert_eq!(
            best.revenue,
            vec![
                Amount {
                    currency: "EUR".into(),
                    amount: 1_000
                },
                Amount {
                    currency: "USD".into(),
                    amount: 500
                }
            ]
        );

        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["days"][0]["date"], "2026-11-20");
        assert_eq!(json["days"][0]["orders"], 3);
        assert_eq!(json["totals"]["top_products"][0]["sku"], "TEA");
    }

    #[test]
    fn only_the_five_best_sellers_are_listed() {
        let entries: Vec<(String, i64)> =
            (1..=8).map(|i| (format!("sales#units#p{i}"), i)).collect();
        let refs: Vec<(&str, i64)> = entries.iter().map(|(m, v)| (m.as_str(), *v)).collect();
        let stats: BTreeMap<Date, DayStats> = [(date!(2026 - 11 - 20), sales_day(&refs, &[]))]
            .into_iter()
            .collect();
        let range = DayRange {
            from: date!(2026 - 11 - 20),
            to: date!(2026 - 11 - 20),
        };
        let r = sales(range, &stats);
        let ids: Vec<&str> = r
            .totals
            .top_products
            .iter()
            .map(|p| p.product_id.as_str())
            .collect();
        assert_eq!(ids, vec!["p8", "p7", "p6", "p5", "p4"]);
    }
}
