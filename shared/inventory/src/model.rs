use std::fmt;
use std::str::FromStr;

use contracts::events::{OrderLine, ShortLine};
use contracts::{OrderId, ProductId, UserId};
use serde::Serialize;
use time::OffsetDateTime;

/// Upper bound of every stock quantity and threshold an admin may set: far
/// above any real shelf, far below `u32::MAX`, so sums of a few of them
/// never overflow.
pub const MAX_UNITS: u32 = 1_000_000_000;

/// Distinct SKUs one order may reserve. A reservation is one DynamoDB
/// transaction (at most 100 actions) of: the reservation record, one update
/// per SKU, the `inventory.reserved` event and up to one
/// `inventory.low_stock` event per SKU, so `2n + 2 <= 100`.
pub const MAX_DISTINCT_SKUS: usize = 49;

/// A stock-keeping unit code, as the catalog assigns it: 1 to 64 ASCII
/// letters, digits, `-`, `_` or `.`, case-sensitive. Safe in a DynamoDB key,
/// a URL path segment and a log line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Sku(String);

impl Sku {
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
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err("may only contain letters, digits, '-', '_' and '.'");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Sku {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a SKU can still be sold. A product deleted from the catalog keeps
/// its stock record (reservations and history refer to it) but can no longer
/// be reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StockStatus {
    Active,
    Discontinued,
}

impl StockStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StockStatus::Active => "active",
            StockStatus::Discontinued => "discontinued",
        }
    }
}

impl FromStr for StockStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(StockStatus::Active),
            "discontinued" => Ok(StockStatus::Discontinued),
            other => Err(format!("unknown stock status {other:?}")),
        }
    }
}

/// The stock of one SKU. `available` can be reserved; `reserved` is held for
/// orders in flight; `sold` left with confirmed orders. None of them is ever
/// negative: every write that lowers one is conditioned on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stock {
    pub sku: Sku,
    pub product_id: ProductId,
    pub available: u32,
    pub reserved: u32,
    pub sold: u64,
    /// `inventory.low_stock` is announced when `available` goes from above
    /// this to at or below it.
    pub threshold: u32,
    pub status: StockStatus,
    /// Incremented by every write; admin changes are conditioned on it.
    pub version: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Stock {
    /// The record of a new product: nothing on the shelf yet.
    pub fn new(sku: Sku, product_id: ProductId, threshold: u32, now: OffsetDateTime) -> Self {
        Self {
            sku,
            product_id,
            available: 0,
            reserved: 0,
            sold: 0,
            threshold,
            status: StockStatus::Active,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_reservable(&self) -> bool {
        self.status == StockStatus::Active
    }

    /// What can be reserved from this record right now: a discontinued SKU
    /// offers nothing, whatever is on the shelf.
    pub fn reservable(&self) -> u32 {
        if self.is_reservable() {
            self.available
        } else {
            0
        }
    }

    /// The record after an admin change, or why the change is refused.
    pub fn apply(&self, change: &StockChange, now: OffsetDateTime) -> Result<Stock, ChangeRefused> {
        let available = match change.available {
            None => self.available,
            Some(AvailableChange::Set(units)) => units,
            Some(AvailableChange::Add(delta)) => {
                let result = i64::from(self.available) + delta;
                if result < 0 {
                    return Err(ChangeRefused::WouldGoNegative {
                        available: self.available,
                        delta,
                    });
                }
                u32::try_from(result)
                    .ok()
                    .filter(|units| *units <= MAX_UNITS)
                    .ok_or(ChangeRefused::AboveLimit {
                        available: self.available,
                        delta,
                    })?
            }
        };
        Ok(Stock {
            available,
            threshold: change.threshold.unwrap_or(self.threshold),
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        })
    }
}

/// The low-stock rule: available stock went from above the threshold to at
/// or below it. Only the crossing counts, not every write while low; raising
/// the threshold above what is available is a crossing too (the admin just
/// said this level is low). A discontinued SKU is not restocked, so writing
/// off its remains alerts nobody.
pub fn crosses_threshold(before: &Stock, after: &Stock) -> bool {
    after.is_reservable()
        && before.available > before.threshold
        && after.available <= after.threshold
}

/// How an admin changes what is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvailableChange {
    /// The counted stock on the shelf (absolute).
    Set(u32),
    /// A restock (positive) or a write-off (negative).
    Add(i64),
}

/// A validated `PUT /inventory/{sku}`: at least one part is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockChange {
    pub available: Option<AvailableChange>,
    pub threshold: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefused {
    #[error("adding {delta} to {available} available units would go below zero")]
    WouldGoNegative { available: u32, delta: i64 },
    #[error("adding {delta} to {available} available units would exceed {MAX_UNITS}")]
    AboveLimit { available: u32, delta: i64 },
}

/// What the admin endpoints show of a stock record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockView {
    pub sku: Sku,
    pub product_id: ProductId,
    pub available: u32,
    pub reserved: u32,
    pub sold: u64,
    pub threshold: u32,
    pub status: StockStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Stock> for StockView {
    fn from(s: &Stock) -> Self {
        Self {
            sku: s.sku.clone(),
            product_id: s.product_id,
            available: s.available,
            reserved: s.reserved,
            sold: s.sold,
            threshold: s.threshold,
            status: s.status,
            updated_at: s.updated_at,
        }
    }
}

/// Where an order's stock is in the saga. The record is keyed by order id,
/// so whichever event comes first for an order decides, once, what the
/// others find:
///
/// ```text
/// order.placed    -> Reserved | Failed
/// order.cancelled -> Reserved  -> Released   (stock back to available)
///                    Committed -> Released   (sold stock back to available)
///                    none      -> Cancelled  (a late order.placed reserves nothing)
/// order.confirmed -> Reserved  -> Committed  (reserved stock is sold)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReservationStatus {
    Reserved,
    Failed,
    Released,
    Committed,
    /// The order was cancelled before its `order.placed` was handled.
    Cancelled,
}

