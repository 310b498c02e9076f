use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use contracts::OrderId;
use contracts::ProductId;
use contracts::events::InventoryLowStock;

use super::*;
use crate::memory::InMemoryInventoryStore;
use crate::model::{LinesRejected, StockStatus};
use crate::store::StoreResult;
use crate::testing::{cancelled, confirmed, counts, line, placed, sku, store_with, t0};

async fn reserve_now<S: InventoryStore>(store: &S, order: &OrderPlaced) -> ReserveOutcome {
    reserve(store, order, CorrelationId::new(), t0())
        .await
        .expect("reservation handled")
}

async fn release_now<S: InventoryStore>(store: &S, order: &OrderPlaced) -> ReleaseOutcome {
    release(store, &cancelled(order), CorrelationId::new(), t0())
        .await
        .expect("release handled")
}

async fn commit_now<S: InventoryStore>(store: &S, order: &OrderPlaced) -> CommitOutcome {
    commit(store, &confirmed(order), t0())
        .await
        .expect("commit handled")
}

async fn status(store: &InMemoryInventoryStore, order: &OrderPlaced) -> Option<ReservationStatus> {
    store
        .reservation(order.order_id)
        .await
        .expect("read")
        .map(|r| r.status)
}

fn events<T: DomainEvent>(store: &InMemoryInventoryStore) -> Vec<T> {
    store
        .events_of(T::TYPE)
        .into_iter()
        .map(|e| e.decode::<T>().expect("typed event").data)
        .collect()
}

#[tokio::test]
async fn every_line_is_reserved_and_the_order_echoed() {
    let store = store_with(&[("MUG", 10, 2), ("TEA", 4, 1)]);
    let order = placed(vec![line("MUG", 3), line("TEA", 1)]);
    let correlation = CorrelationId::new();

    let outcome = reserve(&store, &order, correlation.clone(), t0())
        .await
        .expect("handled");
    assert_eq!(outcome, ReserveOutcome::Reserved { low_stock: vec![] });
    assert_eq!(counts(&store, "MUG").await, (7, 3, 0));
    assert_eq!(counts(&store, "TEA").await, (3, 1, 0));
    assert_eq!(
        status(&store, &order).await,
        Some(ReservationStatus::Reserved)
    );

    let outbox = store.outbox();
    assert_eq!(outbox.len(), 1);
    let reserved = outbox[0]
        .clone()
        .decode::<InventoryReserved>()
        .expect("inventory.reserved");
    assert_eq!(
        reserved.correlation_id, correlation,
        "the saga keeps its correlation id"
    );
    assert_eq!(reserved.subject, order.order_id.to_string());
    assert_eq!(reserved.data.order_id, order.order_id);
    assert_eq!(reserved.data.user_id, order.user_id);
    assert_eq!(reserved.data.lines, order.lines);
    assert_eq!(
        reserved.data.payment, order.payment,
        "payments charges from this"
    );
}

#[tokio::test]
async fn one_short_line_reserves_nothing_and_names_the_short_line() {
    let store = store_with(&[("MUG", 10, 2), ("TEA", 1, 0)]);
    let order = placed(vec![line("MUG", 3), line("TEA", 2)]);

    let outcome = reserve_now(&store, &order).await;
    let ReserveOutcome::Failed { short_lines } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert_eq!(short_lines.len(), 1);
    assert_eq!(
        (
            short_lines[0].sku.as_str(),
            short_lines[0].requested,
            short_lines[0].available
        ),
        ("TEA", 2, 1)
    );
    assert_eq!(short_lines[0].product_id, order.lines[1].product_id);
    assert_eq!(counts(&store, "MUG").await, (10, 0, 0), "all or nothing");
    assert_eq!(counts(&store, "TEA").await, (1, 0, 0));
    assert_eq!(
        status(&store, &order).await,
        Some(ReservationStatus::Failed)
    );

    assert!(events::<InventoryReserved>(&store).is_empty());
    let failed = events::<InventoryReservationFailed>(&store);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].order_id, order.order_id);
    assert_eq!(failed[0].user_id, order.user_id);
    assert_eq!(failed[0].short_lines, short_lines);
}

