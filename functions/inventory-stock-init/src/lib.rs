//! The catalog's products and inventory's stock records stay in step:
//! `product.created` opens an empty record, `product.deleted` stops the SKU
//! from being reserved.

use consumer_kit::{EventHandler, FromEnvelope, HandlerError};
use contracts::envelope::EnvelopeError;
use contracts::events::{ProductCreated, ProductDeleted};
use contracts::{DomainEvent, EventEnvelope, RawEnvelope};
use inventory::InventoryError;
use inventory::model::Sku;
use inventory::stock::{discontinue, init_stock};
use inventory::store::InventoryStore;
use time::OffsetDateTime;

pub const CONSUMER_NAME: &str = "inventory-stock-init";

/// The two catalog events this consumer's subscription lets through.
#[derive(Debug, Clone)]
pub enum CatalogEvent {
    Created(EventEnvelope<ProductCreated>),
    Deleted(EventEnvelope<ProductDeleted>),
}

impl FromEnvelope for CatalogEvent {
    fn from_envelope(raw: RawEnvelope) -> Result<Self, EnvelopeError> {
        if raw.event_type == ProductDeleted::TYPE {
            raw.decode().map(CatalogEvent::Deleted)
        } else {
            // Anything else is decoded as a creation, so an unexpected type
            // is reported as such (and dead-lettered) rather than ignored.
            raw.decode().map(CatalogEvent::Created)
        }
    }
}

pub struct InitStock<S> {
    store: S,
    threshold: u32,
}

impl<S: InventoryStore> InitStock<S> {
    pub fn new(store: S, threshold: u32) -> Self {
        Self { store, threshold }
    }
}

fn sku(raw: &str) -> Result<Sku, HandlerError> {
    Sku::parse(raw).map_err(|reason| {
        HandlerError::Permanent(anyhow::anyhow!(
            "product has an unusable sku {raw:?}: {reason}"
        ))
    })
}

fn failure(e: InventoryError) -> HandlerError {
    if e.is_permanent() {
        HandlerError::Permanent(e.into())
    } else {
        HandlerError::Retryable(e.into())
    }
}

impl<S: InventoryStore> EventHandler for InitStock<S> {
    type Input = CatalogEvent;

    /// A record that exists already is a success (a duplicate, or the
    /// deletion came first); storage failures are worth a retry.
    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        let now = OffsetDateTime::now_utc();
        match input {
            CatalogEvent::Created(event) => {
                let product = event.data;
                init_stock(
                    &self.store,
                    sku(&product.product.sku)?,
                    product.product_id,
                    self.threshold,
                    now,
                )
                .await
                .map(|_| ())
                .map_err(failure)
            }
            CatalogEvent::Deleted(event) => {
                let product = event.data;
                discontinue(
                    &self.store,
                    sku(&product.sku)?,
                    product.product_id,
                    self.threshold,
                    now,
                )
                .await
                .map(|_| ())
                .map_err(failure)
            }
        }
    }
}

#[cfg(test)]
mod tests;
