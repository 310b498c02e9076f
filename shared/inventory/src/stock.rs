//! Stock records: created from the catalog's events, read and changed by
//! admins. Every change that takes available stock across its threshold is
//! announced with `inventory.low_stock` in the same transaction.

use contracts::events::InventoryLowStock;
use contracts::{CorrelationId, EventEnvelope, ProductId, RawEnvelope};
use time::OffsetDateTime;

use crate::error::InventoryError;
use crate::model::{Sku, Stock, StockChange, StockStatus, StockView, crosses_threshold};
use crate::retry::{MAX_ATTEMPTS, pause};
use crate::store::{InventoryStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockInit {
    Created(Stock),
    /// The SKU had a record (a duplicate event, or the product's deletion
    /// came first): it is left as it is.
    AlreadyExists,
}

/// Opens the stock record of a new product: nothing available, the default
/// threshold. Idempotent: an existing record is never touched, so a
/// redelivered `product.created` cannot reset counted stock.
pub async fn init_stock<S: InventoryStore>(
    store: &S,
    sku: Sku,
    product_id: ProductId,
    threshold: u32,
    now: OffsetDateTime,
) -> Result<StockInit, InventoryError> {
    let stock = Stock::new(sku, product_id, threshold, now);
    match store.create_stock(&stock).await {
        Ok(()) => {
            tracing::info!(sku = %stock.sku, %product_id, threshold, "stock record created");
            Ok(StockInit::Created(stock))
        }
        Err(StoreError::StockExists) => {
            tracing::info!(sku = %stock.sku, %product_id, "stock record exists already; left untouched");
            Ok(StockInit::AlreadyExists)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discontinuation {
    Discontinued,
    AlreadyDiscontinued,
    /// The deletion came before the creation (SNS does not keep order): a
    /// discontinued record now holds the SKU, so the late `product.created`
    /// finds it and leaves it discontinued.
    Tombstoned,
    /// The SKU's record belongs to another product; it is not this
    /// deletion's to discontinue.
    OtherProduct,
}

/// Marks the SKU of a deleted product as no longer reservable. Stock on
/// hand and reservations in flight are kept (releases and commits still
/// apply to them); new reservations of the SKU fail as short.
pub async fn discontinue<S: InventoryStore>(
    store: &S,
    sku: Sku,
    product_id: ProductId,
    threshold: u32,
    now: OffsetDateTime,
) -> Result<Discontinuation, InventoryError> {
    for attempt in 1..=MAX_ATTEMPTS {
        let Some(stock) = store.stock(&sku).await? else {
            let mut tombstone = Stock::new(sku.clone(), product_id, threshold, now);
            tombstone.status = StockStatus::Discontinued;
            match store.create_stock(&tombstone).await {
                Ok(()) => {
                    tracing::info!(%sku, %product_id, "product deleted before its stock existed; SKU blocked");
                    return Ok(Discontinuation::Tombstoned);
                }
                // Created meanwhile: discontinue that record instead.
                Err(StoreError::StockExists) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if stock.product_id != product_id {
            tracing::warn!(%sku, %product_id, owner = %stock.product_id, "deleted product does not own this SKU's stock; left untouched");
            return Ok(Discontinuation::OtherProduct);
        }
        if stock.status == StockStatus::Discontinued {
            return Ok(Discontinuation::AlreadyDiscontinued);
        }
        let after = Stock {
            status: StockStatus::Discontinued,
            version: stock.version + 1,
            updated_at: now,
            ..stock.clone()
        };
        match store.update_stock(&stock, &after, &[], now).await {
            Ok(()) => {
                tracing::info!(%sku, %product_id, "stock discontinued");
                return Ok(Discontinuation::Discontinued);
            }
            Err(StoreError::Stale | StoreError::Conflict) => pause(attempt).await,
            Err(e) => return Err(e.into()),
        }
    }
    Err(InventoryError::Busy)
}

/// One SKU's stock, for admins.
pub async fn stock_view<S: InventoryStore>(
    store: &S,
    sku: &Sku,
) -> Result<StockView, InventoryError> {
    store
        .stock(sku)
        .await?
        .map(|s| StockView::from(&s))
        .ok_or(InventoryError::StockNotFound)
}

/// The `inventory.low_stock` event for a record that just crossed.
pub(crate) fn low_stock_event(
    stock: &Stock,
    correlation_id: &CorrelationId,
    now: OffsetDateTime,
) -> Result<RawEnvelope, InventoryError> {
    EventEnvelope::new(
        InventoryLowStock {
            product_id: stock.product_id,
            sku: stock.sku.to_string(),
            available: stock.available,
            threshold: stock.threshold,
            detected_at: now,
        },
        correlation_id.clone(),
        now,
    )
    .into_raw()
    .map_err(|e| InventoryError::Unexpected(e.into()))
}

/// Applies an admin change (set or adjust available, set the threshold).
/// Each attempt writes the record conditioned on the version it read, so
/// the low-stock decision is taken on exactly the state it replaces; a
/// concurrent reservation makes the attempt start over.
pub async fn change_stock<S: InventoryStore>(
    store: &S,
    sku: &Sku,
    change: StockChange,
    correlation_id: CorrelationId,
    now: OffsetDateTime,
) -> Result<StockView, InventoryError> {
    for attempt in 1..=MAX_ATTEMPTS {
        let before = store
            .stock(sku)
            .await?
            .ok_or(InventoryError::StockNotFound)?;
        let after = before.apply(&change, now)?;
        let events = if crosses_threshold(&before, &after) {
            vec![low_stock_event(&after, &correlation_id, now)?]
        } else {
            Vec::new()
        };
        match store.update_stock(&before, &after, &events, now).await {
            Ok(()) => {
                tracing::info!(
                    %sku,
                    available = after.available,
                    threshold = after.threshold,
                    low_stock = !events.is_empty(),
                    attempt,
                    "stock changed by an admin"
                );
                return Ok(StockView::from(&after));
            }
            Err(StoreError::Stale | StoreError::Conflict) => pause(attempt).await,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::warn!(%sku, "stock change gave up after {MAX_ATTEMPTS} conflicting attempts");
    Err(InventoryError::Busy)
}

#[cfg(test)]
mod tests;
