//! Sales figures from the order saga's outcome events.
//!
//! - `order.confirmed` is a sale: one order, its amount as revenue in its
//!   currency, and units and revenue per product, on the day it was
//!   confirmed. An order is counted once, however often its confirmation
//!   is published (a sale record per order guards it, written in the same
//!   transaction as the figures).
//! - `order.cancelled` of a confirmed order counts a cancelled sale on the
//!   day of the cancellation, and `payment.refunded` of a confirmed order
//!   counts the refunded amount (once per payment) on the day of the
//!   refund. Past days are never rewritten: a day's revenue is what was
//!   sold that day, and net revenue is revenue minus the refunds booked
//!   that day, as in a ledger.
//! - A cancellation or refund of an order that was never confirmed (out of
//!   stock, payment failed, timed out before confirmation) was never a
//!   sale: it changes no sales figure, and is counted by type like every
//!   event.

use std::collections::BTreeMap;

use contracts::events::{OrderCancelled, OrderConfirmed, PaymentRefunded};
use contracts::{Currency, DomainEvent, OrderId, ProductId, RawEnvelope};

use crate::metrics::Increment;

pub const ORDERS: &str = "sales#orders";
pub const REVENUE: &str = "sales#revenue#";
pub const UNITS: &str = "sales#units#";
pub const PRODUCT_REVENUE: &str = "sales#product_revenue#";
pub const CANCELLED: &str = "sales#cancelled";
pub const REFUNDS: &str = "sales#refunds#";

/// Products of one order that get their own figures. A transaction holds
/// at most 100 writes; this keeps an order's well below. An order with
/// more distinct products still counts in full in orders and revenue; the
/// smallest lines are left out of the per-product figures.
pub const MAX_PRODUCTS_PER_ORDER: usize = 40;

/// How a product is shown in the report (its latest known SKU and name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductLabel {
    pub sku: String,
    pub name: String,
}

/// The per-order record that makes the sales figures exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SalesGuard {
    /// Created by the order's first confirmation only.
    Confirmed {
        order_id: OrderId,
        currency: Currency,
        amount: i64,
    },
    /// Applies once, and only to a confirmed order.
    Cancelled { order_id: OrderId },
    /// Applies once per payment, and only to a confirmed order.
    Refunded {
        order_id: OrderId,
        payment_id: String,
    },
}

/// What an event adds to the sales figures, if its guard lets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesEffect {
    pub guard: SalesGuard,
    pub increments: Vec<Increment>,
    /// Labels of the `sales#units#<product>` metrics among the increments.
    pub labels: BTreeMap<String, ProductLabel>,
}

fn inc(metric: String, by: i64) -> Increment {
    Increment { metric, by }
}

