//! The orders service: carts priced from the service's own projection of
//! the catalog, checkout exactly once per `Idempotency-Key`, and the order
//! side of the saga (reserved, paid, confirmed, cancelled with compensation,
//! shipped, delivered, timed out). Business steps are plain async functions
//! in [`service`] over the [`store::OrdersStore`] port; the Lambda functions
//! in `functions/orders-*` only wire them to HTTP, SQS and the schedule.

pub mod config;
pub mod cursor;
pub mod dynamo;
pub mod error;
mod keys;
pub mod memory;
pub mod model;
pub mod pricing;
pub mod service;
pub mod store;
pub mod testing;
pub mod wiring;

pub use error::OrdersError;
