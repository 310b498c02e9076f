//! In-memory [`CatalogStore`] with the conditions of the DynamoDB one, for
//! unit tests of the use cases and handlers (including concurrent ones).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use contracts::{ProductId, RawEnvelope};
use time::OffsetDateTime;

use crate::model::{Product, Sku};
use crate::store::{CatalogStore, StoreError, StoreResult};

#[derive(Default)]
struct State {
    products: HashMap<ProductId, Product>,
    skus: HashMap<Sku, ProductId>,
    outbox: Vec<RawEnvelope>,
}

#[derive(Clone, Default)]
pub struct InMemoryCatalogStore {
    state: Arc<Mutex<State>>,
}

/// A real store answers after a network round trip; yielding here lets
/// concurrent tests interleave between a read and the write that follows.
async fn round_trip() {
    tokio::task::yield_now().await;
}

impl InMemoryCatalogStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock (only in a failing test) must not
        // hide the original failure behind a poisoned-lock panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every event recorded in the outbox, oldest first.
    pub fn outbox(&self) -> Vec<RawEnvelope> {
        self.state().outbox.clone()
    }

    /// The product holding `sku`, if any.
    pub fn sku_owner(&self, sku: &Sku) -> Option<ProductId> {
        self.state().skus.get(sku).copied()
    }
}

impl CatalogStore for InMemoryCatalogStore {
    async fn create(
        &self,
        product: &Product,
        event: &RawEnvelope,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        if s.skus.contains_key(&product.sku) {
            return Err(StoreError::SkuTaken);
        }
        if s.products.contains_key(&product.id) || s.outbox.iter().any(|e| e.id == event.id) {
            return Err(StoreError::Stale);
        }
        s.skus.insert(product.sku.clone(), product.id);
        s.products.insert(product.id, product.clone());
        s.outbox.push(event.clone());
        Ok(())
    }

    async fn product(&self, id: ProductId) -> StoreResult<Option<Product>> {
        round_trip().await;
        Ok(self.state().products.get(&id).cloned())
    }

    async fn replace(
        &self,
        previous: &Product,
        next: &Product,
        event: &RawEnvelope,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        // The transaction's conditions, evaluated together.
        let unchanged = s
            .products
            .get(&previous.id)
            .is_some_and(|p| p.version == previous.version);
        let sku_free =
            previous.sku == next.sku || s.skus.get(&next.sku).is_none_or(|owner| *owner == next.id);
        let old_claim_mine = s.skus.get(&previous.sku) == Some(&previous.id);
        let event_new = !s.outbox.iter().any(|e| e.id == event.id);
        // A product that moved on is reported first: the caller must read
        // it again before anything else it says is meaningful.
        if !(unchanged && old_claim_mine && event_new) {
            return Err(StoreError::Stale);
        }
        if !sku_free {
            return Err(StoreError::SkuTaken);
        }
        if previous.sku != next.sku {
            s.skus.remove(&previous.sku);
            s.skus.insert(next.sku.clone(), next.id);
        }
        s.products.insert(next.id, next.clone());
        s.outbox.push(event.clone());
        Ok(())
    }

    async fn delete(
        &self,
        product: &Product,
        event: &RawEnvelope,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        let unchanged = s
            .products
            .get(&product.id)
            .is_some_and(|p| p.version == product.version);
        let event_new = !s.outbox.iter().any(|e| e.id == event.id);
        if !(unchanged && event_new) {
            return Err(StoreError::Stale);
        }
        s.products.remove(&product.id);
        if s.skus.get(&product.sku) == Some(&product.id) {
            s.skus.remove(&product.sku);
        }
        s.outbox.push(event.clone());
        Ok(())
    }
}