#[tokio::test]
async fn unknown_and_discontinued_skus_are_short_with_nothing_available() {
    let store = store_with(&[("MUG", 10, 2), ("OLD", 50, 2)]);
    let old = store
        .stock(&sku("OLD"))
        .await
        .expect("read")
        .expect("stock");
    store.insert_stock(Stock {
        status: StockStatus::Discontinued,
        ..old
    });
    let order = placed(vec![line("MUG", 1), line("OLD", 1), line("GHOST", 2)]);

    let ReserveOutcome::Failed { short_lines } = reserve_now(&store, &order).await else {
        panic!("expected a failure");
    };
    let short: Vec<_> = short_lines
        .iter()
        .map(|s| (s.sku.as_str(), s.requested, s.available))
        .collect();
    assert_eq!(short, vec![("OLD", 1, 0), ("GHOST", 2, 0)]);
    assert_eq!(counts(&store, "OLD").await, (50, 0, 0));
}

#[tokio::test]
async fn lines_of_one_sku_are_reserved_as_their_sum() {
    let store = store_with(&[("MUG", 5, 0)]);
    let fits = placed(vec![line("MUG", 2), line("MUG", 3)]);
    assert!(matches!(
        reserve_now(&store, &fits).await,
        ReserveOutcome::Reserved { .. }
    ));
    assert_eq!(counts(&store, "MUG").await, (0, 5, 0));
    let echoed = events::<InventoryReserved>(&store);
    assert_eq!(
        echoed[0].lines.len(),
        2,
        "the event echoes the lines as ordered"
    );

    let store = store_with(&[("MUG", 4, 0)]);
    let too_many = placed(vec![line("MUG", 2), line("MUG", 3)]);
    let ReserveOutcome::Failed { short_lines } = reserve_now(&store, &too_many).await else {
        panic!("expected a failure");
    };
    assert_eq!((short_lines[0].requested, short_lines[0].available), (5, 4));

    // Released as the sum, too.
    let store = store_with(&[("MUG", 5, 0)]);
    let order = placed(vec![line("MUG", 2), line("MUG", 3)]);
    reserve_now(&store, &order).await;
    release_now(&store, &order).await;
    assert_eq!(counts(&store, "MUG").await, (5, 0, 0));
}

#[tokio::test]
async fn a_redelivered_order_is_reserved_once_and_announced_once() {
    let store = store_with(&[("MUG", 10, 0)]);
    let order = placed(vec![line("MUG", 4)]);
    reserve_now(&store, &order).await;
    assert_eq!(
        reserve_now(&store, &order).await,
        ReserveOutcome::AlreadyHandled
    );
    assert_eq!(counts(&store, "MUG").await, (6, 4, 0));
    assert_eq!(store.outbox().len(), 1);

    // A failed order stays failed, even if stock arrives before redelivery.
    let store = store_with(&[("MUG", 1, 0)]);
    let order = placed(vec![line("MUG", 4)]);
    reserve_now(&store, &order).await;
    let mut stock = store
        .stock(&sku("MUG"))
        .await
        .expect("read")
        .expect("stock");
    stock.available = 100;
    store.insert_stock(stock);
    assert_eq!(
        reserve_now(&store, &order).await,
        ReserveOutcome::AlreadyHandled
    );
    assert_eq!(counts(&store, "MUG").await, (100, 0, 0));
    assert_eq!(store.outbox().len(), 1);
}

#[tokio::test]
async fn concurrent_copies_of_one_order_reserve_once() {
    let store = store_with(&[("MUG", 10, 0)]);
    let order = Arc::new(placed(vec![line("MUG", 3)]));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, order) = (store.clone(), order.clone());
            tokio::spawn(async move { reserve_now(&store, &order).await })
        })
        .collect();
    let mut reserved = 0;
    for task in tasks {
        if matches!(task.await.expect("joined"), ReserveOutcome::Reserved { .. }) {
            reserved += 1;
        }
    }
    assert_eq!(reserved, 1);
    assert_eq!(counts(&store, "MUG").await, (7, 3, 0));
    assert_eq!(store.outbox().len(), 1);
}

