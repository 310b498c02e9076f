//! Fixtures for the unit tests of this crate and of the inventory
//! functions (feature `testing`, enabled only as a dev-dependency).

use contracts::events::{
    CancelReason, OrderCancelled, OrderConfirmed, OrderLine, OrderPayment, OrderPlaced,
    PaymentMethod,
};
use contracts::{Currency, OrderId, ProductId, UserId};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::memory::InMemoryInventoryStore;
use crate::model::{Sku, Stock};
use crate::store::InventoryStore;

/// The fixed "now" of the fixtures.
pub fn t0() -> OffsetDateTime {
    datetime!(2026-11-21 10:00 UTC)
}

pub fn sku(code: &str) -> Sku {
    Sku::parse(code).expect("valid sku")
}

/// A store holding active `(sku, available, threshold)` records.
pub fn store_with(stocks: &[(&str, u32, u32)]) -> InMemoryInventoryStore {
    let store = InMemoryInventoryStore::new();
    for (code, available, threshold) in stocks {
        let mut stock = Stock::new(sku(code), ProductId::new(), *threshold, t0());
        stock.available = *available;
        store.insert_stock(stock);
    }
    store
}

/// `(available, reserved, sold)` of a SKU that has a record.
pub async fn counts(store: &InMemoryInventoryStore, code: &str) -> (u32, u32, u64) {
    let s = store
        .stock(&sku(code))
        .await
        .expect("read")
        .expect("stock record");
    (s.available, s.reserved, s.sold)
}

pub fn line(code: &str, quantity: u32) -> OrderLine {
    OrderLine {
        product_id: ProductId::new(),
        sku: code.into(),
        name: format!("product {code}"),
        unit_price: 250,
        quantity,
    }
}

/// A new order of `lines`, paid by card.
pub fn placed(lines: Vec<OrderLine>) -> OrderPlaced {
    let amount = lines
        .iter()
        .map(|l| l.unit_price * i64::from(l.quantity))
        .sum();
    OrderPlaced {
        order_id: OrderId::new(),
        user_id: UserId::new(),
        lines,
        payment: OrderPayment {
            amount,
            currency: Currency::EUR,
            method: PaymentMethod::Card {
                payment_method: "pm_card_visa".into(),
            },
        },
        placed_at: t0(),
    }
}

pub fn cancelled(order: &OrderPlaced) -> OrderCancelled {
    OrderCancelled {
        order_id: order.order_id,
        user_id: order.user_id,
        reason: CancelReason::CustomerRequest,
        lines: order.lines.clone(),
        cancelled_at: t0(),
    }
}

pub fn confirmed(order: &OrderPlaced) -> OrderConfirmed {
    OrderConfirmed {
        order_id: order.order_id,
        user_id: order.user_id,
        payment_id: "pay_1".into(),
        lines: order.lines.clone(),
        amount: order.payment.amount,
        currency: order.payment.currency,
        confirmed_at: t0(),
    }
}

/// An SQS batch of `(message id, body)` records.
#[cfg(feature = "testing")]
pub fn sqs(messages: &[(&str, String)]) -> aws_lambda_events::sqs::SqsEvent {
    let mut event = aws_lambda_events::sqs::SqsEvent::default();
    event.records = messages
        .iter()
        .map(|(id, body)| {
            let mut m = aws_lambda_events::sqs::SqsMessage::default();
            m.message_id = Some((*id).to_owned());
            m.body = Some(body.clone());
            m
        })
        .collect();
    event
}
