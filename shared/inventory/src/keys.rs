//! Item keys of the inventory table, shared by both adapters.

use contracts::OrderId;

use crate::model::Sku;

pub const STOCK_SK: &str = "STOCK";
pub const RESERVATION_SK: &str = "RESERVATION";

pub fn stock_pk(sku: &Sku) -> String {
    format!("SKU#{sku}")
}

pub fn reservation_pk(order_id: OrderId) -> String {
    format!("RESERVATION#{order_id}")
}
