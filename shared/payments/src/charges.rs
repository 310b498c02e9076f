//! Order payments in the saga: `inventory.reserved` charges the order with
//! the method chosen at checkout, `order.cancelled` gives the money back, and
//! Stripe's webhook reconciles what the card processor reports on its own.
//!
//! - [`model`]: the charge record (one per order) and the cancellation
//!   tombstone;
//! - [`store`]: the storage port for them (implemented by the DynamoDB and
//!   in-memory adapters of the payments store);
//! - [`provider`]: the [`provider::PaymentProvider`] trait and its two
//!   implementations, the wallet (money in our own table, moved in the same
//!   transaction that records the outcome) and Stripe (money at the card
//!   processor, recorded right after it moved);
//! - [`stripe_api`]: the part of the Stripe REST API we use, as a port;
//!   `stripe::StripeClient` (feature `stripe`) speaks it over HTTPS;
//! - [`service`]: the use cases the functions call;
//! - [`signature`] and [`webhook`]: `Stripe-Signature` verification and the
//!   webhook events we understand.
//!
//! Exactly-once rules, in one place:
//! - an order has at most one charge record, written with
//!   `attribute_not_exists` in the transaction that also records its event
//!   (`payment.succeeded` or `payment.failed`), so a redelivered
//!   `inventory.reserved` announces nothing twice;
//! - a cancellation that finds no charge leaves a tombstone, in a transaction
//!   that requires the charge record to be absent; every charge write requires
//!   the tombstone to be absent. Whichever commits first wins: either the
//!   charge exists and is refunded, or the order is never charged;
//! - Stripe calls carry an `Idempotency-Key` derived from the order id, so a
//!   retried charge or refund is the same charge or refund at Stripe.

pub mod model;
pub mod provider;
pub mod service;
pub mod signature;
pub mod store;
#[cfg(feature = "stripe")]
pub mod stripe;
pub mod stripe_api;
pub mod webhook;
#[cfg(feature = "stripe")]
pub mod wiring;

#[cfg(all(test, feature = "stripe"))]
mod test_server;
