use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::{CorrelationId, Currency};
use orders::memory::InMemoryOrdersStore;
use platform::idempotency::InMemoryIdempotencyStore;
use time::{Duration, OffsetDateTime};

use super::*;

fn details(price: i64) -> ProductDetails {
    ProductDetails {
        sku: "LAMP-1".into(),
        name: format!("Lamp at {price}"),
        description: "A lamp".into(),
        category: "lighting".into(),
        price,
        currency: Currency::EUR,
        images: vec![],
    }
}

fn created(id: ProductId, price: i64) -> String {
    let event = EventEnvelope::new(
        ProductCreated {
            product_id: id,
            version: 1,
            product: details(price),
            created_at: OffsetDateTime::now_utc(),
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    );
    serde_json::to_string(&event).expect("json")
}

fn updated(id: ProductId, version: u64, price: i64) -> String {
    let event = EventEnvelope::new(
        ProductUpdated {
            product_id: id,
            version,
            product: details(price),
            updated_at: OffsetDateTime::now_utc(),
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    );
    serde_json::to_string(&event).expect("json")
}

fn deleted(id: ProductId, version: u64) -> String {
    let event = EventEnvelope::new(
        ProductDeleted {
            product_id: id,
            version,
            sku: "LAMP-1".into(),
            deleted_at: OffsetDateTime::now_utc(),
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    );
    serde_json::to_string(&event).expect("json")
}

fn sqs(bodies: &[String]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut m = SqsMessage::default();
            m.message_id = Some(format!("m{i}"));
            m.body = Some(body.clone());
            m
        })
        .collect();
    event
}

fn consumer(
    store: &InMemoryOrdersStore,
) -> Consumer<ProjectPrices<InMemoryOrdersStore>, InMemoryIdempotencyStore> {
    Consumer::new(
        ProjectPrices::new(store.clone()),
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            // One at a time: the order of the batch is the arrival order.
            idempotency_ttl: Duration::hours(1),
            concurrency: 1,
        },
    )
}

async fn run(store: &InMemoryOrdersStore, bodies: &[String]) -> Vec<String> {
    consumer(store)
        .process_batch(
            sqs(bodies),
            OffsetDateTime::now_utc() + Duration::seconds(30),
            "req",
        )
        .await
        .failed_ids()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn created_and_updated_products_are_priced_from_the_newest_version() {
    let store = InMemoryOrdersStore::new();
    let id = ProductId::new();

    let failed = run(
        &store,
        &[
            created(id, 1_000),
            updated(id, 3, 1_500),
            updated(id, 2, 1_200),
        ],
    )
    .await;

    assert!(failed.is_empty(), "{failed:?}");
    let product = store.product(id).await.expect("read").expect("projected");
    assert_eq!(product.version, 3);
    assert_eq!(product.sku, "LAMP-1");
    assert_eq!(
        product.listing,
        Listing::OnSale {
            name: "Lamp at 1500".into(),
            price: 1_500,
            currency: Currency::EUR,
        }
    );
}

#[tokio::test]
async fn a_deletion_wins_over_older_updates_whatever_the_order() {
    let store = InMemoryOrdersStore::new();
    let id = ProductId::new();
    // The deletion overtakes the creation and an update.
    let failed = run(
        &store,
        &[deleted(id, 3), created(id, 1_000), updated(id, 2, 900)],
    )
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    let product = store.product(id).await.expect("read").expect("tombstone");
    assert_eq!(product.version, 3);
    assert_eq!(product.listing, Listing::Deleted);
}

#[tokio::test]
async fn duplicates_are_harmless_and_other_events_fail_alone() {
    let store = InMemoryOrdersStore::new();
    let id = ProductId::new();
    let body = created(id, 700);
    let foreign = serde_json::json!({
        "id": "e1", "type": "order.placed", "version": 1, "source": "orders",
        "occurred_at": "2026-11-21T10:00:00Z", "correlation_id": "c", "subject": "x", "data": {}
    })
    .to_string();

    let failed = run(&store, &[body.clone(), body, foreign, "garbage".into()]).await;

    assert_eq!(failed, vec!["m2".to_owned(), "m3".to_owned()]);
    let product = store.product(id).await.expect("read").expect("projected");
    assert_eq!(product.version, 1);
}
