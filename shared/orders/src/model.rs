use std::fmt;
use std::str::FromStr;

use contracts::events::{CancelReason, OrderLine, PaymentMethod};
use contracts::{CorrelationId, Currency, OrderId, ProductId, UserId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Where an order is in its life. The saga moves it from `pending` to
/// `confirmed` (or `cancelled`); an admin then ships and delivers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed; waiting for inventory to reserve its lines.
    Pending,
    /// Stock is held; waiting for the payment.
    Reserved,
    /// Charged. Recorded in the history only: the same write confirms it.
    Paid,
    /// Paid and reserved: the order will be fulfilled.
    Confirmed,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Pending,
        OrderStatus::Reserved,
        OrderStatus::Paid,
        OrderStatus::Confirmed,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Reserved => "reserved",
            OrderStatus::Paid => "paid",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// The status machine. Payment may be reported before the reservation
    /// is (the events travel through different queues), so `pending` may go
    /// straight to `paid`. Anything before shipping can be cancelled.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Pending, Reserved | Paid | Cancelled)
                | (Reserved, Paid | Cancelled)
                | (Paid, Confirmed | Cancelled)
                | (Confirmed, Shipped | Cancelled)
                | (Shipped, Delivered)
        )
    }

    /// Waiting for a saga step; the timeout watches these orders.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::Pending | OrderStatus::Reserved)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or("unknown order status")
    }
}

/// A refused move of the status machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

/// One entry of an order's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: OrderStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CancelReason>,
}

/// An order: what was bought at which price (fixed at checkout), how it is
/// paid, and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    /// Minor units of `currency`.
    pub total: i64,
    pub currency: Currency,
    pub payment: PaymentMethod,
    /// Set when payments reports the charge.
    pub payment_id: Option<String>,
    /// Oldest first; the last entry is the current status.
    pub history: Vec<StatusChange>,
    /// Incremented by every write; every status change is conditioned on it.
    pub version: u64,
    /// The checkout request's correlation id, so events the order emits on
    /// its own (the timeout) continue the same story in the logs.
    pub correlation_id: CorrelationId,
    pub placed_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Order {
    /// A new order in `pending`.
    pub fn place(
        id: OrderId,
        user_id: UserId,
        priced: PricedLines,
        payment: PaymentMethod,
        correlation_id: CorrelationId,
        now: OffsetDateTime,
    ) -> Self {
        let at = to_micros(now);
        Self {
            id,
            user_id,
            status: OrderStatus::Pending,
            lines: priced.lines,
            total: priced.total,
            currency: priced.currency,
            payment,
            payment_id: None,
            history: vec![StatusChange {
                status: OrderStatus::Pending,
                at,
                reason: None,
            }],
            version: 1,
            correlation_id,
            placed_at: at,
            updated_at: at,
        }
    }

    /// The order after moving to `next`, with the change in its history and
    /// the version incremented. History timestamps strictly increase even if
    /// the clocks of the writers disagree.
    pub fn transition(
        &self,
        next: OrderStatus,
        reason: Option<CancelReason>,
        now: OffsetDateTime,
    ) -> Result<Order, IllegalTransition> {
        if !self.status.can_become(next) {
            return Err(IllegalTransition {
                from: self.status,
                to: next,
            });
        }
        let at = to_micros(now).max(self.updated_at + Duration::microseconds(1));
        let mut order = self.clone();
        order.status = next;
        order.history.push(StatusChange {
            status: next,
            at,
            reason,
        });
        order.version += 1;
        order.updated_at = at;
        Ok(order)
    }

    /// Why it was cancelled, if it was.
    pub fn cancel_reason(&self) -> Option<CancelReason> {
        if self.status != OrderStatus::Cancelled {
            return None;
        }
        self.history.last().and_then(|c| c.reason)
    }
}

/// How many of one product: 1 to 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 99;

    pub fn new(value: u32) -> Result<Self, &'static str> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err("must be a whole number from 1 to 99")
        }
    }

    pub fn get(&self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = &'static str;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Quantity> for u32 {
    fn from(value: Quantity) -> Self {
        value.0
    }
}

/// One product in a cart. Only the product and the quantity: prices are
/// looked up whenever the cart is shown or checked out, never stored here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItem {
    pub product_id: ProductId,
    pub quantity: Quantity,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}

/// A user's cart: items in the order they were first added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub user_id: UserId,
    pub items: Vec<CartItem>,
    /// 0 for a cart never written; every write increments it and is
    /// conditioned on the version read, and checkout empties the cart by
    /// writing the next version, so versions never repeat.
    pub version: u64,
}

impl Cart {
    /// Distinct products per cart. Bounds the checkout's work and the size
    /// of the order item (DynamoDB items are limited to 400 KB).
    pub const MAX_LINES: usize = 50;

    pub fn empty(user_id: UserId) -> Self {
        Self {
            user_id,
            items: Vec::new(),
            version: 0,
        }
    }

