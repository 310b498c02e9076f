use contracts::events::InventoryLowStock;

use super::*;
use crate::memory::InMemoryInventoryStore;
use crate::model::{AvailableChange, ChangeRefused};
use crate::testing::{sku, t0};

async fn store_with(sku_code: &str, available: u32, threshold: u32) -> InMemoryInventoryStore {
    let store = InMemoryInventoryStore::new();
    let mut stock = Stock::new(sku(sku_code), ProductId::new(), threshold, t0());
    stock.available = available;
    store.insert_stock(stock);
    store
}

fn set(units: u32) -> StockChange {
    StockChange {
        available: Some(AvailableChange::Set(units)),
        threshold: None,
    }
}

fn add(delta: i64) -> StockChange {
    StockChange {
        available: Some(AvailableChange::Add(delta)),
        threshold: None,
    }
}

async fn change(
    store: &InMemoryInventoryStore,
    code: &str,
    c: StockChange,
) -> Result<StockView, InventoryError> {
    change_stock(store, &sku(code), c, CorrelationId::new(), t0()).await
}

fn low_stock(store: &InMemoryInventoryStore) -> Vec<InventoryLowStock> {
    store
        .events_of("inventory.low_stock")
        .into_iter()
        .map(|e| {
            e.decode::<InventoryLowStock>()
                .expect("low stock event")
                .data
        })
        .collect()
}

#[tokio::test]
async fn a_new_product_gets_an_empty_record_with_the_default_threshold() {
    let store = InMemoryInventoryStore::new();
    let product = ProductId::new();
    let outcome = init_stock(&store, sku("MUG-001"), product, 5, t0())
        .await
        .expect("created");
    assert!(matches!(outcome, StockInit::Created(_)));
    let view = stock_view(&store, &sku("MUG-001")).await.expect("view");
    assert_eq!(view.product_id, product);
    assert_eq!(
        (view.available, view.reserved, view.sold, view.threshold),
        (0, 0, 0, 5)
    );
    assert_eq!(view.status, StockStatus::Active);
    assert!(store.outbox().is_empty(), "creation announces nothing");
}

#[tokio::test]
async fn a_redelivered_product_created_leaves_counted_stock_alone() {
    let store = InMemoryInventoryStore::new();
    let product = ProductId::new();
    init_stock(&store, sku("MUG-001"), product, 5, t0())
        .await
        .expect("created");
    change(&store, "MUG-001", set(40)).await.expect("restocked");

    let again = init_stock(&store, sku("MUG-001"), product, 9, t0())
        .await
        .expect("duplicate");
    assert_eq!(again, StockInit::AlreadyExists);
    let view = stock_view(&store, &sku("MUG-001")).await.expect("view");
    assert_eq!((view.available, view.threshold), (40, 5));
    assert_eq!(store.stock_count(), 1);
}

#[tokio::test]
async fn a_deleted_product_is_discontinued_once() {
    let store = InMemoryInventoryStore::new();
    let product = ProductId::new();
    init_stock(&store, sku("MUG-001"), product, 5, t0())
        .await
        .expect("created");
    change(&store, "MUG-001", set(7)).await.expect("restocked");

    let first = discontinue(&store, sku("MUG-001"), product, 5, t0())
        .await
        .expect("deleted");
    assert_eq!(first, Discontinuation::Discontinued);
    let second = discontinue(&store, sku("MUG-001"), product, 5, t0())
        .await
        .expect("again");
    assert_eq!(second, Discontinuation::AlreadyDiscontinued);
    let view = stock_view(&store, &sku("MUG-001")).await.expect("view");
    assert_eq!(view.status, StockStatus::Discontinued);
    assert_eq!(view.available, 7, "stock on hand is kept");
}

#[tokio::test]
async fn a_deletion_before_the_creation_blocks_the_sku() {
    let store = InMemoryInventoryStore::new();
    let product = ProductId::new();
    let deleted = discontinue(&store, sku("LATE-1"), product, 5, t0())
        .await
        .expect("deleted");
    assert_eq!(deleted, Discontinuation::Tombstoned);
    let created = init_stock(&store, sku("LATE-1"), product, 5, t0())
        .await
        .expect("created");
    assert_eq!(created, StockInit::AlreadyExists);
    let view = stock_view(&store, &sku("LATE-1")).await.expect("view");
    assert_eq!(view.status, StockStatus::Discontinued);
}