/// The sales effect of an event; `None` for events that carry no sales
/// figures or whose payload is unusable (those are still counted by type).
pub fn sales_effect_for(event: &RawEnvelope) -> Option<SalesEffect> {
    match event.event_type.as_str() {
        OrderConfirmed::TYPE => match event.clone().decode::<OrderConfirmed>() {
            Ok(e) => Some(confirmed(&e.data)),
            Err(e) => {
                tracing::warn!(error = %e, "order.confirmed without a usable payload");
                None
            }
        },
        OrderCancelled::TYPE => match event.clone().decode::<OrderCancelled>() {
            Ok(e) => Some(SalesEffect {
                guard: SalesGuard::Cancelled {
                    order_id: e.data.order_id,
                },
                increments: vec![inc(CANCELLED.to_owned(), 1)],
                labels: BTreeMap::new(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "order.cancelled without a usable payload");
                None
            }
        },
        PaymentRefunded::TYPE => match event.clone().decode::<PaymentRefunded>() {
            Ok(e) => Some(SalesEffect {
                guard: SalesGuard::Refunded {
                    order_id: e.data.order_id,
                    payment_id: e.data.payment_id.clone(),
                },
                increments: vec![inc(format!("{REFUNDS}{}", e.data.currency), e.data.amount)],
                labels: BTreeMap::new(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "payment.refunded without a usable payload");
                None
            }
        },
        _ => None,
    }
}

struct ProductSale {
    label: ProductLabel,
    units: i64,
    revenue: i64,
}

fn confirmed(order: &OrderConfirmed) -> SalesEffect {
    // Lines of one product are summed first: one write per product.
    let mut products: BTreeMap<ProductId, ProductSale> = BTreeMap::new();
    for line in &order.lines {
        let p = products
            .entry(line.product_id)
            .or_insert_with(|| ProductSale {
                label: ProductLabel {
                    sku: line.sku.clone(),
                    name: line.name.clone(),
                },
                units: 0,
                revenue: 0,
            });
        p.units = p.units.saturating_add(i64::from(line.quantity));
        p.revenue = p
            .revenue
            .saturating_add(line.unit_price.saturating_mul(i64::from(line.quantity)));
    }
    let mut ranked: Vec<(ProductId, ProductSale)> = products.into_iter().collect();
    ranked.sort_by(|a, b| b.1.revenue.cmp(&a.1.revenue).then(a.0.cmp(&b.0)));
    if ranked.len() > MAX_PRODUCTS_PER_ORDER {
        tracing::warn!(
            order_id = %order.order_id,
            products = ranked.len(),
            "order has more products than get per-product figures; counting the largest"
        );
        ranked.truncate(MAX_PRODUCTS_PER_ORDER);
    }
    let currency = order.currency;
    let mut increments = vec![
        inc(ORDERS.to_owned(), 1),
        inc(format!("{REVENUE}{currency}"), order.amount),
    ];
    let mut labels = BTreeMap::new();
    for (product, sale) in ranked {
        let units = format!("{UNITS}{product}");
        increments.push(inc(units.clone(), sale.units));
        increments.push(inc(
            format!("{PRODUCT_REVENUE}{product}#{currency}"),
            sale.revenue,
        ));
        labels.insert(units, sale.label);
    }
    SalesEffect {
        guard: SalesGuard::Confirmed {
            order_id: order.order_id,
            currency,
            amount: order.amount,
        },
        increments,
        labels,
    }
}

#[cfg(test)]
mod tests {
    use contracts::events::{CancelReason, OrderLine, PaymentKind};
    use contracts::{CorrelationId, EventEnvelope, UserId};
    use time::macros::datetime;

    use super::*;

    fn line(product_id: ProductId, unit_price: i64, quantity: u32) -> OrderLine {
        OrderLine {
            product_id,
            sku: "SKU".into(),
            name: "Thing".into(),
            unit_price,
            quantity,
        }
    }

    fn raw<T: DomainEvent>(data: T) -> RawEnvelope {
        EventEnvelope::new(data, CorrelationId::new(), datetime!(2026-11-21 10:00 UTC))
            .into_raw()
            .expect("raw")
    }

    fn confirmation(lines: Vec<OrderLine>, amount: i64) -> OrderConfirmed {
        OrderConfirmed {
            order_id: OrderId::new(),
            user_id: UserId::new(),
            payment_id: "pay_1".into(),
            lines,
            amount,
            currency: Currency::EUR,
            confirmed_at: datetime!(2026-11-21 10:00 UTC),
        }
    }

    #[test]
    fn a_confirmation_adds_the_order_revenue_and_units_per_product() {
        let (mug, tea) = (ProductId::new(), ProductId::new());
        let order = confirmation(
            vec![line(mug, 1_000, 2), line(tea, 300, 1), line(mug, 1_000, 1)],
            3_300,
        );
        let effect = sales_effect_for(&raw(order.clone())).expect("sales");
        assert_eq!(
            effect.guard,
            SalesGuard::Confirmed {
                order_id: order.order_id,
                currency: Currency::EUR,
                amount: 3_300
            }
        );
        let figures: BTreeMap<String, i64> = effect
            .increments
            .iter()
            .map(|i| (i.metric.clone(), i.by))
            .collect();
        assert_eq!(figures["sales#orders"], 1);
        assert_eq!(figures["sales#revenue#EUR"], 3_300);
        assert_eq!(figures[&format!("sales#units#{mug}")], 3);
        assert_eq!(figures[&format!("sales#product_revenue#{mug}#EUR")], 3_000);
        assert_eq!(figures[&format!("sales#units#{tea}")], 1);
        assert_eq!(effect.increments.len(), 6, "one write per product");
        assert_eq!(effect.labels[&format!("sales#units#{tea}")].name, "Thing");
    }

    #[test]
    fn per_product_figures_are_bounded_by_the_transaction_size() {
        let lines = (0..60)
            .map(|i| line(ProductId::new(), 100 + i, 1))
            .collect();
        let effect = sales_effect_for(&raw(confirmation(lines, 9_570))).expect("sales");
        assert_eq!(effect.increments.len(), 2 + 2 * MAX_PRODUCTS_PER_ORDER);
        assert_eq!(effect.labels.len(), MAX_PRODUCTS_PER_ORDER);
        // The largest lines are the ones kept.
        assert!(
            effect
                .increments
                .iter()
                .filter(|i| i.metric.starts_with(PRODUCT_REVENUE))
                .all(|i| i.by >= 120)
        );
    }

    #[test]
    fn cancellations_and_refunds_are_guarded_by_the_sale() {
        let order_id = OrderId::new();
        let user_id = UserId::new();
        let cancelled = sales_effect_for(&raw(OrderCancelled {
            order_id,
            user_id,
            reason: CancelReason::CustomerRequest,
            lines: vec![],
            cancelled_at: datetime!(2026-11-22 10:00 UTC),
        }))
        .expect("effect");
        assert_eq!(cancelled.guard, SalesGuard::Cancelled { order_id });
        assert_eq!(cancelled.increments, vec![inc("sales#cancelled".into(), 1)]);

        let refunded = sales_effect_for(&raw(PaymentRefunded {
            payment_id: "pay_1".into(),
            order_id,
            user_id,
            amount: 3_300,
            currency: Currency::EUR,
            method: PaymentKind::Card,
            provider_reference: "re_1".into(),
            refunded_at: datetime!(2026-11-22 10:01 UTC),
        }))
        .expect("effect");
        assert_eq!(
            refunded.guard,
            SalesGuard::Refunded {
                order_id,
                payment_id: "pay_1".into()
            }
        );
        assert_eq!(
            refunded.increments,
            vec![inc("sales#refunds#EUR".into(), 3_300)]
        );
    }

    #[test]
    fn other_and_malformed_events_have_no_sales_effect() {
        let mut malformed = raw(confirmation(vec![], 1));
        malformed.data = serde_json::json!({"order_id": 5});
        assert_eq!(sales_effect_for(&malformed), None);
        let mut other = raw(confirmation(vec![], 1));
        other.event_type = "order.shipped".into();
        assert_eq!(sales_effect_for(&other), None);
    }
}
