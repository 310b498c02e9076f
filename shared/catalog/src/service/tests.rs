use contracts::events::{ProductCreated, ProductDeleted, ProductUpdated};
use contracts::{Currency, EventEnvelope};
use time::macros::datetime;

use super::*;
use crate::images::tests::images;
use crate::memory::InMemoryCatalogStore;
use crate::model::{Category, Price, ProductDescription, ProductName, Sku};

fn t0() -> OffsetDateTime {
    datetime!(2026-11-21 10:00 UTC)
}

fn input(sku: &str, name: &str, price: i64) -> ProductInput {
    ProductInput {
        sku: Sku::parse(sku).expect("sku"),
        name: ProductName::parse(name).expect("name"),
        description: ProductDescription::parse("Stoneware, 350 ml.").expect("description"),
        category: Category::parse("kitchen").expect("category"),
        price: Price::new(price).expect("price"),
        currency: Currency::EUR,
    }
}

fn corr() -> CorrelationId {
    CorrelationId::new()
}

fn pinned(version: u64) -> Preconditions {
    Preconditions::if_match(Some(
        IfMatch::parse(&format!("\"{version}\"")).expect("tag"),
    ))
}

fn body_version(version: u64) -> Preconditions {
    Preconditions {
        if_match: None,
        body_version: Some(version),
    }
}

async fn created(store: &InMemoryCatalogStore, sku: &str) -> Product {
    create_product(store, input(sku, "Café mug", 1250), &corr(), t0())
        .await
        .expect("created")
}

#[tokio::test]
async fn creating_stores_version_1_and_announces_the_full_snapshot() {
    let store = InMemoryCatalogStore::new();
    let correlation = corr();
    let product = create_product(
        &store,
        input("mug-001", "Café mug", 1250),
        &correlation,
        t0(),
    )
    .await
    .expect("created");
    assert_eq!(product.version, 1);
    assert_eq!(product.sku.as_str(), "MUG-001");
    assert_eq!(
        get_product(&store, product.id).await.expect("read"),
        product
    );

    let outbox = store.outbox();
    assert_eq!(outbox.len(), 1);
    let event: EventEnvelope<ProductCreated> = outbox[0].clone().decode().expect("created");
    assert_eq!(event.correlation_id, correlation);
    assert_eq!(event.subject, product.id.to_string());
    assert_eq!(event.data.product_id, product.id);
    assert_eq!(event.data.version, 1);
    assert_eq!(event.data.product, product.details());
    assert_eq!(event.data.product.price, 1250);
    assert_eq!(event.data.created_at, product.created_at);
}

#[tokio::test]
async fn skus_are_unique_case_insensitively() {
    let store = InMemoryCatalogStore::new();
    let first = created(&store, "MUG-001").await;
    let err = create_product(&store, input("mug-001", "Other", 10), &corr(), t0())
        .await
        .expect_err("taken");
    assert!(matches!(err, CatalogError::SkuTaken(ref s) if s.as_str() == "MUG-001"));
    assert_eq!(store.outbox().len(), 1, "no event for the refused product");

    // Another product cannot take it either: SKUs never change.
    let second = created(&store, "MUG-002").await;
    let err = update_product(
        &store,
        second.id,
        input("MUG-001", "Other", 10),
        &pinned(1),
        &corr(),
        t0(),
    )
    .await
    .expect_err("refused");
    assert!(matches!(err, CatalogError::SkuChanged { .. }), "{err:?}");
    assert_eq!(store.sku_owner(&first.sku), Some(first.id));
    assert_eq!(
        get_product(&store, second.id).await.expect("read").version,
        1
    );
}

#[tokio::test]
async fn concurrent_creates_of_one_sku_make_one_product() {
    let store = InMemoryCatalogStore::new();
    let attempts = (0..10).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            create_product(
                &store,
                input("RACE-1", &format!("P{i}"), 100),
                &corr(),
                t0(),
            )
            .await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let taken = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(CatalogError::SkuTaken(_)))))
        .count();
    assert_eq!((ok, taken), (1, 9));
    assert_eq!(store.outbox().len(), 1);
}

