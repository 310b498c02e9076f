//! In-memory [`SearchStore`] with the conditions and orders of the DynamoDB
//! one, for unit tests of the indexer and the queries.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use contracts::ProductId;

use crate::search::model::{IndexState, Order, PageRequest, Row, RowKey, RowPage};
use crate::search::store::SearchStore;

#[derive(Default)]
struct State {
    states: HashMap<ProductId, IndexState>,
    /// (partition, product id as text) -> row: the base table's key order.
    rows: BTreeMap<(String, String), Row>,
}

#[derive(Clone, Default)]
pub struct InMemorySearchStore {
    state: Arc<Mutex<State>>,
}

async fn round_trip() {
    tokio::task::yield_now().await;
}

impl InMemorySearchStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every row (visible or tombstone) of a partition, by product id.
    pub fn rows(&self, partition: &str) -> Vec<Row> {
        self.state()
            .rows
            .iter()
            .filter(|((p, _), _)| p == partition)
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Partitions in which the product has a visible row.
    pub fn visible_partitions(&self, id: ProductId) -> Vec<String> {
        self.state()
            .rows
            .iter()
            .filter(|(_, r)| r.product_id == id && r.listing.is_some())
            .map(|((p, _), _)| p.clone())
            .collect()
    }
}

impl SearchStore for InMemorySearchStore {
    async fn state(&self, id: ProductId) -> anyhow::Result<Option<IndexState>> {
        round_trip().await;
        Ok(self.state().states.get(&id).cloned())
    }

    async fn claim(&self, state: &IndexState, read: Option<(u64, bool)>) -> anyhow::Result<bool> {
        round_trip().await;
        let mut s = self.state();
        let stored = s
            .states
            .get(&state.product_id)
            .map(|x| (x.version, x.complete));
        if stored != read {
            return Ok(false);
        }
        s.states.insert(state.product_id, state.clone());
        Ok(true)
    }

    async fn put_row(&self, partition: &str, row: &Row) -> anyhow::Result<bool> {
        round_trip().await;
        let mut s = self.state();
        let key = (partition.to_owned(), row.product_id.to_string());
        if s.rows.get(&key).is_some_and(|r| r.version > row.version) {
            return Ok(false);
        }
        s.rows.insert(key, row.clone());
        Ok(true)
    }

    async fn complete(&self, id: ProductId, version: u64) -> anyhow::Result<()> {
        round_trip().await;
        if let Some(state) = self.state().states.get_mut(&id)
            && state.version == version
        {
            state.complete = true;
        }
        Ok(())
    }

    async fn page(&self, request: &PageRequest) -> anyhow::Result<RowPage> {
        round_trip().await;
        let s = self.state();
        // (sort key, row): the key DynamoDB would order by in this read.
        let mut keyed: Vec<(String, &Row)> = s
            .rows
            .iter()
            .filter(|((p, _), _)| *p == request.partition)
            .filter_map(|((_, id), row)| match request.order {
                Order::NewestFirst => Some((id.clone(), row)),
                // Tombstones have no price key: they are not in the index.
                Order::PriceAsc | Order::PriceDesc => {
                    row.listing.as_ref().map(|l| (l.price_key(), row))
                }
            })
            .filter(|(_, row)| match (request.order, request.price_range) {
                (Order::PriceAsc | Order::PriceDesc, Some((lo, hi))) => row
                    .listing
                    .as_ref()
                    .is_some_and(|l| l.price >= lo && l.price <= hi),
                _ => true,
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        if matches!(request.order, Order::NewestFirst | Order::PriceDesc) {
            keyed.reverse();
        }
        let after = request.after.as_ref().map(|k| match request.order {
            Order::NewestFirst => k.product_id.to_string(),
            Order::PriceAsc | Order::PriceDesc => k.price_key.clone().unwrap_or_default(),
        });
        let remaining: Vec<(String, &Row)> = keyed
            .into_iter()
            .filter(|(k, _)| match (&after, request.order) {
                (None, _) => true,
                (Some(a), Order::PriceAsc) => k > a,
                (Some(a), _) => k < a,
            })
            .collect();
        let limit = request.limit as usize;
        let taken: Vec<&(String, &Row)> = remaining.iter().take(limit).collect();
        // Like DynamoDB: a full read carries a position even if nothing follows.
        let last = (taken.len() == limit)
            .then(|| taken.last())
            .flatten()
            .map(|(k, row)| RowKey {
                product_id: row.product_id,
                price_key: match request.order {
                    Order::NewestFirst => None,
                    _ => Some(k.clone()),
                },
            });
        Ok(RowPage {
            rows: taken
                .iter()
                .filter_map(|(_, r)| r.listing.clone())
                .collect(),
            last,
            scanned: taken.len(),
        })
    }
}
