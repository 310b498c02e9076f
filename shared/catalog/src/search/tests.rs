use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use contracts::events::ProductDetails;
use contracts::{Currency, ProductId};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::Notify;

use super::memory::InMemorySearchStore;
use super::model::{IndexState, PageRequest, Row, RowPage, SearchPage, token_partition};
use super::store::SearchStore;
use super::*;
use crate::CatalogError;
use crate::model::Category;

fn t0() -> OffsetDateTime {
    datetime!(2026-11-21 10:00 UTC)
}

fn details(sku: &str, name: &str, description: &str, category: &str, price: i64) -> ProductDetails {
    ProductDetails {
        sku: sku.into(),
        name: name.into(),
        description: description.into(),
        category: category.into(),
        price,
        currency: Currency::EUR,
        images: vec![],
    }
}

async fn upsert<S: SearchStore>(
    store: &S,
    id: ProductId,
    version: u64,
    d: &ProductDetails,
) -> IndexOutcome {
    apply_change(
        store,
        ProductChange::Upsert {
            product_id: id,
            version,
            product: d,
            at: t0(),
        },
        t0(),
    )
    .await
    .expect("indexed")
}

async fn delete<S: SearchStore>(store: &S, id: ProductId, version: u64) -> IndexOutcome {
    apply_change(
        store,
        ProductChange::Delete {
            product_id: id,
            version,
        },
        t0(),
    )
    .await
    .expect("indexed")
}

fn query(q: &str) -> SearchQuery {
    SearchQuery {
        keywords: if q.is_empty() {
            vec![]
        } else {
            tokens::query_tokens(q).expect("tokens")
        },
        category: None,
        min_price: None,
        max_price: None,
        currency: None,
        sort: if q.is_empty() {
            Sort::Newest
        } else {
            Sort::Relevance
        },
        limit: 20,
    }
}

async fn ids<S: SearchStore>(store: &S, q: &SearchQuery) -> Vec<ProductId> {
    search(store, q, None)
        .await
        .expect("searched")
        .items
        .iter()
        .map(|h| h.id)
        .collect()
}

/// Every page of a query, following cursors.
async fn all_pages<S: SearchStore>(store: &S, q: &SearchQuery) -> Vec<SearchPage> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = search(store, q, cursor.as_deref()).await.expect("page");
        cursor = page.next_cursor.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 100, "cursor loop");
    }
}

#[tokio::test]
async fn a_created_product_is_found_case_accent_and_prefix_insensitively() {
    let store = InMemorySearchStore::new();
    let id = ProductId::new();
    let d = details(
        "MUG-001",
        "Café mug",
        "Stoneware, 350 ml. Hand-made!",
        "kitchen",
        1250,
    );
    assert_eq!(upsert(&store, id, 1, &d).await, IndexOutcome::Applied);

    for q in [
        "cafe",
        "CAFÉ",
        "café mug",
        "caf",
        "stoneware",
        "hand made",
        "350",
        "Mug, café!",
    ] {
        assert_eq!(ids(&store, &query(q)).await, [id], "query {q:?}");
    }
    for q in ["tea", "cafe tea", "ca", "mugs", "stonewares"] {
        assert!(ids(&store, &query(q)).await.is_empty(), "query {q:?}");
    }
    let hit = &search(&store, &query("mug"), None)
        .await
        .expect("search")
        .items[0];
    assert_eq!(hit.sku, "MUG-001");
    assert_eq!(hit.name, "Café mug");
    assert_eq!(hit.summary, "Stoneware, 350 ml. Hand-made!");
    assert_eq!(hit.category, "kitchen");
    assert_eq!(
        (hit.price, hit.currency, hit.version),
        (1250, Currency::EUR, 1)
    );
    // Browse too.
    assert_eq!(ids(&store, &query("")).await, [id]);
}

#[tokio::test]
async fn updates_move_the_product_between_words_and_categories() {
    let store = InMemorySearchStore::new();
    let id = ProductId::new();
    upsert(
        &store,
        id,
        1,
        &details("A-1", "Red teapot", "", "kitchen", 100),
    )
    .await;
    upsert(
        &store,
        id,
        2,
        &details("A-1", "Blue kettle", "", "garden", 150),
    )
    .await;

    assert!(ids(&store, &query("teapot")).await.is_empty());
    assert!(ids(&store, &query("red")).await.is_empty());
    assert_eq!(ids(&store, &query("kettle blue")).await, [id]);
    let mut in_kitchen = query("");
    in_kitchen.category = Some(Category::parse("kitchen").expect("slug"));
    assert!(ids(&store, &in_kitchen).await.is_empty());
    in_kitchen.category = Some(Category::parse("garden").expect("slug"));
    assert_eq!(ids(&store, &in_kitchen).await, [id]);
    // Left partitions hold a tombstone of the new version, not the old row.
    let old = store.rows(&token_partition("teapot"));
    assert_eq!(old.len(), 1);
    assert_eq!((old[0].version, old[0].listing.is_none()), (2, true));
    assert!(old[0].expires_at.is_some());
    let hit = &search(&store, &query("kettle"), None)
        .await
        .expect("search")
        .items[0];
    assert_eq!((hit.price, hit.version), (150, 2));
}

