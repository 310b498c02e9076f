//! The search read model (CQRS): `catalog-search-indexer` keeps it up to
//! date from `product.*` events; `GET /products` reads nothing else.
//!
//! Why a table of its own (`CatalogSearchTable`) rather than a key space of
//! the catalog table:
//! - the catalog table's stream feeds the outbox relay; one product change
//!   writes up to a few hundred postings, and every one of them would be a
//!   stream record the relay is invoked for and filters away;
//! - the read model is disposable: it can be dropped and rebuilt by
//!   replaying events (or re-put products) without touching the source of
//!   truth, and its schema (the `by_price` index) can change the same way;
//! - least privilege: the search function reads only the read model, the
//!   indexer writes only the read model, and neither can touch products;
//! - its throughput and cost show up separately from the catalog's.
//!
//! It is still the catalog's own table (database per service): no other
//! service reads it.

pub mod cursor;
pub mod dynamo;
pub mod indexer;
pub mod memory;
pub mod model;
pub mod query;
pub mod store;
pub mod tokens;

pub use indexer::{IndexOutcome, ProductChange, apply_change};
pub use query::{SearchQuery, Sort, search};

#[cfg(test)]
mod tests;