#[tokio::test]
async fn low_stock_is_announced_by_the_reservation_that_crosses() {
    let store = store_with(&[("MUG", 8, 5), ("TEA", 3, 5)]);
    reserve_now(&store, &placed(vec![line("MUG", 2)])).await;
    assert!(
        events::<InventoryLowStock>(&store).is_empty(),
        "6 left, above 5"
    );

    let crossing = reserve_now(&store, &placed(vec![line("MUG", 1), line("TEA", 1)])).await;
    assert_eq!(
        crossing,
        ReserveOutcome::Reserved {
            low_stock: vec![sku("MUG")]
        },
        "TEA was low already"
    );
    let low = events::<InventoryLowStock>(&store);
    assert_eq!(low.len(), 1);
    assert_eq!(
        (low[0].sku.as_str(), low[0].available, low[0].threshold),
        ("MUG", 5, 5)
    );

    reserve_now(&store, &placed(vec![line("MUG", 1)])).await;
    assert_eq!(events::<InventoryLowStock>(&store).len(), 1, "already low");

    // One order taking several SKUs across at once announces each.
    let store = store_with(&[("A", 10, 5), ("B", 7, 2)]);
    let outcome = reserve_now(&store, &placed(vec![line("A", 10), line("B", 6)])).await;
    assert_eq!(
        outcome,
        ReserveOutcome::Reserved {
            low_stock: vec![sku("A"), sku("B")]
        }
    );
    let low = events::<InventoryLowStock>(&store);
    assert_eq!(
        low.iter()
            .map(|l| (l.sku.as_str(), l.available))
            .collect::<Vec<_>>(),
        vec![("A", 0), ("B", 1)]
    );
}

#[test]
fn guards_hold_exactly_when_the_read_decision_still_applies() {
    let mut stock = Stock::new(sku("MUG"), ProductId::new(), 5, t0());
    let line = |quantity, guard| ReserveLine {
        sku: sku("MUG"),
        quantity,
        threshold: 5,
        guard,
    };
    let mut at = |available| {
        stock.available = available;
        stock.clone()
    };
    // Not crossing: enough stock and far above, or already low.
    assert!(line(2, StockGuard::NotCrossing).holds_for(&at(8)));
    assert!(line(2, StockGuard::NotCrossing).holds_for(&at(4)));
    assert!(
        !line(2, StockGuard::NotCrossing).holds_for(&at(7)),
        "7 - 2 lands on 5"
    );
    assert!(!line(2, StockGuard::NotCrossing).holds_for(&at(6)));
    assert!(
        !line(2, StockGuard::NotCrossing).holds_for(&at(1)),
        "not enough"
    );
    // Crossing: only at exactly the stock the event was computed from.
    let crossing = line(2, StockGuard::Crossing { available: 6 });
    assert!(crossing.holds_for(&at(6)));
    assert!(!crossing.holds_for(&at(7)));
    // Another threshold or a discontinued SKU never holds.
    let mut other = at(20);
    other.threshold = 4;
    assert!(!line(2, StockGuard::NotCrossing).holds_for(&other));
    let mut gone = at(20);
    gone.status = StockStatus::Discontinued;
    assert!(!line(2, StockGuard::NotCrossing).holds_for(&gone));
}

/// Wraps a store; before the first `reserve`, sells units of a SKU as a
/// concurrent order would, between the use case's read and its write.
struct SellsFirst {
    inner: InMemoryInventoryStore,
    sku: Sku,
    units: u32,
    reserve_calls: AtomicUsize,
}

/// Wraps a store; its first `conflicts` transactions collide with another
/// writer.
struct Conflicting {
    inner: InMemoryInventoryStore,
    conflicts: usize,
    calls: AtomicUsize,
}

macro_rules! delegate_reads {
    () => {
        async fn create_stock(&self, stock: &Stock) -> StoreResult<()> {
            self.inner.create_stock(stock).await
        }
        async fn stock(&self, sku: &Sku) -> StoreResult<Option<Stock>> {
            self.inner.stock(sku).await
        }
        async fn stocks(&self, skus: &[Sku]) -> StoreResult<HashMap<Sku, Stock>> {
            self.inner.stocks(skus).await
        }
        async fn update_stock(
            &self,
            before: &Stock,
            after: &Stock,
            events: &[RawEnvelope],
            now: OffsetDateTime,
        ) -> StoreResult<()> {
            self.inner.update_stock(before, after, events, now).await
        }
        async fn reservation(&self, order_id: OrderId) -> StoreResult<Option<Reservation>> {
            self.inner.reservation(order_id).await
        }
        async fn record_reservation(
            &self,
            reservation: &Reservation,
            events: &[RawEnvelope],
            now: OffsetDateTime,
        ) -> StoreResult<()> {
            self.inner
                .record_reservation(reservation, events, now)
                .await
        }
        async fn transition(
            &self,
            transition: Transition<'_>,
            events: &[RawEnvelope],
            now: OffsetDateTime,
        ) -> StoreResult<()> {
            self.inner.transition(transition, events, now).await
        }
    };
}