#[tokio::test]
async fn deleted_products_disappear_everywhere() {
    let store = InMemorySearchStore::new();
    let id = ProductId::new();
    let keep = ProductId::new();
    upsert(
        &store,
        id,
        1,
        &details("A-1", "Garden hose", "", "garden", 100),
    )
    .await;
    upsert(
        &store,
        keep,
        1,
        &details("A-2", "Garden chair", "", "garden", 100),
    )
    .await;
    assert_eq!(delete(&store, id, 2).await, IndexOutcome::Applied);

    assert!(ids(&store, &query("hose")).await.is_empty());
    assert_eq!(ids(&store, &query("garden")).await, [keep]);
    assert_eq!(ids(&store, &query("")).await, [keep]);
    assert!(store.visible_partitions(id).is_empty());
    let state = store.state(id).await.expect("read").expect("state");
    assert!(state.deleted && state.complete && state.version == 2);
}

#[tokio::test]
async fn duplicate_and_older_events_have_no_effect() {
    let store = InMemorySearchStore::new();
    let id = ProductId::new();
    let v1 = details("A-1", "Old name", "", "kitchen", 100);
    let v2 = details("A-1", "New name", "", "kitchen", 200);

    // Out of order: the update arrives before the creation.
    assert_eq!(upsert(&store, id, 2, &v2).await, IndexOutcome::Applied);
    assert_eq!(
        upsert(&store, id, 1, &v1).await,
        IndexOutcome::Superseded { stored_version: 2 }
    );
    // Duplicate delivery of the applied version.
    assert_eq!(
        upsert(&store, id, 2, &v2).await,
        IndexOutcome::Superseded { stored_version: 2 }
    );
    assert!(ids(&store, &query("old")).await.is_empty());
    assert_eq!(ids(&store, &query("new")).await, [id]);

    // A late update after the deletion does not resurrect the product.
    assert_eq!(delete(&store, id, 3).await, IndexOutcome::Applied);
    assert_eq!(
        upsert(&store, id, 2, &v2).await,
        IndexOutcome::Superseded { stored_version: 3 }
    );
    assert!(ids(&store, &query("new")).await.is_empty());
    assert!(ids(&store, &query("")).await.is_empty());
}

/// A store whose row writes of one version wait for a signal: the slow
/// indexer run of an older version, overtaken by a newer one.
#[derive(Clone)]
struct GatedStore {
    inner: InMemorySearchStore,
    gated_version: u64,
    claimed: Arc<Notify>,
    release: Arc<Notify>,
}

impl SearchStore for GatedStore {
    async fn state(&self, id: ProductId) -> anyhow::Result<Option<IndexState>> {
        self.inner.state(id).await
    }
    async fn claim(&self, state: &IndexState, read: Option<(u64, bool)>) -> anyhow::Result<bool> {
        let won = self.inner.claim(state, read).await?;
        if won && state.version == self.gated_version {
            self.claimed.notify_one();
        }
        Ok(won)
    }
    async fn put_row(&self, partition: &str, row: &Row) -> anyhow::Result<bool> {
        if row.version == self.gated_version {
            self.release.notified().await;
            // Let every other gated write through as well.
            self.release.notify_one();
        }
        self.inner.put_row(partition, row).await
    }
    async fn complete(&self, id: ProductId, version: u64) -> anyhow::Result<()> {
        self.inner.complete(id, version).await
    }
    async fn page(&self, request: &PageRequest) -> anyhow::Result<RowPage> {
        self.inner.page(request).await
    }
}

#[tokio::test]
async fn a_slow_older_writer_cannot_undo_a_newer_version() {
    let inner = InMemorySearchStore::new();
    let id = ProductId::new();
    upsert(&inner, id, 1, &details("A-1", "Alpha", "", "one", 100)).await;
    let store = GatedStore {
        inner: inner.clone(),
        gated_version: 2,
        claimed: Arc::new(Notify::new()),
        release: Arc::new(Notify::new()),
    };
    let slow = {
        let store = store.clone();
        tokio::spawn(async move {
            let v2 = details("A-1", "Bravo", "", "two", 200);
            upsert(&store, id, 2, &v2).await
        })
    };
    store.claimed.notified().await;
    // v3 claims over the unfinished v2 and writes everything first.
    let v3 = details("A-1", "Charlie", "", "three", 300);
    assert_eq!(upsert(&store, id, 3, &v3).await, IndexOutcome::Applied);
    store.release.notify_one();
    assert_eq!(slow.await.expect("joined"), IndexOutcome::Applied);

    assert_eq!(ids(&inner, &query("charlie")).await, [id]);
    for gone in ["alpha", "bravo"] {
        assert!(ids(&inner, &query(gone)).await.is_empty(), "{gone}");
    }
    let mut partitions = inner.visible_partitions(id);
    partitions.sort();
    assert!(partitions.contains(&"CAT#three".to_owned()));
    assert!(!partitions.iter().any(|p| p == "CAT#two" || p == "CAT#one"));
    let state = inner.state(id).await.expect("read").expect("state");
    assert_eq!((state.version, state.complete), (3, true));
}

