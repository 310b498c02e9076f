use std::future::Future;

use contracts::{ProductId, RawEnvelope};
use time::OffsetDateTime;

use crate::model::Product;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another product holds the SKU: nothing was written.
    #[error("sku is taken")]
    SkuTaken,
    /// The product is no longer at the version read (another write got in
    /// first, or it was deleted), or a concurrent transaction held it:
    /// nothing was written.
    #[error("product changed concurrently")]
    Stale,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Storage port of the catalog. Every write is one transaction with its
/// outbox event, and every change of an existing product is conditioned on
/// the version that was read (optimistic concurrency).
pub trait CatalogStore: Send + Sync {
    /// Stores a new product, claims its SKU and records `event`.
    /// `SkuTaken` when another product has the SKU.
    fn create(
        &self,
        product: &Product,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The product (strongly consistent read); `None` if unknown or deleted.
    fn product(&self, id: ProductId) -> impl Future<Output = StoreResult<Option<Product>>> + Send;

    /// Replaces `previous` by `next` (same id, next version) if the stored
    /// product is still at `previous.version`, moving the SKU claim when the
    /// SKU changes, and records `event`. `Stale` or `SkuTaken` otherwise.
    fn replace(
        &self,
        previous: &Product,
        next: &Product,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Deletes the product if it is still at `product.version`, frees its
    /// SKU and records `event`. `Stale` otherwise.
    fn delete(
        &self,
        product: &Product,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