impl ReservationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Reserved => "reserved",
            ReservationStatus::Failed => "failed",
            ReservationStatus::Released => "released",
            ReservationStatus::Committed => "committed",
            ReservationStatus::Cancelled => "cancelled",
        }
    }
}

impl FromStr for ReservationStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reserved" => Ok(ReservationStatus::Reserved),
            "failed" => Ok(ReservationStatus::Failed),
            "released" => Ok(ReservationStatus::Released),
            "committed" => Ok(ReservationStatus::Committed),
            "cancelled" => Ok(ReservationStatus::Cancelled),
            other => Err(format!("unknown reservation status {other:?}")),
        }
    }
}

/// The stock taken (or not) for one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub status: ReservationStatus,
    /// The order's lines as placed: what is echoed in the events.
    pub lines: Vec<OrderLine>,
    /// Why a `Failed` reservation failed; empty otherwise.
    pub short_lines: Vec<ShortLine>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Reservation {
    /// Stock per SKU that this reservation holds (or held).
    pub fn quantities(&self) -> Result<Vec<SkuQuantity>, LinesRejected> {
        merge_lines(&self.lines)
    }
}

/// The total quantity of one SKU in an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuQuantity {
    pub sku: Sku,
    pub product_id: ProductId,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinesRejected {
    #[error("line {index} has an invalid sku {sku:?}: {reason}")]
    InvalidSku {
        index: usize,
        sku: String,
        reason: &'static str,
    },
    #[error(
        "the order has {count} distinct SKUs; at most {MAX_DISTINCT_SKUS} can be reserved at once"
    )]
    TooManySkus { count: usize },
}