#[tokio::test]
async fn another_products_deletion_does_not_touch_the_stock() {
    let store = store_with("MUG-001", 3, 1).await;
    let outcome = discontinue(&store, sku("MUG-001"), ProductId::new(), 5, t0())
        .await
        .expect("handled");
    assert_eq!(outcome, Discontinuation::OtherProduct);
    let view = stock_view(&store, &sku("MUG-001")).await.expect("view");
    assert_eq!(view.status, StockStatus::Active);
}

#[tokio::test]
async fn admins_set_add_and_change_the_threshold() {
    let store = store_with("MUG-001", 0, 5).await;
    assert_eq!(
        change(&store, "MUG-001", set(10))
            .await
            .expect("set")
            .available,
        10
    );
    assert_eq!(
        change(&store, "MUG-001", add(15))
            .await
            .expect("add")
            .available,
        25
    );
    assert_eq!(
        change(&store, "MUG-001", add(-20))
            .await
            .expect("write-off")
            .available,
        5
    );
    let both = change(
        &store,
        "MUG-001",
        StockChange {
            available: None,
            threshold: Some(2),
        },
    )
    .await
    .expect("threshold");
    assert_eq!((both.available, both.threshold), (5, 2));
    assert_eq!(both.updated_at, t0());
}

#[tokio::test]
async fn stock_never_goes_negative_and_unknown_skus_are_not_found() {
    let store = store_with("MUG-001", 3, 1).await;
    let refused = change(&store, "MUG-001", add(-4))
        .await
        .expect_err("negative");
    assert!(matches!(
        refused,
        InventoryError::ChangeRefused(ChangeRefused::WouldGoNegative {
            available: 3,
            delta: -4
        })
    ));
    assert_eq!(
        stock_view(&store, &sku("MUG-001"))
            .await
            .expect("view")
            .available,
        3
    );
    assert!(matches!(
        change(&store, "NOPE", set(1)).await,
        Err(InventoryError::StockNotFound)
    ));
    assert!(matches!(
        stock_view(&store, &sku("NOPE")).await,
        Err(InventoryError::StockNotFound)
    ));
}

#[tokio::test]
async fn low_stock_is_announced_only_when_the_threshold_is_crossed() {
    let store = store_with("MUG-001", 0, 5).await;
    change(&store, "MUG-001", set(10)).await.expect("restock");
    change(&store, "MUG-001", add(-4)).await.expect("6 left");
    assert!(low_stock(&store).is_empty(), "still above the threshold");

    change(&store, "MUG-001", add(-1)).await.expect("5 left");
    let events = low_stock(&store);
    assert_eq!(events.len(), 1, "crossed onto the threshold");
    assert_eq!(
        (
            events[0].sku.as_str(),
            events[0].available,
            events[0].threshold
        ),
        ("MUG-001", 5, 5)
    );

    change(&store, "MUG-001", add(-1)).await.expect("4 left");
    change(&store, "MUG-001", set(2)).await.expect("2 left");
    assert_eq!(low_stock(&store).len(), 1, "already low: no new alert");

    change(&store, "MUG-001", set(20)).await.expect("restock");
    assert_eq!(low_stock(&store).len(), 1, "going up is not an alert");
    change(&store, "MUG-001", set(1)).await.expect("sold off");
    assert_eq!(
        low_stock(&store).len(),
        2,
        "a second crossing after a restock"
    );

    change(&store, "MUG-001", set(8)).await.expect("restock");
    change(
        &store,
        "MUG-001",
        StockChange {
            available: None,
            threshold: Some(10),
        },
    )
    .await
    .expect("threshold raised");
    let events = low_stock(&store);
    assert_eq!(
        events.len(),
        3,
        "raising the threshold above stock is a crossing"
    );
    assert_eq!((events[2].available, events[2].threshold), (8, 10));
}

#[tokio::test]
async fn concurrent_restocks_all_count() {
    let store = store_with("MUG-001", 0, 0).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { change(&store, "MUG-001", add(3)).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joined").expect("restocked");
    }
    assert_eq!(
        stock_view(&store, &sku("MUG-001"))
            .await
            .expect("view")
            .available,
        30
    );
}