#[tokio::test]
async fn updates_need_a_precondition_and_refuse_stale_versions() {
    let store = InMemoryCatalogStore::new();
    let p = created(&store, "MUG-001").await;

    let err = update_product(
        &store,
        p.id,
        input("MUG-001", "New", 1300),
        &Preconditions::default(),
        &corr(),
        t0(),
    )
    .await
    .expect_err("428");
    assert!(matches!(err, CatalogError::PreconditionRequired));

    let v2 = update_product(
        &store,
        p.id,
        input("MUG-001", "New", 1300),
        &pinned(1),
        &corr(),
        t0(),
    )
    .await
    .expect("updated");
    assert_eq!(v2.version, 2);
    assert_eq!(v2.name.as_str(), "New");
    assert_eq!(v2.created_at, p.created_at);

    // Both clients read version 1; the second one is too late.
    let err = update_product(
        &store,
        p.id,
        input("MUG-001", "Late", 1),
        &pinned(1),
        &corr(),
        t0(),
    )
    .await
    .expect_err("412");
    assert!(matches!(
        err,
        CatalogError::PreconditionFailed { current: 2 }
    ));
    let err = update_product(
        &store,
        p.id,
        input("MUG-001", "Late", 1),
        &body_version(1),
        &corr(),
        t0(),
    )
    .await
    .expect_err("409");
    assert!(matches!(
        err,
        CatalogError::VersionConflict {
            given: 1,
            current: 2
        }
    ));
    let stored = get_product(&store, p.id).await.expect("read");
    assert_eq!(stored, v2, "refused updates change nothing");

    let v3 = update_product(
        &store,
        p.id,
        input("MUG-001", "Body", 1400),
        &body_version(2),
        &corr(),
        t0(),
    )
    .await
    .expect("body version works");
    assert_eq!(v3.version, 3);

    let updates: Vec<EventEnvelope<ProductUpdated>> = store
        .outbox()
        .into_iter()
        .filter(|e| e.event_type == "product.updated")
        .map(|e| e.decode().expect("updated"))
        .collect();
    assert_eq!(
        updates.iter().map(|e| e.data.version).collect::<Vec<_>>(),
        [2, 3]
    );
    assert_eq!(updates[1].data.product.name, "Body");
    assert_eq!(updates[1].data.product.price, 1400);
}

#[tokio::test]
async fn concurrent_updates_from_one_version_let_exactly_one_win() {
    let store = InMemoryCatalogStore::new();
    let p = created(&store, "MUG-001").await;
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            update_product(
                &store,
                p.id,
                input("MUG-001", &format!("Writer {i}"), 100 + i),
                &pinned(1),
                &corr(),
                t0(),
            )
            .await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let winners = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let stale = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(CatalogError::PreconditionFailed { current: 2 }))))
        .count();
    assert_eq!((winners, stale), (1, 7));
    assert_eq!(get_product(&store, p.id).await.expect("read").version, 2);
}

#[tokio::test]
async fn if_match_star_retries_on_the_newer_version() {
    let store = InMemoryCatalogStore::new();
    let p = created(&store, "MUG-001").await;
    let any = Preconditions::if_match(Some(IfMatch::Any));
    let attempts = (0..4).map(|i| {
        let store = store.clone();
        let any = any.clone();
        tokio::spawn(async move {
            update_product(
                &store,
                p.id,
                input("MUG-001", &format!("W{i}"), 100),
                &any,
                &corr(),
                t0(),
            )
            .await
        })
    });
    for r in futures::future::join_all(attempts).await {
        r.expect("joined").expect("every unpinned update lands");
    }
    assert_eq!(get_product(&store, p.id).await.expect("read").version, 5);
}