impl InventoryStore for SellsFirst {
    delegate_reads!();

    async fn reserve(
        &self,
        reservation: &Reservation,
        lines: &[ReserveLine],
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        if self.reserve_calls.fetch_add(1, Ordering::SeqCst) == 0 {
            let mut stock = self.inner.stock(&self.sku).await?.expect("stock");
            stock.available -= self.units;
            stock.reserved += self.units;
            self.inner.insert_stock(stock);
        }
        self.inner.reserve(reservation, lines, events, now).await
    }
}

impl InventoryStore for Conflicting {
    delegate_reads!();

    async fn reserve(
        &self,
        reservation: &Reservation,
        lines: &[ReserveLine],
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.conflicts {
            return Err(StoreError::Conflict);
        }
        self.inner.reserve(reservation, lines, events, now).await
    }
}

#[tokio::test]
async fn a_sale_between_read_and_write_is_seen_and_the_crossing_announced_exactly() {
    // Read: 7 left, threshold 5, so taking 1 would not cross. Before the
    // write another order takes 1: the guard fails, the retry reads 6 and
    // this order is the one that crosses.
    let inner = store_with(&[("MUG", 7, 5)]);
    let store = SellsFirst {
        inner: inner.clone(),
        sku: sku("MUG"),
        units: 1,
        reserve_calls: AtomicUsize::new(0),
    };
    let outcome = reserve_now(&store, &placed(vec![line("MUG", 1)])).await;
    assert_eq!(
        outcome,
        ReserveOutcome::Reserved {
            low_stock: vec![sku("MUG")]
        }
    );
    assert_eq!(store.reserve_calls.load(Ordering::SeqCst), 2);
    assert_eq!(counts(&inner, "MUG").await, (5, 2, 0));
    let low = events::<InventoryLowStock>(&inner);
    assert_eq!(low.len(), 1);
    assert_eq!(low[0].available, 5);
}

#[tokio::test]
async fn a_sale_between_read_and_write_that_empties_the_shelf_fails_the_order() {
    let inner = store_with(&[("MUG", 3, 0)]);
    let store = SellsFirst {
        inner: inner.clone(),
        sku: sku("MUG"),
        units: 2,
        reserve_calls: AtomicUsize::new(0),
    };
    let ReserveOutcome::Failed { short_lines } =
        reserve_now(&store, &placed(vec![line("MUG", 2)])).await
    else {
        panic!("expected a failure");
    };
    assert_eq!((short_lines[0].requested, short_lines[0].available), (2, 1));
    assert_eq!(counts(&inner, "MUG").await, (1, 2, 0));
}

#[tokio::test]
async fn transaction_conflicts_are_retried_then_given_up() {
    let inner = store_with(&[("MUG", 3, 0)]);
    let store = Conflicting {
        inner: inner.clone(),
        conflicts: 3,
        calls: AtomicUsize::new(0),
    };
    let outcome = reserve_now(&store, &placed(vec![line("MUG", 1)])).await;
    assert!(matches!(outcome, ReserveOutcome::Reserved { .. }));
    assert_eq!(counts(&inner, "MUG").await, (2, 1, 0));

    let store = Conflicting {
        inner: inner.clone(),
        conflicts: usize::MAX,
        calls: AtomicUsize::new(0),
    };
    let err = reserve(
        &store,
        &placed(vec![line("MUG", 1)]),
        CorrelationId::new(),
        t0(),
    )
    .await
    .expect_err("gives up");
    assert!(matches!(err, InventoryError::Busy));
    assert!(!err.is_permanent(), "SQS retries it later");
    assert_eq!(counts(&inner, "MUG").await, (2, 1, 0));
}

