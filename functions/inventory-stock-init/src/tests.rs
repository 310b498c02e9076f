use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::ProductDetails;
use contracts::{CorrelationId, Currency, ProductId};
use inventory::memory::InMemoryInventoryStore;
use inventory::model::StockStatus;
use inventory::testing::sqs;
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

fn created(product_id: ProductId, sku: &str) -> EventEnvelope<ProductCreated> {
    let now = OffsetDateTime::now_utc();
    EventEnvelope::new(
        ProductCreated {
            product_id,
            version: 1,
            product: ProductDetails {
                sku: sku.into(),
                name: "Café mug".into(),
                description: "Stoneware, 350 ml.".into(),
                category: "kitchen".into(),
                price: 1250,
                currency: Currency::EUR,
                images: vec![],
            },
            created_at: now,
        },
        CorrelationId::new(),
        now,
    )
}

fn deleted(product_id: ProductId, sku: &str) -> EventEnvelope<ProductDeleted> {
    let now = OffsetDateTime::now_utc();
    EventEnvelope::new(
        ProductDeleted {
            product_id,
            version: 3,
            sku: sku.into(),
            deleted_at: now,
        },
        CorrelationId::new(),
        now,
    )
}

fn consumer(
    store: &InMemoryInventoryStore,
) -> Consumer<InitStock<InMemoryInventoryStore>, InMemoryIdempotencyStore> {
    Consumer::new(
        InitStock::new(store.clone(), 5),
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency: 4,
        },
    )
}

fn deadline() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(30)
}

async fn stock(store: &InMemoryInventoryStore, sku: &str) -> Option<inventory::model::Stock> {
    store
        .stock(&Sku::parse(sku).expect("sku"))
        .await
        .expect("read")
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("json")
}

#[tokio::test]
async fn a_created_product_gets_an_empty_stock_record() {
    let store = InMemoryInventoryStore::new();
    let product = ProductId::new();
    InitStock::new(store.clone(), 7)
        .handle(CatalogEvent::Created(created(product, "MUG-001")))
        .await
        .expect("handled");
    let record = stock(&store, "MUG-001").await.expect("created");
    assert_eq!(record.product_id, product);
    assert_eq!(
        (record.available, record.reserved, record.threshold),
        (0, 0, 7)
    );
    assert_eq!(record.status, StockStatus::Active);
}

#[tokio::test]
async fn a_batch_of_both_events_a_duplicate_and_garbage() {
    let store = InMemoryInventoryStore::new();
    let consumer = consumer(&store);
    let (mug, tea) = (ProductId::new(), ProductId::new());
    let mug_created = json(&created(mug, "MUG-001"));
    let out = consumer
        .process_batch(
            sqs(&[
                ("m1", mug_created.clone()),
                ("m2", json(&created(tea, "TEA-010"))),
                ("m3", "not json".into()),
            ]),
            deadline(),
            "req",
        )
        .await;
    assert_eq!(out.failed_ids(), vec!["m3"]);
    assert_eq!(store.stock_count(), 2);

    let out = consumer
        .process_batch(
            sqs(&[("m4", json(&deleted(tea, "TEA-010"))), ("m1", mug_created)]),
            deadline(),
            "req",
        )
        .await;
    assert!(out.batch_item_failures.is_empty(), "{:?}", out.failed_ids());
    assert_eq!(
        stock(&store, "TEA-010").await.expect("kept").status,
        StockStatus::Discontinued
    );
    assert_eq!(
        stock(&store, "MUG-001").await.expect("kept").status,
        StockStatus::Active
    );
    assert_eq!(store.stock_count(), 2);
}

#[tokio::test]
async fn a_republished_creation_never_resets_counted_stock() {
    let store = InMemoryInventoryStore::new();
    let handler = InitStock::new(store.clone(), 5);
    let product = ProductId::new();
    handler
        .handle(CatalogEvent::Created(created(product, "MUG-001")))
        .await
        .expect("first");
    let mut counted = stock(&store, "MUG-001").await.expect("created");
    counted.available = 33;
    store.insert_stock(counted);
    // Same product, new event id: the idempotency store cannot catch it.
    handler
        .handle(CatalogEvent::Created(created(product, "MUG-001")))
        .await
        .expect("republished");
    assert_eq!(stock(&store, "MUG-001").await.expect("kept").available, 33);
}

#[tokio::test]
async fn a_deletion_that_overtakes_the_creation_still_blocks_the_sku() {
    let store = InMemoryInventoryStore::new();
    let handler = InitStock::new(store.clone(), 5);
    let product = ProductId::new();
    handler
        .handle(CatalogEvent::Deleted(deleted(product, "MUG-001")))
        .await
        .expect("deleted");
    handler
        .handle(CatalogEvent::Created(created(product, "MUG-001")))
        .await
        .expect("created late");
    assert_eq!(
        stock(&store, "MUG-001").await.expect("record").status,
        StockStatus::Discontinued
    );
}

#[tokio::test]
async fn an_unusable_sku_or_event_type_goes_to_the_dlq() {
    let store = InMemoryInventoryStore::new();
    let err = InitStock::new(store.clone(), 5)
        .handle(CatalogEvent::Created(created(ProductId::new(), "no good")))
        .await
        .expect_err("bad sku");
    assert!(matches!(err, HandlerError::Permanent(_)));

    let mut other = created(ProductId::new(), "MUG-001")
        .into_raw()
        .expect("raw");
    other.event_type = "product.updated".into();
    assert!(CatalogEvent::from_envelope(other).is_err());
    let out = consumer(&store)
        .process_batch(
            sqs(&[("m1", json(&created(ProductId::new(), "bad sku")))]),
            deadline(),
            "req",
        )
        .await;
    assert_eq!(out.failed_ids(), vec!["m1"]);
    assert_eq!(store.stock_count(), 0);
}