/// A store that fails one row write: a run that dies half-way.
#[derive(Clone)]
struct FlakyStore {
    inner: InMemorySearchStore,
    fail_on_write: Arc<AtomicUsize>,
}

impl SearchStore for FlakyStore {
    async fn state(&self, id: ProductId) -> anyhow::Result<Option<IndexState>> {
        self.inner.state(id).await
    }
    async fn claim(&self, state: &IndexState, read: Option<(u64, bool)>) -> anyhow::Result<bool> {
        self.inner.claim(state, read).await
    }
    async fn put_row(&self, partition: &str, row: &Row) -> anyhow::Result<bool> {
        if self.fail_on_write.fetch_sub(1, Ordering::SeqCst) == 1 {
            anyhow::bail!("throttled");
        }
        self.inner.put_row(partition, row).await
    }
    async fn complete(&self, id: ProductId, version: u64) -> anyhow::Result<()> {
        self.inner.complete(id, version).await
    }
    async fn page(&self, request: &PageRequest) -> anyhow::Result<RowPage> {
        self.inner.page(request).await
    }
}

#[tokio::test]
async fn a_run_that_failed_half_way_is_finished_by_the_retry() {
    let inner = InMemorySearchStore::new();
    let store = FlakyStore {
        inner: inner.clone(),
        fail_on_write: Arc::new(AtomicUsize::new(3)),
    };
    let id = ProductId::new();
    let d = details("A-1", "Espresso cup", "Porcelain", "kitchen", 900);
    let change = ProductChange::Upsert {
        product_id: id,
        version: 1,
        product: &d,
        at: t0(),
    };
    assert!(apply_change(&store, change, t0()).await.is_err());
    let state = inner.state(id).await.expect("read").expect("claimed");
    assert!(!state.complete);

    assert_eq!(
        apply_change(&store, change, t0()).await.expect("retried"),
        IndexOutcome::Applied
    );
    assert_eq!(ids(&inner, &query("espresso porcelain")).await, [id]);
    assert!(
        inner
            .state(id)
            .await
            .expect("read")
            .expect("state")
            .complete
    );
}

/// Five products, created in this order (so newest is the last one).
async fn shop() -> (InMemorySearchStore, Vec<ProductId>) {
    let store = InMemorySearchStore::new();
    let catalog = [
        (
            "K-1",
            "Stoneware mug",
            "A sturdy mug for tea.",
            "kitchen",
            1200,
        ),
        ("K-2", "Teapot", "Holds four mugs of tea.", "kitchen", 3500),
        (
            "G-1",
            "Garden mug",
            "Enamel mug for the garden.",
            "garden",
            900,
        ),
        ("K-3", "Mugs rack", "Wooden rack for six.", "kitchen", 2500),
        ("O-1", "Desk lamp", "LED lamp.", "office", 4900),
    ];
    let mut ids = Vec::new();
    for (sku, name, description, category, price) in catalog {
        let id = ProductId::new();
        upsert(
            &store,
            id,
            1,
            &details(sku, name, description, category, price),
        )
        .await;
        ids.push(id);
    }
    (store, ids)
}

#[tokio::test]
async fn filters_combine_keywords_category_price_and_currency() {
    let (store, p) = shop().await;
    // "mug" also matches "mugs" (a prefix of it).
    let mut q = query("mug");
    q.sort = Sort::Newest;
    assert_eq!(ids(&store, &q).await, [p[3], p[2], p[1], p[0]]);
    q.category = Some(Category::parse("kitchen").expect("slug"));
    assert_eq!(ids(&store, &q).await, [p[3], p[1], p[0]]);
    q.min_price = Some(1500);
    assert_eq!(ids(&store, &q).await, [p[3], p[1]]);
    q.min_price = None;
    q.max_price = Some(1200);
    assert_eq!(ids(&store, &q).await, [p[0]]);
    q.currency = Some(Currency::USD);
    assert!(ids(&store, &q).await.is_empty());

    // Every keyword must match: "mugs" does not match "mug".
    assert_eq!(ids(&store, &query("mugs tea")).await, [p[1]]);
    let mut browse = query("");
    browse.min_price = Some(1000);
    browse.max_price = Some(3000);
    assert_eq!(ids(&store, &browse).await, [p[3], p[0]]);
    browse.min_price = Some(3001);
    assert!(ids(&store, &browse).await.is_empty());
}

