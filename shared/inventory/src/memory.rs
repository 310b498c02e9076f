//! In-memory [`InventoryStore`] with the conditions of the DynamoDB one, for
//! unit tests of the use cases and handlers (including concurrent ones).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use contracts::{OrderId, RawEnvelope};
use time::OffsetDateTime;

use crate::model::{Reservation, Sku, Stock};
use crate::store::{
    Bucket, InventoryStore, ReserveLine, StockMove, StoreError, StoreResult, Transition,
};

#[derive(Default)]
struct State {
    stocks: HashMap<Sku, Stock>,
    reservations: HashMap<OrderId, Reservation>,
    outbox: Vec<RawEnvelope>,
}

impl State {
    fn record_events(&mut self, events: &[RawEnvelope]) -> StoreResult<()> {
        if events
            .iter()
            .any(|e| self.outbox.iter().any(|o| o.id == e.id))
        {
            return Err(StoreError::Other(anyhow::anyhow!(
                "outbox event id collision"
            )));
        }
        self.outbox.extend(events.iter().cloned());
        Ok(())
    }
}

/// Clones share one state, like handles on one table.
#[derive(Default, Clone)]
pub struct InMemoryInventoryStore {
    state: Arc<Mutex<State>>,
}

/// Every call yields once before touching the state, as a network round trip
/// would: concurrent tasks then interleave between a read and the write that
/// depends on it, which is what the write conditions exist for.
async fn round_trip() {
    tokio::task::yield_now().await;
}

fn count(stock: &Stock, bucket: Bucket) -> u64 {
    match bucket {
        Bucket::Available => u64::from(stock.available),
        Bucket::Reserved => u64::from(stock.reserved),
        Bucket::Sold => stock.sold,
    }
}

/// The record after `m`, or an error if a count would leave its range
/// (callers check the source first, as the DynamoDB condition does).
fn moved(stock: &Stock, m: &StockMove, now: OffsetDateTime) -> StoreResult<Stock> {
    let out_of_range =
        || StoreError::Other(anyhow::anyhow!("stock count of {} out of range", m.sku));
    let q = m.quantity;
    let mut next = stock.clone();
    match m.from {
        Bucket::Available => {
            next.available = next.available.checked_sub(q).ok_or_else(out_of_range)?
        }
        Bucket::Reserved => {
            next.reserved = next.reserved.checked_sub(q).ok_or_else(out_of_range)?
        }
        Bucket::Sold => {
            next.sold = next
                .sold
                .checked_sub(u64::from(q))
                .ok_or_else(out_of_range)?
        }
    }
    match m.to {
        Bucket::Available => {
            next.available = next.available.checked_add(q).ok_or_else(out_of_range)?
        }
        Bucket::Reserved => {
            next.reserved = next.reserved.checked_add(q).ok_or_else(out_of_range)?
        }
        Bucket::Sold => {
            next.sold = next
                .sold
                .checked_add(u64::from(q))
                .ok_or_else(out_of_range)?
        }
    }
    next.version += 1;
    next.updated_at = now;
    Ok(next)
}

/// DynamoDB rejects a transaction with two actions on one item.
fn distinct<'a>(skus: impl Iterator<Item = &'a Sku>) -> StoreResult<()> {
    let mut seen = std::collections::HashSet::new();
    for sku in skus {
        if !seen.insert(sku) {
            return Err(StoreError::Other(anyhow::anyhow!(
                "transaction has two actions on the stock of {sku}"
            )));
        }
    }
    Ok(())
}

impl InMemoryInventoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Events recorded for publication, in order.
    pub fn outbox(&self) -> Vec<RawEnvelope> {
        self.state().outbox.clone()
    }

    /// Recorded events of one type, in order.
    pub fn events_of(&self, event_type: &str) -> Vec<RawEnvelope> {
        self.state()
            .outbox
            .iter()
            .filter(|e| e.event_type == event_type)
            .cloned()
            .collect()
    }

    /// Stores a record as it is, for tests that need a given starting state.
    pub fn insert_stock(&self, stock: Stock) {
        self.state().stocks.insert(stock.sku.clone(), stock);
    }

    pub fn stock_count(&self) -> usize {
        self.state().stocks.len()
    }
}

