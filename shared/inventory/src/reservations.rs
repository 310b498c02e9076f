//! The stock side of the order saga. One reservation record per order
//! (`RESERVATION#<order id>`) makes every step idempotent: it is created
//! once, by the first event of the order that inventory handles, and every
//! later step is a conditional move from one status to the next.

use std::collections::HashMap;

use contracts::events::{
    InventoryReleased, InventoryReservationFailed, InventoryReserved, OrderCancelled,
    OrderConfirmed, OrderPlaced, ShortLine,
};
use contracts::{CorrelationId, DomainEvent, EventEnvelope, RawEnvelope};
use time::OffsetDateTime;

use crate::error::InventoryError;
use crate::model::{Reservation, ReservationStatus, Sku, SkuQuantity, Stock, merge_lines};
use crate::retry::{MAX_ATTEMPTS, pause};
use crate::stock::low_stock_event;
use crate::store::{
    Bucket, InventoryStore, ReserveLine, StockGuard, StockMove, StoreError, Transition,
};

fn raw<T: DomainEvent>(
    data: T,
    correlation_id: &CorrelationId,
    now: OffsetDateTime,
) -> Result<RawEnvelope, InventoryError> {
    EventEnvelope::new(data, correlation_id.clone(), now)
        .into_raw()
        .map_err(|e| InventoryError::Unexpected(e.into()))
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReserveOutcome {
    /// Every line is reserved; `low_stock` lists the SKUs this reservation
    /// took across their threshold.
    Reserved { low_stock: Vec<Sku> },
    /// Nothing is reserved; these lines could not be.
    Failed { short_lines: Vec<ShortLine> },
    /// The order has a reservation record already (a redelivered or
    /// republished `order.placed`, or a cancellation that came first):
    /// nothing was written and nothing is announced again.
    AlreadyHandled,
}

/// The lines that cannot be served from `stocks`: a SKU without a record
/// or discontinued has nothing available.
fn short_lines(wanted: &[SkuQuantity], stocks: &HashMap<Sku, Stock>) -> Vec<ShortLine> {
    wanted
        .iter()
        .filter_map(|w| {
            let available = stocks.get(&w.sku).map_or(0, Stock::reservable);
            (available < w.quantity).then(|| ShortLine {
                product_id: w.product_id,
                sku: w.sku.to_string(),
                requested: w.quantity,
                available,
            })
        })
        .collect()
}

/// Reserves every line of a placed order, all or nothing.
///
/// Each attempt reads the lines' stock and writes one transaction: per SKU
/// (lines of one SKU merged) an update moving the quantity from available
/// to reserved, guarded so stock never goes negative; the reservation
/// record, which can only be created once (a redelivered order reserves
/// nothing twice); `inventory.reserved`, echoing the order's lines and
/// payment; and `inventory.low_stock` for each SKU the write takes across
/// its threshold. If the read shows a line short, or a guard fails and a
/// fresh read shows one, a failed reservation record and
/// `inventory.reservation_failed` (with the short lines) are written
/// instead, also once. Writers that collide retry with jittered backoff.
pub async fn reserve<S: InventoryStore>(
    store: &S,
    order: &OrderPlaced,
    correlation_id: CorrelationId,
    now: OffsetDateTime,
) -> Result<ReserveOutcome, InventoryError> {
    let order_id = order.order_id;
    if let Some(existing) = store.reservation(order_id).await? {
        tracing::info!(%order_id, status = existing.status.as_str(), "order already handled; nothing to reserve");
        return Ok(ReserveOutcome::AlreadyHandled);
    }
    let wanted = merge_lines(&order.lines)
        .map_err(|reason| InventoryError::BadOrder { order_id, reason })?;
    let skus: Vec<Sku> = wanted.iter().map(|w| w.sku.clone()).collect();

    for attempt in 1..=MAX_ATTEMPTS {
        let stocks = store.stocks(&skus).await?;
        let short = short_lines(&wanted, &stocks);
        let result = if short.is_empty() {
            let (lines, low_stock, mut events) = plan(&wanted, &stocks, &correlation_id, now)?;
            events.insert(
                0,
                raw(
                    InventoryReserved {
                        order_id,
                        user_id: order.user_id,
                        lines: order.lines.clone(),
                        payment: order.payment.clone(),
                        reserved_at: now,
                    },
                    &correlation_id,
                    now,
                )?,
            );
            let record = record(order, ReservationStatus::Reserved, Vec::new(), now);
            store
                .reserve(&record, &lines, &events, now)
                .await
                .map(|()| ReserveOutcome::Reserved { low_stock })
        } else {
            let event = raw(
                InventoryReservationFailed {
                    order_id,
                    user_id: order.user_id,
                    short_lines: short.clone(),
                    failed_at: now,
                },
                &correlation_id,
                now,
            )?;
            let record = record(order, ReservationStatus::Failed, short.clone(), now);
            store
                .record_reservation(&record, &[event], now)
                .await
                .map(|()| ReserveOutcome::Failed { short_lines: short })
        };
        match result {
            Ok(outcome) => {
                match &outcome {
                    ReserveOutcome::Reserved { low_stock } => {
                        tracing::info!(%order_id, skus = skus.len(), low_stock = low_stock.len(), attempt, "order reserved");
                    }
                    ReserveOutcome::Failed { short_lines } => {
                        tracing::info!(%order_id, short = short_lines.len(), attempt, "order cannot be reserved: lines short");
                    }
                    ReserveOutcome::AlreadyHandled => {}
                }
                return Ok(outcome);
            }
            Err(StoreError::ReservationExists) => {
                tracing::info!(%order_id, "order handled concurrently; nothing to reserve");
                return Ok(ReserveOutcome::AlreadyHandled);
            }
            // The stock moved since it was read; the next read tells whether
            // the order is now short or only the threshold guess was stale.
            Err(StoreError::StockChanged | StoreError::Conflict) => {
                tracing::debug!(%order_id, attempt, "stock changed concurrently; retrying");
                pause(attempt).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    tracing::warn!(%order_id, "reservation gave up after {MAX_ATTEMPTS} conflicting attempts");
    Err(InventoryError::Busy)
}

type Plan = (Vec<ReserveLine>, Vec<Sku>, Vec<RawEnvelope>);

/// The guarded stock updates of a reservation that the read says fits, and
/// the low-stock events of the SKUs it takes across their threshold.
fn plan(
    wanted: &[SkuQuantity],
    stocks: &HashMap<Sku, Stock>,
    correlation_id: &CorrelationId,
    now: OffsetDateTime,
) -> Result<Plan, InventoryError> {
    let mut lines = Vec::with_capacity(wanted.len());
    let mut low_stock = Vec::new();
    let mut events = Vec::new();
    for w in wanted {
        let stock = stocks.get(&w.sku).ok_or_else(|| {
            InventoryError::Unexpected(anyhow::anyhow!("stock of {} vanished", w.sku))
        })?;
        let left = stock.available - w.quantity.min(stock.available);
        let guard = if stock.available > stock.threshold && left <= stock.threshold {
            let after = Stock {
                available: left,
                ..stock.clone()
            };
            events.push(low_stock_event(&after, correlation_id, now)?);
            low_stock.push(w.sku.clone());
            StockGuard::Crossing {
                available: stock.available,
            }
        } else {
            StockGuard::NotCrossing
        };
        lines.push(ReserveLine {
            sku: w.sku.clone(),
            quantity: w.quantity,
            threshold: stock.threshold,
            guard,
        });
    }
    Ok((lines, low_stock, events))
}

fn record(
    order: &OrderPlaced,
    status: ReservationStatus,
    short_lines: Vec<ShortLine>,
    now: OffsetDateTime,
) -> Reservation {
    Reservation {
        order_id: order.order_id,
        user_id: order.user_id,
        status,
        lines: order.lines.clone(),
        short_lines,
        created_at: now,
        updated_at: now,
    }
}

/// The stock a reservation holds, as moves from `from` to `to`.
fn moves(
    reservation: &Reservation,
    from: Bucket,
    to: Bucket,
) -> Result<Vec<StockMove>, InventoryError> {
    let quantities = reservation.quantities().map_err(|e| {
        InventoryError::Unexpected(anyhow::anyhow!(
            "stored reservation of {} is unreadable: {e}",
            reservation.order_id
        ))
    })?;
    Ok(quantities
        .into_iter()
        .map(|q| StockMove {
            sku: q.sku,
            quantity: q.quantity,
            from,
            to,
        })
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseOutcome {
    /// The stock went back to available; `from` is what it was (reserved,
    /// or sold to an order confirmed and then cancelled before shipping).
    Released { from: ReservationStatus },
    /// Nothing is held for the order (its reservation failed or was
    /// released already): nothing to do.
    NothingHeld(ReservationStatus),
    /// The cancellation came before the order's `order.placed` was handled:
    /// a cancelled record now stops that event from reserving anything.
    CancelledBeforePlaced,
}

/// Compensation for a cancelled order: whatever inventory holds for it goes
/// back to available stock, with `inventory.released`, in one transaction.
///
/// A committed reservation is released too: the order was confirmed and
/// then cancelled before shipping, so its units are still in the warehouse
/// and sellable; they move from sold back to available.
pub async fn release<S: InventoryStore>(
    store: &S,
    order: &OrderCancelled,
    correlation_id: CorrelationId,
    now: OffsetDateTime,
) -> Result<ReleaseOutcome, InventoryError> {
    let order_id = order.order_id;
    for attempt in 1..=MAX_ATTEMPTS {
        let Some(reservation) = store.reservation(order_id).await? else {
            let marker = Reservation {
                order_id,
                user_id: order.user_id,
                status: ReservationStatus::Cancelled,
                lines: order.lines.clone(),
                short_lines: Vec::new(),
                created_at: now,
                updated_at: now,
            };
            match store.record_reservation(&marker, &[], now).await {
                Ok(()) => {
                    tracing::info!(%order_id, "order cancelled before it was reserved; blocked");
                    return Ok(ReleaseOutcome::CancelledBeforePlaced);
                }
                // Reserved (or failed) meanwhile: handle what is there now.
                Err(StoreError::ReservationExists) => continue,
                Err(StoreError::Conflict) => {
                    pause(attempt).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let from = match reservation.status {
            ReservationStatus::Reserved => Bucket::Reserved,
            ReservationStatus::Committed => Bucket::Sold,
            status => {
                tracing::info!(%order_id, status = status.as_str(), "nothing held for the cancelled order");
                return Ok(ReleaseOutcome::NothingHeld(status));
            }
        };
        let moves = moves(&reservation, from, Bucket::Available)?;
        let event = raw(
            InventoryReleased {
                order_id,
                lines: reservation.lines.clone(),
                released_at: now,
            },
            &correlation_id,
            now,
        )?;
        let transition = Transition {
            order_id,
            from: reservation.status,
            to: ReservationStatus::Released,
            moves: &moves,
        };
        match store.transition(transition, &[event], now).await {
            Ok(()) => {
                tracing::info!(%order_id, from = reservation.status.as_str(), skus = moves.len(), "reservation released");
                return Ok(ReleaseOutcome::Released {
                    from: reservation.status,
                });
            }
            // Committed or released meanwhile: decide again on what is there.
            Err(StoreError::ReservationChanged) => {}
            Err(StoreError::Conflict) => pause(attempt).await,
            Err(StoreError::StockChanged) => {
                return Err(InventoryError::Unexpected(anyhow::anyhow!(
                    "stock of order {order_id} is no longer where its reservation says"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(InventoryError::Busy)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The reserved units are sold.
    Committed,
    AlreadyCommitted,
    /// The reservation is not held (failed, released, or the order was
    /// cancelled first): there is nothing to sell.
    NotHeld(ReservationStatus),
}

/// A confirmed order's reserved units become sold (reserved goes down,
/// sold up; available is unchanged), once.
pub async fn commit<S: InventoryStore>(
    store: &S,
    order: &OrderConfirmed,
    now: OffsetDateTime,
) -> Result<CommitOutcome, InventoryError> {
    let order_id = order.order_id;
    for attempt in 1..=MAX_ATTEMPTS {
        let reservation = store
            .reservation(order_id)
            .await?
            .ok_or(InventoryError::UnknownReservation(order_id))?;
        match reservation.status {
            ReservationStatus::Reserved => {}
            ReservationStatus::Committed => return Ok(CommitOutcome::AlreadyCommitted),
            status => {
                tracing::warn!(%order_id, status = status.as_str(), "confirmed order holds no stock; nothing to commit");
                return Ok(CommitOutcome::NotHeld(status));
            }
        }
        let moves = moves(&reservation, Bucket::Reserved, Bucket::Sold)?;
        let transition = Transition {
            order_id,
            from: ReservationStatus::Reserved,
            to: ReservationStatus::Committed,
            moves: &moves,
        };
        match store.transition(transition, &[], now).await {
            Ok(()) => {
                tracing::info!(%order_id, skus = moves.len(), "reservation committed");
                return Ok(CommitOutcome::Committed);
            }
            Err(StoreError::ReservationChanged) => {}
            Err(StoreError::Conflict) => pause(attempt).await,
            Err(StoreError::StockChanged) => {
                return Err(InventoryError::Unexpected(anyhow::anyhow!(
                    "stock of order {order_id} is no longer where its reservation says"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(InventoryError::Busy)
}

#[cfg(test)]
mod tests;
