//! Order events: the saga's backbone. `order.placed` starts it; inventory
//! and payments answer with their own events; the order service ends it
//! with `order.confirmed` or `order.cancelled` (which triggers the
//! compensations: stock release, refund).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::envelope::DomainEvent;
use crate::{Currency, OrderId, ProductId, UserId};

/// One line of an order, priced from the catalog at checkout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub unit_price: i64,
    pub quantity: u32,
}

/// How the customer pays, chosen at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum PaymentMethod {
    /// Debit the customer's wallet (never below zero).
    Wallet,
    /// Charge a card through the card provider; `payment_method` is the
    /// provider's reference to it (a Stripe PaymentMethod id such as
    /// `pm_card_visa`), never card data.
    Card { payment_method: String },
}

impl PaymentMethod {
    pub fn kind(&self) -> PaymentKind {
        match self {
            PaymentMethod::Wallet => PaymentKind::Wallet,
            PaymentMethod::Card { .. } => PaymentKind::Card,
        }
    }
}

/// The kind of a payment method, for events that report on a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentKind {
    Wallet,
    Card,
}

/// What the order costs and how it is paid: carried by `order.placed` and
/// echoed by `inventory.reserved`, so payments can charge without reading
/// another service's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPayment {
    pub amount: i64,
    pub currency: Currency,
    pub method: PaymentMethod,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPlaced {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub lines: Vec<OrderLine>,
    pub payment: OrderPayment,
    #[serde(with = "time::serde::rfc3339")]
    pub placed_at: OffsetDateTime,
}

impl DomainEvent for OrderPlaced {
    const TYPE: &'static str = "order.placed";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "orders";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderConfirmed {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub payment_id: String,
    pub lines: Vec<OrderLine>,
    pub amount: i64,
    pub currency: Currency,
    #[serde(with = "time::serde::rfc3339")]
    pub confirmed_at: OffsetDateTime,
}

impl DomainEvent for OrderConfirmed {
    const TYPE: &'static str = "order.confirmed";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "orders";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// Inventory could not reserve every line.
    OutOfStock,
    /// The charge was declined or failed for good.
    PaymentFailed,
    /// The customer cancelled.
    CustomerRequest,
    /// A saga step never answered; the order timed out.
    TimedOut,
}

/// The order is cancelled. Inventory releases whatever it reserved for it
/// and payments refunds whatever it charged for it; both are idempotent and
/// harmless when there is nothing to undo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderCancelled {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub reason: CancelReason,
    pub lines: Vec<OrderLine>,
    #[serde(with = "time::serde::rfc3339")]
    pub cancelled_at: OffsetDateTime,
}

impl DomainEvent for OrderCancelled {
    const TYPE: &'static str = "order.cancelled";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "orders";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderShipped {
    pub order_id: OrderId,
    pub user_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub shipped_at: OffsetDateTime,
}

impl DomainEvent for OrderShipped {
    const TYPE: &'static str = "order.shipped";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "orders";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderDelivered {
    pub order_id: OrderId,
    pub user_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub delivered_at: OffsetDateTime,
}

impl DomainEvent for OrderDelivered {
    const TYPE: &'static str = "order.delivered";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "orders";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}
