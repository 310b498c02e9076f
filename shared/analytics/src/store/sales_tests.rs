use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use contracts::events::{
    CancelReason, OrderCancelled, OrderConfirmed, OrderLine, PaymentKind, PaymentRefunded,
};
use contracts::{
    CorrelationId, Currency, DomainEvent, EventEnvelope, ProductId, RawEnvelope, UserId,
};
use time::macros::{date, datetime};

use super::*;
use crate::increments_for;
use crate::sales::sales_effect_for;

fn raw<T: DomainEvent>(data: T, at: OffsetDateTime) -> RawEnvelope {
    EventEnvelope::new(data, CorrelationId::new(), at)
        .into_raw()
        .expect("raw")
}

fn confirmed(order_id: OrderId, product: ProductId) -> RawEnvelope {
    raw(
        OrderConfirmed {
            order_id,
            user_id: UserId::new(),
            payment_id: "pay_1".into(),
            lines: vec![OrderLine {
                product_id: product,
                sku: "MUG".into(),
                name: "Mug".into(),
                unit_price: 1_000,
                quantity: 2,
            }],
            amount: 2_000,
            currency: Currency::USD,
            confirmed_at: datetime!(2026-11-21 10:00 UTC),
        },
        datetime!(2026-11-21 10:00 UTC),
    )
}

fn cancelled(order_id: OrderId) -> RawEnvelope {
    raw(
        OrderCancelled {
            order_id,
            user_id: UserId::new(),
            reason: CancelReason::CustomerRequest,
            lines: vec![],
            cancelled_at: datetime!(2026-11-22 10:00 UTC),
        },
        datetime!(2026-11-22 10:00 UTC),
    )
}

fn refunded(order_id: OrderId, payment_id: &str) -> RawEnvelope {
    raw(
        PaymentRefunded {
            payment_id: payment_id.into(),
            order_id,
            user_id: UserId::new(),
            amount: 2_000,
            currency: Currency::USD,
            method: PaymentKind::Card,
            provider_reference: "re_1".into(),
            refunded_at: datetime!(2026-11-22 10:01 UTC),
        },
        datetime!(2026-11-22 10:01 UTC),
    )
}

async fn count(store: &InMemoryStatsStore, event: &RawEnvelope) -> Counted {
    let day = event.occurred_at.date();
    let effect = sales_effect_for(event).expect("a sales event");
    store
        .record_sales(event.id.as_str(), day, &increments_for(event), &effect)
        .await
        .expect("recorded")
}

