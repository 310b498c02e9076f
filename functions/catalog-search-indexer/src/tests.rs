use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use catalog::search::memory::InMemorySearchStore;
use catalog::search::model::SearchPage;
use catalog::search::{SearchQuery, Sort, search};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::ProductDetails;
use contracts::{CorrelationId, Currency, ProductId};
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

fn details(name: &str, price: i64) -> ProductDetails {
    ProductDetails {
        sku: "MUG-001".into(),
        name: name.into(),
        description: "Stoneware.".into(),
        category: "kitchen".into(),
        price,
        currency: Currency::EUR,
        images: vec![],
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn created(id: ProductId, name: &str) -> String {
    let e = EventEnvelope::new(
        ProductCreated {
            product_id: id,
            version: 1,
            product: details(name, 1250),
            created_at: now(),
        },
        CorrelationId::new(),
        now(),
    );
    serde_json::to_string(&e).expect("json")
}

fn updated(id: ProductId, version: u64, name: &str) -> String {
    let e = EventEnvelope::new(
        ProductUpdated {
            product_id: id,
            version,
            product: details(name, 1500),
            updated_at: now(),
        },
        CorrelationId::new(),
        now(),
    );
    serde_json::to_string(&e).expect("json")
}

fn deleted(id: ProductId, version: u64) -> String {
    let e = EventEnvelope::new(
        ProductDeleted {
            product_id: id,
            version,
            sku: "MUG-001".into(),
            deleted_at: now(),
        },
        CorrelationId::new(),
        now(),
    );
    serde_json::to_string(&e).expect("json")
}

fn sqs(bodies: &[(&str, &str)]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .map(|(id, body)| {
            let mut m = SqsMessage::default();
            m.message_id = Some((*id).to_owned());
            m.body = Some((*body).to_owned());
            m
        })
        .collect();
    event
}

fn consumer(
    store: &InMemorySearchStore,
) -> Consumer<IndexProducts<InMemorySearchStore>, InMemoryIdempotencyStore> {
    Consumer::new(
        IndexProducts::new(store.clone()),
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            // One at a time, so the batch order is the processing order.
            concurrency: 1,
        },
    )
}

async fn find(store: &InMemorySearchStore, q: &str) -> SearchPage {
    let query = SearchQuery {
        keywords: catalog::search::tokens::query_tokens(q).expect("tokens"),
        category: None,
        min_price: None,
        max_price: None,
        currency: None,
        sort: Sort::Relevance,
        limit: 20,
    };
    search(store, &query, None).await.expect("search")
}

fn deadline() -> OffsetDateTime {
    now() + Duration::seconds(30)
}

#[tokio::test]
async fn created_updated_and_deleted_events_drive_the_read_model() {
    let store = InMemorySearchStore::new();
    let c = consumer(&store);
    let id = ProductId::new();
    let out = c
        .process_batch(sqs(&[("m1", &created(id, "Café mug"))]), deadline(), "r")
        .await;
    assert!(out.failed_ids().is_empty());
    let hits = find(&store, "cafe").await.items;
    assert_eq!(hits.len(), 1);
    assert_eq!((hits[0].id, hits[0].version, hits[0].price), (id, 1, 1250));

    c.process_batch(sqs(&[("m2", &updated(id, 2, "Tea mug"))]), deadline(), "r")
        .await;
    assert!(find(&store, "cafe").await.items.is_empty());
    assert_eq!(find(&store, "tea").await.items[0].version, 2);

    c.process_batch(sqs(&[("m3", &deleted(id, 3))]), deadline(), "r")
        .await;
    assert!(find(&store, "tea").await.items.is_empty());
    assert!(find(&store, "stoneware").await.items.is_empty());
}

#[tokio::test]
async fn out_of_order_and_duplicate_deliveries_end_at_the_newest_version() {
    let store = InMemorySearchStore::new();
    let c = consumer(&store);
    let id = ProductId::new();
    let v2 = updated(id, 2, "Newer name");
    let out = c
        .process_batch(
            sqs(&[
                ("m1", &v2),
                ("m2", &created(id, "Older name")),
                ("m3", &v2),
                // Re-published with a new event id: caught by the version.
                ("m4", &updated(id, 2, "Newer name")),
            ]),
            deadline(),
            "r",
        )
        .await;
    assert!(out.failed_ids().is_empty(), "{:?}", out.failed_ids());
    assert!(find(&store, "older").await.items.is_empty());
    let hits = find(&store, "newer").await.items;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].version, 2);

    // A late update after the deletion does not bring the product back.
    c.process_batch(
        sqs(&[
            ("m5", &deleted(id, 3)),
            ("m6", &updated(id, 2, "Newer name")),
        ]),
        deadline(),
        "r",
    )
    .await;
    assert!(find(&store, "newer").await.items.is_empty());
}

#[tokio::test]
async fn poison_and_foreign_events_fail_alone() {
    let store = InMemorySearchStore::new();
    let c = consumer(&store);
    let id = ProductId::new();
    let foreign = serde_json::json!({
        "id": "e1", "type": "user.registered", "version": 1, "source": "identity",
        "occurred_at": "2026-11-21T10:00:00Z", "correlation_id": "c", "subject": "x", "data": {}
    })
    .to_string();
    let out = c
        .process_batch(
            sqs(&[
                ("bad", "not json"),
                ("foreign", &foreign),
                ("good", &created(id, "Café mug")),
            ]),
            deadline(),
            "r",
        )
        .await;
    let mut failed = out.failed_ids();
    failed.sort();
    assert_eq!(failed, ["bad", "foreign"]);
    assert_eq!(find(&store, "mug").await.items.len(), 1);
}