#[tokio::test]
async fn an_order_that_cannot_be_reserved_as_sent_is_permanent() {
    let store = store_with(&[]);
    let err = reserve(
        &store,
        &placed(vec![line("no good", 1)]),
        CorrelationId::new(),
        t0(),
    )
    .await
    .expect_err("bad sku");
    assert!(matches!(
        err,
        InventoryError::BadOrder {
            reason: LinesRejected::InvalidSku { .. },
            ..
        }
    ));
    assert!(err.is_permanent());
    assert!(store.outbox().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_orders_for_the_last_ten_units_reserve_exactly_ten() {
    let store = store_with(&[("LAST", 10, 5)]);
    let orders: Vec<OrderPlaced> = (0..30).map(|_| placed(vec![line("LAST", 1)])).collect();
    let tasks: Vec<_> = orders
        .iter()
        .cloned()
        .map(|order| {
            let store = store.clone();
            tokio::spawn(async move { reserve_now(&store, &order).await })
        })
        .collect();
    let (mut reserved, mut failed) = (0, 0);
    for task in tasks {
        match task.await.expect("joined") {
            ReserveOutcome::Reserved { .. } => reserved += 1,
            ReserveOutcome::Failed { short_lines } => {
                assert_eq!(short_lines[0].requested, 1);
                assert!(short_lines[0].available < 1);
                failed += 1;
            }
            ReserveOutcome::AlreadyHandled => panic!("every order is distinct"),
        }
    }
    assert_eq!((reserved, failed), (10, 20));
    assert_eq!(counts(&store, "LAST").await, (0, 10, 0));
    assert_eq!(events::<InventoryReserved>(&store).len(), 10);
    assert_eq!(events::<InventoryReservationFailed>(&store).len(), 20);
    let low = events::<InventoryLowStock>(&store);
    assert_eq!(low.len(), 1, "one crossing, one alert: {low:?}");
    assert_eq!(low[0].available, 5);
    for order in &orders {
        assert!(
            status(&store, order).await.is_some(),
            "every order answered"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_multi_unit_orders_never_oversell() {
    let store = store_with(&[("A", 20, 3), ("B", 9, 0)]);
    let tasks: Vec<_> = (0..24u32)
        .map(|i| {
            let store = store.clone();
            let order = placed(vec![line("A", 1 + i % 3), line("B", 1)]);
            tokio::spawn(async move { (order.clone(), reserve_now(&store, &order).await) })
        })
        .collect();
    let (mut a_taken, mut b_taken) = (0, 0);
    for task in tasks {
        let (order, outcome) = task.await.expect("joined");
        if matches!(outcome, ReserveOutcome::Reserved { .. }) {
            a_taken += order.lines[0].quantity;
            b_taken += order.lines[1].quantity;
        }
    }
    let (a_avail, a_res, _) = counts(&store, "A").await;
    let (b_avail, b_res, _) = counts(&store, "B").await;
    assert_eq!(
        (a_avail + a_res, b_avail + b_res),
        (20, 9),
        "units are conserved"
    );
    assert_eq!(
        (a_res, b_res),
        (a_taken, b_taken),
        "reserved is what succeeded"
    );
    assert!(b_taken <= 9 && a_taken <= 20);
}

#[tokio::test]
async fn a_cancelled_reservation_goes_back_to_available_once() {
    let store = store_with(&[("MUG", 10, 8), ("TEA", 5, 0)]);
    let order = placed(vec![line("MUG", 3), line("TEA", 2)]);
    reserve_now(&store, &order).await;
    let correlation = CorrelationId::new();

    let outcome = release(&store, &cancelled(&order), correlation.clone(), t0())
        .await
        .expect("released");
    assert_eq!(
        outcome,
        ReleaseOutcome::Released {
            from: ReservationStatus::Reserved
        }
    );
    assert_eq!(counts(&store, "MUG").await, (10, 0, 0));
    assert_eq!(counts(&store, "TEA").await, (5, 0, 0));
    assert_eq!(
        status(&store, &order).await,
        Some(ReservationStatus::Released)
    );
    let released = store.events_of(InventoryReleased::TYPE);
    assert_eq!(released.len(), 1);
    let released = released[0]
        .clone()
        .decode::<InventoryReleased>()
        .expect("typed");
    assert_eq!(released.correlation_id, correlation);
    assert_eq!(released.data.order_id, order.order_id);
    assert_eq!(released.data.lines, order.lines);

    assert_eq!(
        release_now(&store, &order).await,
        ReleaseOutcome::NothingHeld(ReservationStatus::Released)
    );
    assert_eq!(counts(&store, "MUG").await, (10, 0, 0));
    assert_eq!(store.events_of(InventoryReleased::TYPE).len(), 1);
    assert_eq!(
        store.events_of(InventoryLowStock::TYPE).len(),
        1,
        "the reservation crossed 8; releasing only adds and announces no low stock"
    );
}

#[tokio::test]
async fn a_failed_order_has_nothing_to_release() {
    let store = store_with(&[("MUG", 1, 0)]);
    let order = placed(vec![line("MUG", 2)]);
    reserve_now(&store, &order).await;
    assert_eq!(
        release_now(&store, &order).await,
        ReleaseOutcome::NothingHeld(ReservationStatus::Failed)
    );
    assert_eq!(counts(&store, "MUG").await, (1, 0, 0));
    assert!(store.events_of(InventoryReleased::TYPE).is_empty());
}

#[tokio::test]
async fn a_cancellation_before_the_placement_blocks_the_late_reservation() {
    let store = store_with(&[("MUG", 5, 0)]);
    let order = placed(vec![line("MUG", 2)]);
    assert_eq!(
        release_now(&store, &order).await,
        ReleaseOutcome::CancelledBeforePlaced
    );
    assert_eq!(
        status(&store, &order).await,
        Some(ReservationStatus::Cancelled)
    );
    assert_eq!(
        reserve_now(&store, &order).await,
        ReserveOutcome::AlreadyHandled
    );
    assert_eq!(counts(&store, "MUG").await, (5, 0, 0));
    assert!(
        store.outbox().is_empty(),
        "nothing happened, nothing announced"
    );
    assert_eq!(
        release_now(&store, &order).await,
        ReleaseOutcome::NothingHeld(ReservationStatus::Cancelled)
    );
}

#[tokio::test]
async fn a_confirmed_order_sells_its_reserved_units_once() {
    let store = store_with(&[("MUG", 10, 0)]);
    let order = placed(vec![line("MUG", 4)]);
    reserve_now(&store, &order).await;

    assert_eq!(commit_now(&store, &order).await, CommitOutcome::Committed);
    assert_eq!(counts(&store, "MUG").await, (6, 0, 4));
    assert_eq!(
        status(&store, &order).await,
        Some(ReservationStatus::Committed)
    );
    assert_eq!(
        commit_now(&store, &order).await,
        CommitOutcome::AlreadyCommitted
    );
    assert_eq!(counts(&store, "MUG").await, (6, 0, 4));
    assert_eq!(store.outbox().len(), 1, "committing announces nothing");
}

#[tokio::test]
async fn a_confirmed_then_cancelled_order_returns_its_sold_units() {
    let store = store_with(&[("MUG", 10, 0)]);
    let order = placed(vec![line("MUG", 4)]);
    reserve_now(&store, &order).await;
    commit_now(&store, &order).await;

    assert_eq!(
        release_now(&store, &order).await,
        ReleaseOutcome::Released {
            from: ReservationStatus::Committed
        }
    );
    assert_eq!(counts(&store, "MUG").await, (10, 0, 0));
    assert_eq!(store.events_of(InventoryReleased::TYPE).len(), 1);
    assert_eq!(
        commit_now(&store, &order).await,
        CommitOutcome::NotHeld(ReservationStatus::Released),
        "a late confirmation sells nothing"
    );
    assert_eq!(counts(&store, "MUG").await, (10, 0, 0));
}

#[tokio::test]
async fn nothing_is_sold_for_failed_or_unknown_orders() {
    let store = store_with(&[("MUG", 1, 0)]);
    let order = placed(vec![line("MUG", 2)]);
    reserve_now(&store, &order).await;
    assert_eq!(
        commit_now(&store, &order).await,
        CommitOutcome::NotHeld(ReservationStatus::Failed)
    );
    let unknown = placed(vec![line("MUG", 1)]);
    let err = commit(&store, &confirmed(&unknown), t0())
        .await
        .expect_err("unknown");
    assert!(matches!(err, InventoryError::UnknownReservation(id) if id == unknown.order_id));
    assert!(err.is_permanent(), "a saga bug goes to the DLQ");
    assert_eq!(counts(&store, "MUG").await, (1, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_commit_and_release_settle_consistently() {
    for _ in 0..20 {
        let store = store_with(&[("MUG", 10, 0)]);
        let order = Arc::new(placed(vec![line("MUG", 4)]));
        reserve_now(&store, &order).await;
        let (s1, o1) = (store.clone(), order.clone());
        let (s2, o2) = (store.clone(), order.clone());
        let commit_task = tokio::spawn(async move { commit_now(&s1, &o1).await });
        let release_task = tokio::spawn(async move { release_now(&s2, &o2).await });
        commit_task.await.expect("joined");
        release_task.await.expect("joined");
        // Either order ends released: the units are back on the shelf.
        assert_eq!(
            status(&store, &order).await,
            Some(ReservationStatus::Released)
        );
        assert_eq!(counts(&store, "MUG").await, (10, 0, 0));
        assert_eq!(store.events_of(InventoryReleased::TYPE).len(), 1);
    }
}
