//! Contracts shared by every service: the event envelope, the typed event
//! catalogue and the newtypes that untrusted input is parsed into.
//!
//! This crate has no AWS or Lambda dependency on purpose: it is compiled into
//! every function and must stay cheap.

pub mod envelope;
pub mod events;
pub mod ids;
pub mod money;
pub mod user;

pub use envelope::{CorrelationId, DomainEvent, EventEnvelope, EventId, RawEnvelope};
pub use ids::{InvalidId, OrderId, ProductId, UserId};
pub use money::{Currency, Money};
pub use user::{Email, PersonName, Role};
