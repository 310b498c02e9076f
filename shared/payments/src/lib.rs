//! The payments service: one payment account (with its wallet) per user,
//! opened from `user.registered`; deposits credited exactly once per
//! `Idempotency-Key`; balance and ledger reads. Business steps are plain async
//! functions in [`service`] over the [`store::PaymentsStore`] port; the Lambda
//! functions in `functions/payments-*` only wire them to HTTP and SQS.

pub mod charges;
pub mod config;
pub mod cursor;
pub mod dynamo;
pub mod error;
mod keys;
pub mod memory;
pub mod model;
pub mod service;
pub mod store;
pub mod wiring;

pub use error::PaymentsError;
