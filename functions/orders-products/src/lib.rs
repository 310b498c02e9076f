//! The orders service's own copy of the catalog's prices, kept from
//! `product.created`, `product.updated` and `product.deleted` (the catalog's
//! table is never read). The highest catalog version wins, so duplicates and
//! events that arrive out of order leave the projection as it should be.

use consumer_kit::{EventHandler, FromEnvelope, HandlerError};
use contracts::envelope::EnvelopeError;
use contracts::events::{ProductCreated, ProductDeleted, ProductDetails, ProductUpdated};
use contracts::{DomainEvent, EventEnvelope, ProductId, RawEnvelope};
use orders::model::{Listing, ProjectedProduct};
use orders::service::project_product;
use orders::store::OrdersStore;

pub const CONSUMER_NAME: &str = "orders-products";

/// The three catalog events this consumer takes.
#[derive(Debug, Clone)]
pub enum ProductEvent {
    Created(EventEnvelope<ProductCreated>),
    Updated(EventEnvelope<ProductUpdated>),
    Deleted(EventEnvelope<ProductDeleted>),
}

impl FromEnvelope for ProductEvent {
    fn from_envelope(raw: RawEnvelope) -> Result<Self, EnvelopeError> {
        if raw.event_type == ProductCreated::TYPE {
            raw.decode().map(ProductEvent::Created)
        } else if raw.event_type == ProductUpdated::TYPE {
            raw.decode().map(ProductEvent::Updated)
        } else {
            // Anything else is reported as "expected product.deleted".
            raw.decode().map(ProductEvent::Deleted)
        }
    }
}

fn on_sale(product_id: ProductId, version: u64, product: ProductDetails) -> ProjectedProduct {
    ProjectedProduct {
        product_id,
        version,
        sku: product.sku,
        listing: Listing::OnSale {
            name: product.name,
            price: product.price,
            currency: product.currency,
        },
    }
}

impl ProductEvent {
    /// What the projection should hold after this event.
    pub fn projection(self) -> ProjectedProduct {
        match self {
            ProductEvent::Created(e) => on_sale(e.data.product_id, e.data.version, e.data.product),
            ProductEvent::Updated(e) => on_sale(e.data.product_id, e.data.version, e.data.product),
            ProductEvent::Deleted(e) => ProjectedProduct {
                product_id: e.data.product_id,
                version: e.data.version,
                sku: e.data.sku,
                listing: Listing::Deleted,
            },
        }
    }
}

pub struct ProjectPrices<S> {
    store: S,
}

impl<S: OrdersStore> ProjectPrices<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: OrdersStore> EventHandler for ProjectPrices<S> {
    type Input = ProductEvent;

    /// Every failure is storage trouble: retryable.
    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        project_product(&self.store, input.projection())
            .await
            .map(|_| ())
            .map_err(|e| HandlerError::Retryable(e.into()))
    }
}

#[cfg(test)]
mod tests;