    pub fn product_ids(&self) -> Vec<ProductId> {
        self.items.iter().map(|i| i.product_id).collect()
    }
}

/// What a product costs, as far as the orders service knows: its own copy
/// of the catalog's facts, kept from `product.*` events (the catalog's table
/// is never read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectedProduct {
    pub product_id: ProductId,
    /// The catalog's version of the product; older events are ignored.
    pub version: u64,
    pub sku: String,
    pub listing: Listing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    OnSale {
        name: String,
        /// Minor units.
        price: i64,
        currency: Currency,
    },
    /// A tombstone: the product is gone; it keeps its version so that a
    /// late `product.updated` cannot bring it back.
    Deleted,
}

/// Why a cart line cannot be bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailability {
    /// Deleted from the catalog, or never known to it.
    NotInCatalog,
    /// Its price is now in another currency than the rest of the cart.
    CurrencyChanged,
}

/// A cart line priced from the projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartLineView {
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub unit_price: i64,
    pub currency: Currency,
    pub quantity: u32,
    pub line_total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnavailableLineView {
    pub product_id: ProductId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub quantity: u32,
    pub reason: Unavailability,
}

/// `GET /cart`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartView {
    pub items: Vec<CartLineView>,
    /// Sum of `line_total` over `items`, in `currency`.
    pub total: i64,
    /// `null` while no line can be priced.
    pub currency: Option<Currency>,
    /// Lines kept in the cart that cannot be bought as they are; checkout
    /// refuses until they are removed.
    pub unavailable: Vec<UnavailableLineView>,
}

/// What checkout turns into an order.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedLines {
    pub lines: Vec<OrderLine>,
    pub total: i64,
    pub currency: Currency,
}

/// An order line as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLineView {
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub unit_price: i64,
    pub quantity: u32,
    pub line_total: i64,
}

/// `GET /orders/{id}`, list items, and the checkout response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderView {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub items: Vec<OrderLineView>,
    pub total: i64,
    pub currency: Currency,
    pub payment: PaymentMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<CancelReason>,
    pub history: Vec<StatusChange>,
    #[serde(with = "time::serde::rfc3339")]
    pub placed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Order> for OrderView {
    fn from(o: &Order) -> Self {
        Self {
            id: o.id,
            user_id: o.user_id,
            status: o.status,
            items: o
                .lines
                .iter()
                .map(|l| OrderLineView {
                    product_id: l.product_id,
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    unit_price: l.unit_price,
                    quantity: l.quantity,
                    // Bounded at checkout, where the sum was computed checked.
                    line_total: l.unit_price.saturating_mul(i64::from(l.quantity)),
                })
                .collect(),
            total: o.total,
            currency: o.currency,
            payment: o.payment.clone(),
            payment_id: o.payment_id.clone(),
            cancel_reason: o.cancel_reason(),
            history: o.history.clone(),
            placed_at: o.placed_at,
            updated_at: o.updated_at,
        }
    }
}

/// A page of results and the opaque cursor for the next one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A client's `Idempotency-Key`: 1 to 64 characters of `[A-Za-z0-9_-:.]`,
/// short and inert enough to become part of a DynamoDB key and a log line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.is_empty() {
            return Err("must not be empty");
        }
        if raw.len() > Self::MAX_LEN {
            return Err("must be at most 64 characters");
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-:.".contains(c))
        {
            return Err("may only contain letters, digits, '_', '-', ':' and '.'");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A completed checkout remembered under its idempotency key: what was
/// asked (as a hash) and what was answered (replayed verbatim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub user_id: UserId,
    pub key: IdempotencyKey,
    pub payload_hash: String,
    pub status: u16,
    pub body: String,
    pub expires_at: OffsetDateTime,
}

impl IdempotencyRecord {
    /// TTL deletion is lazy, so an expired record may still be read; it no
    /// longer counts (and the write condition lets a new request replace it).
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expires_at.unix_timestamp() >= now.unix_timestamp()
    }
}

/// A card payment method reference as the card provider issues it
/// (`pm_...`). Card data itself never reaches this service.
pub fn card_payment(raw: &str) -> Result<PaymentMethod, &'static str> {
    let rest = raw
        .strip_prefix("pm_")
        .ok_or("must be a payment method id starting with \"pm_\"")?;
    if rest.is_empty() || raw.len() > 255 {
        return Err("must be a payment method id of 4 to 255 characters");
    }
    if !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("may only contain letters, digits and '_'");
    }
    Ok(PaymentMethod::Card {
        payment_method: raw.to_owned(),
    })
}