#[tokio::test]
async fn the_sku_cannot_change() {
    let store = InMemoryCatalogStore::new();
    let p = created(&store, "OLD-1").await;
    let err = update_product(
        &store,
        p.id,
        input("NEW-1", "Mug", 100),
        &pinned(1),
        &corr(),
        t0(),
    )
    .await
    .expect_err("a new sku is a new product");
    assert!(matches!(err, CatalogError::SkuChanged { .. }), "{err:?}");
    let old = Sku::parse("OLD-1").expect("sku");
    let new = Sku::parse("NEW-1").expect("sku");
    assert_eq!(store.sku_owner(&old), Some(p.id));
    assert_eq!(store.sku_owner(&new), None);
}

#[tokio::test]
async fn deleting_frees_the_sku_and_announces_the_next_version() {
    let store = InMemoryCatalogStore::new();
    let p = created(&store, "MUG-001").await;
    let err = delete_product(
        &store,
        p.id,
        Some(IfMatch::parse("\"7\"").expect("tag")),
        &corr(),
        t0(),
    )
    .await
    .expect_err("stale If-Match");
    assert!(matches!(
        err,
        CatalogError::PreconditionFailed { current: 1 }
    ));

    delete_product(&store, p.id, None, &corr(), t0())
        .await
        .expect("deleted");
    assert!(matches!(
        get_product(&store, p.id).await,
        Err(CatalogError::NotFound)
    ));
    assert!(matches!(
        delete_product(&store, p.id, None, &corr(), t0()).await,
        Err(CatalogError::NotFound)
    ));
    let deleted: EventEnvelope<ProductDeleted> = store
        .outbox()
        .last()
        .cloned()
        .expect("event")
        .decode()
        .expect("deleted");
    assert_eq!(deleted.data.version, 2);
    assert_eq!(deleted.data.sku, "MUG-001");
    assert!(deleted.data.deleted_at > p.updated_at);

    // The SKU is free again.
    let again = created(&store, "MUG-001").await;
    assert_ne!(again.id, p.id);
    // Updating the deleted product is a 404.
    assert!(matches!(
        update_product(
            &store,
            p.id,
            input("X-1", "X", 1),
            &pinned(1),
            &corr(),
            t0()
        )
        .await,
        Err(CatalogError::NotFound)
    ));
}

#[tokio::test]
async fn image_uploads_are_recorded_on_the_product() {
    let store = InMemoryCatalogStore::new();
    let images = images();
    let p = created(&store, "MUG-001").await;
    let request = |if_match: Option<IfMatch>| ImageRequest {
        kind: ImageType::Png,
        size: ImageSize::new(2048).expect("size"),
        if_match,
    };
    let upload = request_image_upload(&store, &images, p.id, request(None), &corr(), t0())
        .await
        .expect("granted");
    assert!(
        upload
            .key
            .starts_with(&format!("products/{}/images/", p.id))
    );
    assert!(upload.key.ends_with(".png"));
    assert!(upload.upload.url.contains(&upload.key));
    assert_eq!(upload.product.version, 2);
    assert_eq!(upload.product.images, vec![upload.key.clone()]);

    let updated: EventEnvelope<ProductUpdated> = store
        .outbox()
        .last()
        .cloned()
        .expect("event")
        .decode()
        .expect("updated");
    assert_eq!(updated.data.version, 2);
    assert_eq!(updated.data.product.images, vec![upload.key.clone()]);

    let err = request_image_upload(
        &store,
        &images,
        p.id,
        request(Some(IfMatch::parse("\"1\"").expect("tag"))),
        &corr(),
        t0(),
    )
    .await
    .expect_err("stale");
    assert!(matches!(
        err,
        CatalogError::PreconditionFailed { current: 2 }
    ));

    for _ in 1..MAX_IMAGES {
        request_image_upload(&store, &images, p.id, request(None), &corr(), t0())
            .await
            .expect("granted");
    }
    let err = request_image_upload(&store, &images, p.id, request(None), &corr(), t0())
        .await
        .expect_err("full");
    assert!(matches!(err, CatalogError::TooManyImages));
    let unknown = request_image_upload(
        &store,
        &images,
        ProductId::new(),
        request(None),
        &corr(),
        t0(),
    )
    .await
    .expect_err("404");
    assert!(matches!(unknown, CatalogError::NotFound));
}