fn metric(stats: &BTreeMap<Date, DayStats>, day: Date, name: &str) -> i64 {
    stats
        .get(&day)
        .and_then(|s| s.metrics.get(name))
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn an_order_is_sold_once_however_often_its_confirmation_arrives() {
    let store = InMemoryStatsStore::new();
    let (order, product) = (OrderId::new(), ProductId::new());
    let first = confirmed(order, product);
    assert_eq!(count(&store, &first).await, Counted::Counted);
    assert_eq!(count(&store, &first).await, Counted::AlreadyCounted);
    // Republished under a new event id: counted as an event, not as a sale.
    assert_eq!(
        count(&store, &confirmed(order, product)).await,
        Counted::CountedWithoutSales
    );

    let day = date!(2026 - 11 - 21);
    let stats = store
        .stats(DayRange { from: day, to: day })
        .await
        .expect("stats");
    assert_eq!(metric(&stats, day, "sales#orders"), 1);
    assert_eq!(metric(&stats, day, "sales#revenue#USD"), 2_000);
    assert_eq!(metric(&stats, day, &format!("sales#units#{product}")), 2);
    assert_eq!(metric(&stats, day, "events#order.confirmed"), 2);
    assert_eq!(
        stats[&day].labels[&format!("sales#units#{product}")],
        ProductLabel {
            sku: "MUG".into(),
            name: "Mug".into()
        }
    );
}

#[tokio::test]
async fn only_confirmed_orders_are_cancelled_or_refunded_and_only_once() {
    let store = InMemoryStatsStore::new();
    let never_confirmed = OrderId::new();
    assert_eq!(
        count(&store, &cancelled(never_confirmed)).await,
        Counted::CountedWithoutSales
    );
    assert_eq!(
        count(&store, &refunded(never_confirmed, "pay_x")).await,
        Counted::CountedWithoutSales
    );

    let order = OrderId::new();
    count(&store, &confirmed(order, ProductId::new())).await;
    assert_eq!(count(&store, &cancelled(order)).await, Counted::Counted);
    assert_eq!(
        count(&store, &cancelled(order)).await,
        Counted::CountedWithoutSales
    );
    assert_eq!(
        count(&store, &refunded(order, "pay_1")).await,
        Counted::Counted
    );
    assert_eq!(
        count(&store, &refunded(order, "pay_1")).await,
        Counted::CountedWithoutSales
    );

    let next_day = date!(2026 - 11 - 22);
    let stats = store
        .stats(DayRange {
            from: date!(2026 - 11 - 21),
            to: next_day,
        })
        .await
        .expect("stats");
    assert_eq!(metric(&stats, next_day, "sales#cancelled"), 1);
    assert_eq!(metric(&stats, next_day, "sales#refunds#USD"), 2_000);
    assert_eq!(metric(&stats, next_day, "events#order.cancelled"), 3);
    // The sale stays on the day it was made.
    assert_eq!(metric(&stats, date!(2026 - 11 - 21), "sales#orders"), 1);
}

fn cancelled_at(index: usize) -> TransactWriteItemsError {
    let mut e = TransactionCanceledException::builder().message("Transaction cancelled");
    for i in 0..4 {
        let code = if i == index {
            "ConditionalCheckFailed"
        } else {
            "None"
        };
        e = e.cancellation_reasons(CancellationReason::builder().code(code).build());
    }
    TransactWriteItemsError::TransactionCanceledException(e.build())
}

#[tokio::test]
async fn a_sale_is_one_transaction_of_marker_guard_and_figures() {
    let seen: Arc<Mutex<Vec<TransactWriteItemsInput>>> = Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            capture.lock().expect("lock").push(req.clone());
            true
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoStatsStore::new(client, "analytics".into());
    let (order, product) = (OrderId::new(), ProductId::new());
    let event = confirmed(order, product);
    let effect = sales_effect_for(&event).expect("sale");
    let day = date!(2026 - 11 - 21);

    let counted = store
        .record_sales(event.id.as_str(), day, &increments_for(&event), &effect)
        .await
        .expect("recorded");
    assert_eq!(counted, Counted::Counted);

    let inputs = seen.lock().expect("lock").clone();
    assert_eq!(inputs.len(), 1);
    let items = inputs[0].transact_items();
    // marker, sale, events#order.confirmed, orders, revenue, units, product revenue
    assert_eq!(items.len(), 7);
    let marker = items[0].put().expect("marker");
    assert_eq!(marker.item()["pk"], s(format!("SEEN#{}", event.id)));
    let sale = items[1].put().expect("sale");
    assert_eq!(sale.item()["pk"], s(format!("SALE#{order}")));
    assert_eq!(
        sale.condition_expression(),
        Some("attribute_not_exists(pk)")
    );
    let units = items
        .iter()
        .filter_map(|i| i.update())
        .find(|u| u.key()["sk"] == s(format!("2026-11-21#sales#units#{product}")))
        .expect("units update");
    assert!(
        units
            .update_expression()
            .contains("sku = :sku, #name = :name")
    );
    let values = units.expression_attribute_values().expect("values");
    assert_eq!(values[":sku"], s("MUG"));
    assert_eq!(values[":by"], n(2));
}

#[tokio::test]
async fn a_refused_guard_still_counts_the_event_by_type() {
    let seen: Arc<Mutex<Vec<TransactWriteItemsInput>>> = Arc::default();
    let capture = seen.clone();
    let refused = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            capture.lock().expect("lock").push(req.clone());
            true
        })
        .then_error(|| cancelled_at(1));
    let plain = mock!(Client::transact_write_items)
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&refused, &plain]);
    let store = DynamoStatsStore::new(client, "analytics".into());
    let event = cancelled(OrderId::new());
    let effect = sales_effect_for(&event).expect("effect");

    let counted = store
        .record_sales(
            event.id.as_str(),
            date!(2026 - 11 - 22),
            &increments_for(&event),
            &effect,
        )
        .await
        .expect("recorded");
    assert_eq!(counted, Counted::CountedWithoutSales);
    let guard = seen.lock().expect("lock")[0].transact_items()[1]
        .update()
        .expect("guard update")
        .clone();
    assert_eq!(
        guard.condition_expression(),
        Some("attribute_exists(pk) AND attribute_not_exists(cancelled_on)")
    );
}

#[tokio::test]
async fn a_seen_event_is_already_counted() {
    let rule = mock!(Client::transact_write_items).then_error(|| cancelled_at(0));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoStatsStore::new(client, "analytics".into());
    let event = refunded(OrderId::new(), "pay_1");
    let effect = sales_effect_for(&event).expect("effect");
    let counted = store
        .record_sales(
            event.id.as_str(),
            date!(2026 - 11 - 22),
            &increments_for(&event),
            &effect,
        )
        .await
        .expect("recorded");
    assert_eq!(counted, Counted::AlreadyCounted);
}