/// Timestamps are kept to the microsecond: sort keys hold exactly that
/// precision, so stored and in-memory values compare equal.
pub fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn order(status: OrderStatus) -> Order {
        let mut o = Order::place(
            OrderId::new(),
            UserId::new(),
            PricedLines {
                lines: vec![],
                total: 0,
                currency: Currency::USD,
            },
            PaymentMethod::Wallet,
            CorrelationId::new(),
            datetime!(2026-11-21 10:00 UTC),
        );
        o.status = status;
        o
    }

    #[test]
    fn every_legal_transition_is_allowed() {
        use OrderStatus::*;
        let legal = [
            (Pending, Reserved),
            (Pending, Paid),
            (Pending, Cancelled),
            (Reserved, Paid),
            (Reserved, Cancelled),
            (Paid, Confirmed),
            (Paid, Cancelled),
            (Confirmed, Shipped),
            (Confirmed, Cancelled),
            (Shipped, Delivered),
        ];
        for (from, to) in legal {
            assert!(from.can_become(to), "{from} -> {to} should be legal");
            let next = order(from)
                .transition(to, None, datetime!(2026-11-21 10:01 UTC))
                .expect("legal");
            assert_eq!(next.status, to);
        }
        // Everything else, self-transitions included, is refused.
        let mut illegal = 0;
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                if legal.contains(&(from, to)) {
                    continue;
                }
                illegal += 1;
                assert!(!from.can_become(to), "{from} -> {to} should be illegal");
                assert_eq!(
                    order(from).transition(to, None, datetime!(2026-11-21 10:01 UTC)),
                    Err(IllegalTransition { from, to })
                );
            }
        }
        assert_eq!(illegal, 7 * 7 - legal.len());
    }

    #[test]
    fn terminal_states_go_nowhere_and_only_waiting_states_are_open() {
        for to in OrderStatus::ALL {
            assert!(!OrderStatus::Delivered.can_become(to));
            assert!(!OrderStatus::Cancelled.can_become(to));
        }
        let open: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(open, vec![OrderStatus::Pending, OrderStatus::Reserved]);
    }

    #[test]
    fn transitions_append_history_and_bump_the_version() {
        let placed = order(OrderStatus::Pending);
        // A writer whose clock is behind still records a later instant.
        let cancelled = placed
            .transition(
                OrderStatus::Cancelled,
                Some(CancelReason::OutOfStock),
                datetime!(2026-11-21 09:00 UTC),
            )
            .expect("legal");
        assert_eq!(cancelled.version, placed.version + 1);
        assert_eq!(cancelled.history.len(), 2);
        assert_eq!(cancelled.history[1].status, OrderStatus::Cancelled);
        assert!(cancelled.history[1].at > cancelled.history[0].at);
        assert_eq!(cancelled.updated_at, cancelled.history[1].at);
        assert_eq!(cancelled.cancel_reason(), Some(CancelReason::OutOfStock));
        assert_eq!(placed.cancel_reason(), None);
    }

    #[test]
    fn statuses_round_trip_through_text_and_json() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).expect("json"),
                serde_json::json!(status.as_str())
            );
        }
        assert!("Shipped".parse::<OrderStatus>().is_err());
    }

    #[test]
    fn history_entries_carry_a_reason_only_when_there_is_one() {
        let change = StatusChange {
            status: OrderStatus::Pending,
            at: datetime!(2026-11-21 10:00:00.5 UTC),
            reason: None,
        };
        assert_eq!(
            serde_json::to_value(&change).expect("json"),
            serde_json::json!({"status": "pending", "at": "2026-11-21T10:00:00.5Z"})
        );
        let cancelled = StatusChange {
            reason: Some(CancelReason::TimedOut),
            status: OrderStatus::Cancelled,
            ..change
        };
        assert_eq!(
            serde_json::to_value(&cancelled).expect("json")["reason"],
            "timed_out"
        );
    }

    #[test]
    fn quantities_are_one_to_ninety_nine() {
        assert!(Quantity::new(1).is_ok());
        assert!(Quantity::new(99).is_ok());
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(100).is_err());
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert_eq!(
            serde_json::from_str::<Quantity>("7").expect("ok"),
            Quantity(7)
        );
    }

    #[test]
    fn card_references_are_provider_ids_only() {
        assert_eq!(
            card_payment("pm_card_visa"),
            Ok(PaymentMethod::Card {
                payment_method: "pm_card_visa".into()
            })
        );
        for bad in [
            "",
            "pm_",
            "card_visa",
            "pm_card visa",
            "pm_4242-4242",
            "PM_x",
        ] {
            assert!(card_payment(bad).is_err(), "{bad:?}");
        }
        assert!(card_payment(&format!("pm_{}", "x".repeat(253))).is_err());
        assert!(card_payment(&format!("pm_{}", "x".repeat(252))).is_ok());
    }

    #[test]
    fn idempotency_keys_are_short_and_inert() {
        for good in ["a", "order-42", "2026-11-21T10:00:00.123Z", "A_b-C:d.e"] {
            assert!(IdempotencyKey::parse(good).is_ok(), "{good:?}");
        }
        for bad in ["", "has space", "slash/y", "é", "a#b"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(65)).is_err());
    }
}