/// One quantity per SKU, in the order the SKUs first appear. DynamoDB
/// refuses a transaction with two actions on one item, so two lines of one
/// SKU must become one update. Lines of quantity zero reserve nothing and
/// are dropped; a sum beyond `u32` saturates, which no stock can satisfy.
pub fn merge_lines(lines: &[OrderLine]) -> Result<Vec<SkuQuantity>, LinesRejected> {
    let mut merged: Vec<SkuQuantity> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let sku = Sku::parse(&line.sku).map_err(|reason| LinesRejected::InvalidSku {
            index,
            sku: line.sku.clone(),
            reason,
        })?;
        if line.quantity == 0 {
            continue;
        }
        match merged.iter_mut().find(|m| m.sku == sku) {
            Some(existing) => existing.quantity = existing.quantity.saturating_add(line.quantity),
            None => merged.push(SkuQuantity {
                sku,
                product_id: line.product_id,
                quantity: line.quantity,
            }),
        }
    }
    if merged.len() > MAX_DISTINCT_SKUS {
        return Err(LinesRejected::TooManySkus {
            count: merged.len(),
        });
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn sku(s: &str) -> Sku {
        Sku::parse(s).expect("valid sku")
    }

    fn line(sku: &str, quantity: u32) -> OrderLine {
        OrderLine {
            product_id: ProductId::new(),
            sku: sku.into(),
            name: "thing".into(),
            unit_price: 100,
            quantity,
        }
    }

    fn stock(available: u32, threshold: u32) -> Stock {
        let mut s = Stock::new(
            sku("MUG-001"),
            ProductId::new(),
            threshold,
            datetime!(2026-11-21 10:00 UTC),
        );
        s.available = available;
        s
    }

    #[test]
    fn skus_are_short_inert_codes() {
        assert_eq!(sku("MUG-001").as_str(), "MUG-001");
        assert!(Sku::parse("tea_10.green").is_ok());
        for bad in ["", "has space", "a/b", "x#y", "é", &"A".repeat(65)] {
            assert!(Sku::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Sku::parse(&"A".repeat(64)).is_ok());
    }

    #[test]
    fn lines_of_one_sku_are_merged_and_empty_lines_dropped() {
        let lines = [line("A", 2), line("B", 1), line("A", 3), line("C", 0)];
        let merged = merge_lines(&lines).expect("merged");
        assert_eq!(
            merged
                .iter()
                .map(|m| (m.sku.as_str(), m.quantity))
                .collect::<Vec<_>>(),
            vec![("A", 5), ("B", 1)]
        );
        assert_eq!(merged[0].product_id, lines[0].product_id);
    }

    #[test]
    fn merging_saturates_instead_of_overflowing() {
        let merged = merge_lines(&[line("A", u32::MAX), line("A", 5)]).expect("merged");
        assert_eq!(merged[0].quantity, u32::MAX);
    }

    #[test]
    fn bad_skus_and_huge_orders_are_rejected() {
        assert!(matches!(
            merge_lines(&[line("A", 1), line("no good", 1)]),
            Err(LinesRejected::InvalidSku { index: 1, .. })
        ));
        let many: Vec<OrderLine> = (0..=MAX_DISTINCT_SKUS)
            .map(|i| line(&format!("S{i}"), 1))
            .collect();
        assert_eq!(
            merge_lines(&many),
            Err(LinesRejected::TooManySkus {
                count: MAX_DISTINCT_SKUS + 1
            })
        );
        assert!(merge_lines(&many[..MAX_DISTINCT_SKUS]).is_ok());
    }

    #[test]
    fn admin_changes_never_go_negative_or_beyond_the_limit() {
        let now = datetime!(2026-11-21 11:00 UTC);
        let s = stock(3, 5);
        let set = StockChange {
            available: Some(AvailableChange::Set(40)),
            threshold: Some(7),
        };
        let after = s.apply(&set, now).expect("set");
        assert_eq!((after.available, after.threshold), (40, 7));
        assert_eq!(after.version, s.version + 1);
        assert_eq!(after.updated_at, now);

        let add = |delta| StockChange {
            available: Some(AvailableChange::Add(delta)),
            threshold: None,
        };
        assert_eq!(s.apply(&add(-3), now).expect("to zero").available, 0);
        assert_eq!(
            s.apply(&add(-4), now),
            Err(ChangeRefused::WouldGoNegative {
                available: 3,
                delta: -4
            })
        );
        assert!(matches!(
            s.apply(&add(i64::from(MAX_UNITS)), now),
            Err(ChangeRefused::AboveLimit { .. })
        ));
        assert_eq!(s.apply(&add(10), now).expect("restock").available, 13);
    }

    #[test]
    fn only_a_downward_crossing_is_low_stock() {
        // Going down across the threshold, or landing exactly on it.
        assert!(crosses_threshold(&stock(10, 5), &stock(5, 5)));
        assert!(crosses_threshold(&stock(6, 5), &stock(0, 5)));
        // Already low: further sales are not a new crossing.
        assert!(!crosses_threshold(&stock(5, 5), &stock(4, 5)));
        // Still above, or going up.
        assert!(!crosses_threshold(&stock(10, 5), &stock(6, 5)));
        assert!(!crosses_threshold(&stock(2, 5), &stock(20, 5)));
        // Raising the threshold above what is available.
        assert!(crosses_threshold(&stock(8, 5), &stock(8, 10)));
        // Nobody restocks a discontinued SKU.
        let mut gone = stock(0, 5);
        gone.status = StockStatus::Discontinued;
        assert!(!crosses_threshold(&stock(10, 5), &gone));
    }

    #[test]
    fn a_discontinued_sku_offers_nothing() {
        let mut s = stock(9, 1);
        assert_eq!(s.reservable(), 9);
        s.status = StockStatus::Discontinued;
        assert_eq!(s.reservable(), 0);
    }
}
