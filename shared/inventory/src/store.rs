use std::collections::HashMap;
use std::future::Future;

use contracts::{OrderId, RawEnvelope};
use time::OffsetDateTime;

use crate::model::{Reservation, ReservationStatus, Sku, Stock, StockStatus};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stock record to create exists already.
    #[error("stock record already exists")]
    StockExists,
    /// The stock record is gone or no longer at the version read: nothing
    /// was written; read again and retry.
    #[error("stock record changed concurrently")]
    Stale,
    /// The order already has a reservation record: its first event decided.
    #[error("reservation record already exists")]
    ReservationExists,
    /// The reservation record is no longer in the status expected.
    #[error("reservation changed concurrently")]
    ReservationChanged,
    /// A stock line's guard failed (not enough stock, discontinued, another
    /// threshold, or the stock moved across the threshold since it was
    /// read): nothing was written.
    #[error("stock no longer as expected")]
    StockChanged,
    /// Another transaction held an item, or the table throttled: nothing
    /// was written; retry after a pause.
    #[error("transaction conflict")]
    Conflict,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a reservation requires of one SKU's stock at the moment it is
/// taken: besides existing, being active and at this threshold, one of
/// these. Reading the stock and then writing "available >= quantity" alone
/// would reserve correctly but could not tell whether the write crossed the
/// low-stock threshold; these guards make the decision taken on the read
/// exact at the write, while only a write that lands near the threshold has
/// to match the read exactly (concurrent orders far from it do not collide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockGuard {
    /// Available is exactly `available`: the write takes it from above the
    /// threshold to at or below it, and the low-stock event says how much
    /// is left.
    Crossing { available: u32 },
    /// Available is at least the quantity, and the write does not cross
    /// the threshold: available is at or below it already, or more than
    /// `threshold + quantity`.
    NotCrossing,
}

/// One SKU's part of a reservation: `quantity` moves from available to
/// reserved if the guard holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveLine {
    pub sku: Sku,
    pub quantity: u32,
    pub threshold: u32,
    pub guard: StockGuard,
}

impl ReserveLine {
    /// The guard as a predicate over a stored record. The in-memory store
    /// evaluates exactly this; the DynamoDB store states it as a condition
    /// expression.
    pub fn holds_for(&self, stock: &Stock) -> bool {
        let base = stock.status == StockStatus::Active
            && stock.threshold == self.threshold
            && stock.available >= self.quantity;
        base && match self.guard {
            StockGuard::Crossing { available } => stock.available == available,
            StockGuard::NotCrossing => {
                stock.available <= self.threshold
                    || u64::from(stock.available)
                        > u64::from(self.threshold) + u64::from(self.quantity)
            }
        }
    }
}

/// Where units of stock are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Available,
    Reserved,
    Sold,
}

impl Bucket {
    pub fn attribute(self) -> &'static str {
        match self {
            Bucket::Available => "available",
            Bucket::Reserved => "reserved",
            Bucket::Sold => "sold",
        }
    }
}

/// `quantity` units of a SKU move between buckets; the source never goes
/// below zero (the write is refused instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockMove {
    pub sku: Sku,
    pub quantity: u32,
    pub from: Bucket,
    pub to: Bucket,
}

/// A reservation moving on in the saga (release, commit), with its stock.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub order_id: OrderId,
    /// The write applies only if the record is still in this status.
    pub from: ReservationStatus,
    pub to: ReservationStatus,
    pub moves: &'a [StockMove],
}

/// Storage port of the inventory service. Every method that changes state
/// does so atomically with recording `events` in the outbox.
pub trait InventoryStore: Send + Sync {
    /// Stores a new stock record; `StockExists` (nothing written) if the SKU
    /// has one.
    fn create_stock(&self, stock: &Stock) -> impl Future<Output = StoreResult<()>> + Send;

    /// One SKU's stock (strongly consistent read).
    fn stock(&self, sku: &Sku) -> impl Future<Output = StoreResult<Option<Stock>>> + Send;

    /// The stock of several SKUs; SKUs without a record are absent.
    fn stocks(&self, skus: &[Sku])
    -> impl Future<Output = StoreResult<HashMap<Sku, Stock>>> + Send;

    /// Replaces the record read as `before` by `after` if it is still at
    /// `before.version` (`Stale` otherwise).
    fn update_stock(
        &self,
        before: &Stock,
        after: &Stock,
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The order's reservation record (strongly consistent read).
    fn reservation(
        &self,
        order_id: OrderId,
    ) -> impl Future<Output = StoreResult<Option<Reservation>>> + Send;

    /// Reserves every line at once and stores `reservation`: all or nothing.
    /// `ReservationExists` wins over `StockChanged` when both apply.
    fn reserve(
        &self,
        reservation: &Reservation,
        lines: &[ReserveLine],
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Stores a reservation record that holds no stock (failed, or a
    /// cancellation that came first); `ReservationExists` if there is one.
    fn record_reservation(
        &self,
        reservation: &Reservation,
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Moves the reservation to its next status and its stock between
    /// buckets, at once. `ReservationChanged` wins over `StockChanged`.
    fn transition(
        &self,
        transition: Transition<'_>,
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
