//! Inventory events: the answers to `order.placed`, and the low-stock alert.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::envelope::DomainEvent;
use crate::events::orders::{OrderLine, OrderPayment};
use crate::{OrderId, ProductId, UserId};

/// Every line of the order is reserved (one transaction: all or nothing).
/// Echoes the order's lines and payment so that payments can charge it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryReserved {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub lines: Vec<OrderLine>,
    pub payment: OrderPayment,
    #[serde(with = "time::serde::rfc3339")]
    pub reserved_at: OffsetDateTime,
}

impl DomainEvent for InventoryReserved {
    const TYPE: &'static str = "inventory.reserved";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "inventory";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}

/// A line that could not be reserved, and what was there instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShortLine {
    pub product_id: ProductId,
    pub sku: String,
    pub requested: u32,
    pub available: u32,
}

/// Nothing was reserved: at least one line is short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryReservationFailed {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub short_lines: Vec<ShortLine>,
    #[serde(with = "time::serde::rfc3339")]
    pub failed_at: OffsetDateTime,
}

impl DomainEvent for InventoryReservationFailed {
    const TYPE: &'static str = "inventory.reservation_failed";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "inventory";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}

/// The reservation of a cancelled order went back to available stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryReleased {
    pub order_id: OrderId,
    pub lines: Vec<OrderLine>,
    #[serde(with = "time::serde::rfc3339")]
    pub released_at: OffsetDateTime,
}

impl DomainEvent for InventoryReleased {
    const TYPE: &'static str = "inventory.released";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "inventory";

    fn subject(&self) -> String {
        self.order_id.to_string()
    }
}

/// Available stock of a SKU went from above its threshold to at or below it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryLowStock {
    pub product_id: ProductId,
    pub sku: String,
    pub available: u32,
    pub threshold: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub detected_at: OffsetDateTime,
}

impl DomainEvent for InventoryLowStock {
    const TYPE: &'static str = "inventory.low_stock";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "inventory";

    fn subject(&self) -> String {
        self.sku.clone()
    }
}