impl InventoryStore for InMemoryInventoryStore {
    async fn create_stock(&self, stock: &Stock) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        if s.stocks.contains_key(&stock.sku) {
            return Err(StoreError::StockExists);
        }
        s.stocks.insert(stock.sku.clone(), stock.clone());
        Ok(())
    }

    async fn stock(&self, sku: &Sku) -> StoreResult<Option<Stock>> {
        round_trip().await;
        Ok(self.state().stocks.get(sku).cloned())
    }

    async fn stocks(&self, skus: &[Sku]) -> StoreResult<HashMap<Sku, Stock>> {
        round_trip().await;
        let s = self.state();
        Ok(skus
            .iter()
            .filter_map(|sku| s.stocks.get(sku).map(|st| (sku.clone(), st.clone())))
            .collect())
    }

    async fn update_stock(
        &self,
        before: &Stock,
        after: &Stock,
        events: &[RawEnvelope],
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        let unchanged = s
            .stocks
            .get(&before.sku)
            .is_some_and(|st| st.version == before.version);
        if !unchanged {
            return Err(StoreError::Stale);
        }
        s.record_events(events)?;
        s.stocks.insert(after.sku.clone(), after.clone());
        Ok(())
    }

    async fn reservation(&self, order_id: OrderId) -> StoreResult<Option<Reservation>> {
        round_trip().await;
        Ok(self.state().reservations.get(&order_id).cloned())
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        lines: &[ReserveLine],
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        // The conditions of the DynamoDB transaction, evaluated together.
        if s.reservations.contains_key(&reservation.order_id) {
            return Err(StoreError::ReservationExists);
        }
        distinct(lines.iter().map(|l| &l.sku))?;
        let guards_hold = lines
            .iter()
            .all(|l| s.stocks.get(&l.sku).is_some_and(|st| l.holds_for(st)));
        if !guards_hold {
            return Err(StoreError::StockChanged);
        }
        let mut updated = Vec::with_capacity(lines.len());
        for line in lines {
            let m = StockMove {
                sku: line.sku.clone(),
                quantity: line.quantity,
                from: Bucket::Available,
                to: Bucket::Reserved,
            };
            if let Some(stock) = s.stocks.get(&line.sku) {
                updated.push(moved(stock, &m, now)?);
            }
        }
        s.record_events(events)?;
        for stock in updated {
            s.stocks.insert(stock.sku.clone(), stock);
        }
        s.reservations
            .insert(reservation.order_id, reservation.clone());
        Ok(())
    }

    async fn record_reservation(
        &self,
        reservation: &Reservation,
        events: &[RawEnvelope],
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        if s.reservations.contains_key(&reservation.order_id) {
            return Err(StoreError::ReservationExists);
        }
        s.record_events(events)?;
        s.reservations
            .insert(reservation.order_id, reservation.clone());
        Ok(())
    }

    async fn transition(
        &self,
        transition: Transition<'_>,
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        let in_status = s
            .reservations
            .get(&transition.order_id)
            .is_some_and(|r| r.status == transition.from);
        if !in_status {
            return Err(StoreError::ReservationChanged);
        }
        distinct(transition.moves.iter().map(|m| &m.sku))?;
        let moves_fit = transition.moves.iter().all(|m| {
            s.stocks
                .get(&m.sku)
                .is_some_and(|st| count(st, m.from) >= u64::from(m.quantity))
        });
        if !moves_fit {
            return Err(StoreError::StockChanged);
        }
        let mut updated = Vec::with_capacity(transition.moves.len());
        for m in transition.moves {
            if let Some(stock) = s.stocks.get(&m.sku) {
                updated.push(moved(stock, m, now)?);
            }
        }
        s.record_events(events)?;
        for stock in updated {
            s.stocks.insert(stock.sku.clone(), stock);
        }
        if let Some(r) = s.reservations.get_mut(&transition.order_id) {
            r.status = transition.to;
            r.updated_at = now;
        }
        Ok(())
    }
}