#[tokio::test]
async fn sorts_by_price_newest_and_relevance() {
    let (store, p) = shop().await;
    let mut q = query("");
    q.sort = Sort::PriceAsc;
    assert_eq!(ids(&store, &q).await, [p[2], p[0], p[3], p[1], p[4]]);
    q.sort = Sort::PriceDesc;
    assert_eq!(ids(&store, &q).await, [p[4], p[1], p[3], p[0], p[2]]);
    q.sort = Sort::Newest;
    assert_eq!(ids(&store, &q).await, [p[4], p[3], p[2], p[1], p[0]]);
    q.min_price = Some(1000);
    q.max_price = Some(3500);
    q.sort = Sort::PriceAsc;
    assert_eq!(ids(&store, &q).await, [p[0], p[3], p[1]]);

    // "mug" as a whole word of the name ranks before "mugs" (a prefix match)
    // in the name, which ranks before description-only matches.
    let ranked = ids(&store, &query("mug")).await;
    assert_eq!(ranked.len(), 4);
    assert_eq!(
        ranked[..2].iter().collect::<BTreeSet<_>>(),
        [p[0], p[2]].iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(ranked[2], p[3], "prefix in the name");
    assert_eq!(ranked[3], p[1], "description only");
    // Equal scores: newest first.
    assert_eq!(ranked[..2], [p[2], p[0]]);
}

#[tokio::test]
async fn every_sort_pages_through_everything_once() {
    let (store, _) = shop().await;
    for (q, sort) in [
        ("", Sort::Newest),
        ("", Sort::PriceAsc),
        ("", Sort::PriceDesc),
        ("mug", Sort::Relevance),
        ("mug", Sort::PriceAsc),
        ("mug", Sort::Newest),
    ] {
        let mut q = query(q);
        q.sort = sort;
        let whole = ids(&store, &q).await;
        q.limit = 2;
        let pages = all_pages(&store, &q).await;
        let paged: Vec<ProductId> = pages
            .iter()
            .flat_map(|p| p.items.iter().map(|h| h.id))
            .collect();
        assert_eq!(paged, whole, "{sort:?}");
        assert!(pages.iter().all(|p| p.items.len() <= 2));
        // Exactly the pages needed: the last page is not empty.
        assert!(!pages.last().expect("page").items.is_empty(), "{sort:?}");
    }
}

#[tokio::test]
async fn cursors_are_bound_to_their_query() {
    let (store, _) = shop().await;
    let mut q = query("");
    q.limit = 2;
    let cursor = search(&store, &q, None)
        .await
        .expect("page")
        .next_cursor
        .expect("more");
    let mut other = q.clone();
    other.sort = Sort::PriceAsc;
    assert!(matches!(
        search(&store, &other, Some(&cursor)).await,
        Err(CatalogError::BadCursor)
    ));
    let mut other = q.clone();
    other.category = Some(Category::parse("kitchen").expect("slug"));
    assert!(matches!(
        search(&store, &other, Some(&cursor)).await,
        Err(CatalogError::BadCursor)
    ));
    assert!(matches!(
        search(&store, &q, Some("garbage")).await,
        Err(CatalogError::BadCursor)
    ));
}

#[tokio::test]
async fn a_page_stops_at_the_scan_budget_and_carries_on_from_there() {
    let store = InMemorySearchStore::new();
    // One match, older than SCAN_BUDGET non-matching rows of `ALL`.
    let wanted = ProductId::new();
    upsert(
        &store,
        wanted,
        1,
        &details("W-1", "Wanted", "", "rare", 100),
    )
    .await;
    for i in 0..query::SCAN_BUDGET + 10 {
        upsert(
            &store,
            ProductId::new(),
            1,
            &details(&format!("F-{i}"), "Filler", "", "bulk", 100),
        )
        .await;
    }
    // A keyword reads its own small partition, whatever else exists.
    assert_eq!(ids(&store, &query("wanted")).await, [wanted]);

    // Newest order reads ALL and filters prices in memory: nothing in the
    // first SCAN_BUDGET rows matches, so the page is empty but continues.
    let mut browse = query("");
    browse.min_price = Some(50);
    browse.max_price = Some(99);
    let first = search(&store, &browse, None).await.expect("page");
    assert!(first.items.is_empty());
    assert!(first.next_cursor.is_some(), "budget spent, more to read");
    let pages = all_pages(&store, &browse).await;
    assert!(pages.iter().all(|p| p.items.is_empty()));
    assert_eq!(pages.len(), 2);
}
