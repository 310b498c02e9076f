//! Catalog use cases. Every change is read, checked against the client's
//! preconditions and written in one transaction conditioned on the version
//! read; its event (a full snapshot with the new version) rides in the same
//! transaction through the outbox.

use contracts::events::{ProductCreated, ProductDeleted, ProductUpdated};
use contracts::{CorrelationId, DomainEvent, EventEnvelope, ProductId, RawEnvelope};
use time::{Duration, OffsetDateTime};

use crate::error::CatalogError;
use crate::images::{PresignedUpload, S3Images};
use crate::model::{ImageSize, ImageType, MAX_IMAGES, Product, ProductInput, image_key, to_micros};
use crate::precondition::{IfMatch, Preconditions};
use crate::store::{CatalogStore, StoreError};

/// Read-and-write rounds before a change that is not pinned to a version
/// gives up on a product that keeps changing under it.
const MAX_ATTEMPTS: u32 = 5;
const BACKOFF_BASE_MS: u64 = 10;
const BACKOFF_CAP_MS: u64 = 200;

fn raw<T: DomainEvent>(
    data: T,
    correlation_id: &CorrelationId,
    at: OffsetDateTime,
) -> Result<RawEnvelope, CatalogError> {
    Ok(EventEnvelope::new(data, correlation_id.clone(), at)
        .into_raw()
        .map_err(anyhow::Error::from)?)
}

fn updated_event(p: &Product, correlation_id: &CorrelationId) -> Result<RawEnvelope, CatalogError> {
    raw(
        ProductUpdated {
            product_id: p.id,
            version: p.version,
            product: p.details(),
            updated_at: p.updated_at,
        },
        correlation_id,
        p.updated_at,
    )
}

/// Full jitter: uniformly random up to an exponentially growing ceiling.
fn backoff(attempt: u32) -> std::time::Duration {
    let ceiling = (BACKOFF_BASE_MS << attempt.min(5)).min(BACKOFF_CAP_MS);
    std::time::Duration::from_millis(rand::random_range(0..=ceiling))
}

/// Creates a product at version 1 and announces it with `product.created`.
/// The SKU claim in the same transaction makes SKUs unique.
pub async fn create_product<S: CatalogStore>(
    store: &S,
    input: ProductInput,
    correlation_id: &CorrelationId,
    now: OffsetDateTime,
) -> Result<Product, CatalogError> {
    let product = Product::create(input, now);
    let event = raw(
        ProductCreated {
            product_id: product.id,
            version: product.version,
            product: product.details(),
            created_at: product.created_at,
        },
        correlation_id,
        product.created_at,
    )?;
    match store.create(&product, &event, now).await {
        Ok(()) => {
            tracing::info!(product_id = %product.id, sku = %product.sku, event_id = %event.id, "product created");
            Ok(product)
        }
        Err(StoreError::SkuTaken) => Err(CatalogError::SkuTaken(product.sku)),
        Err(e) => Err(e.into()),
    }
}

/// The product, or `NotFound` for unknown and deleted ids.
pub async fn get_product<S: CatalogStore>(
    store: &S,
    id: ProductId,
) -> Result<Product, CatalogError> {
    store.product(id).await?.ok_or(CatalogError::NotFound)
}

