//! Keeps the catalog's search read model up to date from
//! `product.created|updated|deleted`. Duplicate, late and out-of-order
//! events are harmless: the indexer applies a version only if it is newer
//! than the one indexed (see `catalog::search::indexer`).

use catalog::search::store::SearchStore;
use catalog::search::{ProductChange, apply_change};
use consumer_kit::{EventHandler, FromEnvelope, HandlerError};
use contracts::envelope::EnvelopeError;
use contracts::events::{ProductCreated, ProductDeleted, ProductUpdated};
use contracts::{DomainEvent, EventEnvelope, RawEnvelope};
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "catalog-search-indexer";

/// The three event types this consumer's subscription lets through.
#[derive(Debug, Clone)]
pub enum ProductEvent {
    Created(EventEnvelope<ProductCreated>),
    Updated(EventEnvelope<ProductUpdated>),
    Deleted(EventEnvelope<ProductDeleted>),
}

impl FromEnvelope for ProductEvent {
    fn from_envelope(raw: RawEnvelope) -> Result<Self, EnvelopeError> {
        match raw.event_type.as_str() {
            ProductUpdated::TYPE => raw.decode().map(Self::Updated),
            ProductDeleted::TYPE => raw.decode().map(Self::Deleted),
            // Any other type fails here with a precise "wrong type" error.
            _ => raw.decode().map(Self::Created),
        }
    }
}

pub struct IndexProducts<S> {
    store: S,
}

impl<S: SearchStore> IndexProducts<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: SearchStore> EventHandler for IndexProducts<S> {
    type Input = ProductEvent;

    /// Every failure is storage trouble (or a claim race that kept being
    /// lost), so worth a retry.
    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        let change = match &input {
            ProductEvent::Created(e) => ProductChange::Upsert {
                product_id: e.data.product_id,
                version: e.data.version,
                product: &e.data.product,
                at: e.data.created_at,
            },
            ProductEvent::Updated(e) => ProductChange::Upsert {
                product_id: e.data.product_id,
                version: e.data.version,
                product: &e.data.product,
                at: e.data.updated_at,
            },
            ProductEvent::Deleted(e) => ProductChange::Delete {
                product_id: e.data.product_id,
                version: e.data.version,
            },
        };
        apply_change(&self.store, change, OffsetDateTime::now_utc())
            .await
            .map(|_| ())
            .map_err(HandlerError::Retryable)
    }
}

#[cfg(test)]
mod tests;
