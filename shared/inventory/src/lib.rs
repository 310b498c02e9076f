//! The inventory service: one stock record per SKU (created from
//! `product.created`), admin restock and thresholds, and the stock side of
//! the order saga: reserve every line of `order.placed` at once, release on
//! `order.cancelled`, commit on `order.confirmed`. Every change and the
//! events announcing it (`inventory.*`) are written in one DynamoDB
//! transaction through the outbox.
//!
//! Use cases are plain async functions in [`stock`] and [`reservations`]
//! over the [`store::InventoryStore`] port; the Lambda functions in
//! `functions/inventory-*` only wire them to HTTP and SQS.

pub mod config;
pub mod dynamo;
pub mod error;
mod keys;
pub mod memory;
pub mod model;
pub mod reservations;
mod retry;
pub mod stock;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod wiring;

pub use error::InventoryError;