/// Reads the product, checks `pre`, applies `change` and writes the next
/// version with its `product.updated` event. A lost race is retried on the
/// newer version, where a pinned precondition then fails (412/409) as it
/// should.
async fn revise<S, F>(
    store: &S,
    id: ProductId,
    pre: &Preconditions,
    correlation_id: &CorrelationId,
    now: OffsetDateTime,
    mut change: F,
) -> Result<Product, CatalogError>
where
    S: CatalogStore,
    F: FnMut(&Product) -> Result<Product, CatalogError>,
{
    for attempt in 1..=MAX_ATTEMPTS {
        let current = get_product(store, id).await?;
        pre.check(current.version)?;
        let next = change(&current)?;
        let event = updated_event(&next, correlation_id)?;
        match store.replace(&current, &next, &event, now).await {
            Ok(()) => {
                tracing::info!(product_id = %id, version = next.version, attempt, event_id = %event.id, "product updated");
                return Ok(next);
            }
            Err(StoreError::SkuTaken) => return Err(CatalogError::SkuTaken(next.sku)),
            Err(StoreError::Stale) => {
                tracing::debug!(attempt, "product changed since it was read; reading again");
                if attempt < MAX_ATTEMPTS && !pre.pins_a_version() {
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(CatalogError::Busy)
}

/// Replaces the product's fields (`PUT`). The client must say which version
/// it read (`If-Match` or body `version`), so an update made on stale data
/// is refused instead of silently overwriting another admin's change.
pub async fn update_product<S: CatalogStore>(
    store: &S,
    id: ProductId,
    input: ProductInput,
    pre: &Preconditions,
    correlation_id: &CorrelationId,
    now: OffsetDateTime,
) -> Result<Product, CatalogError> {
    if pre.is_empty() {
        return Err(CatalogError::PreconditionRequired);
    }
    revise(store, id, pre, correlation_id, now, |current| {
        if current.sku != input.sku {
            return Err(CatalogError::SkuChanged {
                current: current.sku.clone(),
            });
        }
        Ok(current.revised(now, |p| p.apply(input.clone())))
    })
    .await
}

/// Deletes the product (honouring `If-Match` when given), frees its SKU and
/// announces `product.deleted` with the next version number, so consumers
/// order it after every update.
pub async fn delete_product<S: CatalogStore>(
    store: &S,
    id: ProductId,
    if_match: Option<IfMatch>,
    correlation_id: &CorrelationId,
    now: OffsetDateTime,
) -> Result<(), CatalogError> {
    let pre = Preconditions::if_match(if_match);
    for attempt in 1..=MAX_ATTEMPTS {
        let current = get_product(store, id).await?;
        pre.check(current.version)?;
        let at = to_micros(now).max(current.updated_at + Duration::microseconds(1));
        let event = raw(
            ProductDeleted {
                product_id: id,
                version: current.version + 1,
                sku: current.sku.as_str().to_owned(),
                deleted_at: at,
            },
            correlation_id,
            at,
        )?;
        match store.delete(&current, &event, now).await {
            Ok(()) => {
                tracing::info!(product_id = %id, sku = %current.sku, event_id = %event.id, "product deleted");
                return Ok(());
            }
            Err(StoreError::Stale) => {
                if attempt < MAX_ATTEMPTS && !pre.pins_a_version() {
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(CatalogError::Busy)
}

/// A validated `POST /products/{id}/images`.
#[derive(Debug, Clone)]
pub struct ImageRequest {
    pub kind: ImageType,
    pub size: ImageSize,
    pub if_match: Option<IfMatch>,
}

/// An image upload granted: where to `PUT` it, and the product that now
/// lists its key.
#[derive(Debug, Clone)]
pub struct ImageUpload {
    pub key: String,
    pub upload: PresignedUpload,
    pub product: Product,
}

/// Presigns the upload of a new image and records its key on the product
/// (next version, `product.updated`), so `GET /products/{id}` lists it.
/// The key is recorded before the bytes arrive: a client that never
/// uploads leaves a key whose URL answers 404, nothing worse.
pub async fn request_image_upload<S: CatalogStore>(
    store: &S,
    images: &S3Images,
    id: ProductId,
    request: ImageRequest,
    correlation_id: &CorrelationId,
    now: OffsetDateTime,
) -> Result<ImageUpload, CatalogError> {
    let ImageRequest {
        kind,
        size,
        if_match,
    } = request;
    // Checked before presigning: an unknown product gets its 404 first.
    let current = get_product(store, id).await?;
    if current.images.len() >= MAX_IMAGES {
        return Err(CatalogError::TooManyImages);
    }
    let key = image_key(id, kind);
    let upload = images.upload_url(&key, kind, size).await?;
    let pre = Preconditions::if_match(if_match);
    let product = revise(store, id, &pre, correlation_id, now, |current| {
        if current.images.len() >= MAX_IMAGES {
            return Err(CatalogError::TooManyImages);
        }
        Ok(current.revised(now, |p| p.images.push(key.clone())))
    })
    .await?;
    Ok(ImageUpload {
        key,
        upload,
        product,
    })
}

#[cfg(test)]
mod tests;
