//! The catalog through the gateway: admin writes with optimistic
//! concurrency, presigned image uploads, and search served from the read
//! model that the `product.*` events maintain.

use std::time::Duration;

use contracts::events::{ProductCreated, ProductDetails, ProductUpdated};
use contracts::{CorrelationId, Currency, EventEnvelope, ProductId};
use e2e::{Stack, eventually, send_to_queue, stack};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const DLQ_WAIT: Duration = Duration::from_secs(180);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

async fn create(st: &Stack, admin: &str, body: Value) -> e2e::Reply {
    st.call(Method::POST, "/products", Some(admin), Some(body))
        .await
}

fn product(sku: &str, name: &str, category: &str, price: i64) -> Value {
    json!({"sku": sku, "name": name, "description": format!("{name}, made for the e2e tests."),
           "category": category, "price": price, "currency": "EUR"})
}

async fn search(st: &Stack, query: &str) -> Value {
    let r = st
        .call(Method::GET, &format!("/products?{query}"), None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {:?}", r.body);
    r.body
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect()
}

/// Waits until `query` returns exactly `expected` (in that order).
async fn search_until(st: &Stack, query: &str, expected: &[&str]) {
    eventually(&format!("search {query} -> {expected:?}"), WAIT, || async {
        (ids(&search(st, query).await) == expected).then_some(())
    })
    .await;
}

#[tokio::test]
async fn products_are_created_found_updated_and_deleted() {
    let st = stack().await;
    let admin = st.admin().await.access_token;
    let word = unique("zq");
    let sku = unique("MUG-").to_uppercase();

    let created = create(
        &st,
        &admin,
        product(
            &sku.to_lowercase(),
            &format!("Café {word} mug"),
            "kitchen",
            1250,
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.header("etag"), Some("\"1\""));
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/products/{id}").as_str())
    );
    assert_eq!(created.body["sku"], sku.as_str());

    let dup = create(&st, &admin, product(&sku, "Other", "kitchen", 100)).await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{:?}", dup.body);

    let got = st
        .call(Method::GET, &format!("/products/{id}"), None, None)
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("etag"), Some("\"1\""));

    // Searchable within seconds, case- and accent-insensitive, by prefix too.
    search_until(&st, &format!("q={word}+cafe"), &[&id]).await;
    assert_eq!(
        ids(&search(&st, &format!("q=CAF+{word}")).await),
        std::slice::from_ref(&id)
    );

    // Optimistic concurrency.
    let path = format!("/products/{id}");
    let new_word = unique("zr");
    let update = product(&sku, &format!("Tea {new_word} cup"), "kitchen", 1100);
    let r = st
        .call(Method::PUT, &path, Some(&admin), Some(update.clone()))
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED, "{:?}", r.body);
    let put_if = |tag: &'static str| {
        st.send(
            st.http
                .put(format!("{}{path}", st.api))
                .bearer_auth(&admin)
                .header("if-match", tag)
                .json(&update),
        )
    };
    let r = put_if("\"7\"").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{:?}", r.body);
    let mut stale = update.clone();
    stale["version"] = json!(7);
    let r = st.call(Method::PUT, &path, Some(&admin), Some(stale)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    let r = put_if("\"1\"").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let r = put_if("\"1\"").await;
    assert_eq!(
        r.status,
        StatusCode::PRECONDITION_FAILED,
        "the old tag is stale now"
    );
    let mut resku = update.clone();
    resku["sku"] = json!(unique("OTHER-").to_uppercase());
    resku["version"] = json!(2);
    let r = st.call(Method::PUT, &path, Some(&admin), Some(resku)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.error_fields(), ["sku"]);

    // The read model follows: new words in, old words out.
    search_until(&st, &format!("q={new_word}"), &[&id]).await;
    search_until(&st, &format!("q={word}"), &[]).await;

    let r = st.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = st.call(Method::GET, &path, None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    search_until(&st, &format!("q={new_word}"), &[]).await;
    // The SKU is free again.
    let again = create(&st, &admin, product(&sku, "Reborn", "kitchen", 100)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
}

#[tokio::test]
async fn search_filters_sorts_and_pages() {
    let st = stack().await;
    let admin = st.admin().await.access_token;
    let category = unique("cat-");
    let mut made = Vec::new();
    for (i, price) in [300, 100, 500, 200, 400].into_iter().enumerate() {
        let r = create(
            &st,
            &admin,
            product(
                &unique("SKU-").to_uppercase(),
                &format!("Thing {i}"),
                &category,
                price,
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        made.push((price, r.body["id"].as_str().expect("id").to_owned()));
    }
    let by_price = |desc: bool| {
        let mut v = made.clone();
        v.sort_by_key(|(p, _)| if desc { -*p } else { *p });
        v.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    };
    let asc = by_price(false);
    let asc_refs: Vec<&str> = asc.iter().map(String::as_str).collect();
    search_until(
        &st,
        &format!("category={category}&sort=price_asc"),
        &asc_refs,
    )
    .await;
    assert_eq!(
        ids(&search(&st, &format!("category={category}&sort=price_desc")).await),
        by_price(true)
    );
    let newest: Vec<String> = made.iter().rev().map(|(_, id)| id.clone()).collect();
    assert_eq!(
        ids(&search(&st, &format!("category={category}")).await),
        newest
    );
    assert_eq!(
        ids(&search(
            &st,
            &format!("category={category}&min_price=200&max_price=400&sort=price_asc")
        )
        .await),
        asc[1..4].to_vec()
    );

    // Every item once across pages of two.
    let mut seen = Vec::new();
    let mut query = format!("category={category}&sort=price_asc&limit=2");
    loop {
        let page = search(&st, &query).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("category={category}&sort=price_asc&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, asc);

    for bad in [
        "limit=0",
        "limit=101",
        "min_price=-1",
        "min_price=10&max_price=5",
        "sort=cheapest",
        "sort=relevance",
        "cursor=garbage",
    ] {
        let r = st
            .call(Method::GET, &format!("/products?{bad}"), None, None)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {:?}", r.body);
        assert!(!r.error_fields().is_empty(), "{bad}: {:?}", r.body);
    }
}

#[tokio::test]
async fn product_writes_are_validated_and_for_admins_only() {
    let st = stack().await;
    let admin = st.admin().await.access_token;
    let user = st.new_user().await.access_token;
    let good = product(&unique("SKU-"), "Good", "misc", 100);

    let r = st
        .call(Method::POST, "/products", None, Some(good.clone()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = create(&st, &user, good.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = create(
        &st,
        &admin,
        json!({"sku": "bad sku!", "name": "", "category": "Bad Cat!", "price": 12.5, "currency": "XXX"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let mut fields = r.error_fields();
    fields.sort();
    for f in ["currency", "name", "price", "sku"] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    for price in [json!(0), json!(-5), json!(100_000_001), json!("12")] {
        let mut body = good.clone();
        body["price"] = price.clone();
        let r = create(&st, &admin, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "price {price}");
        assert_eq!(r.error_fields(), ["price"]);
    }
    let r = st
        .call(
            Method::GET,
            &format!("/products/{}", uuid::Uuid::now_v7()),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = st
        .call(Method::GET, "/products/not-an-id", None, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn images_upload_through_a_presigned_url_bound_to_type_and_size() {
    let st = stack().await;
    let admin = st.admin().await.access_token;
    let created = create(
        &st,
        &admin,
        product(&unique("IMG-"), "Pictured", "misc", 100),
    )
    .await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    let path = format!("/products/{id}/images");

    for bad in [
        json!({"content_type": "image/gif", "size_bytes": 10}),
        json!({"content_type": "image/png", "size_bytes": 5_242_881}),
        json!({"content_type": "image/png", "size_bytes": 0}),
    ] {
        let r = st
            .call(Method::POST, &path, Some(&admin), Some(bad.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {:?}", r.body);
    }

    let bytes = b"\x89PNG\r\n\x1a\n e2e image bytes".to_vec();
    let r = st
        .call(
            Method::POST,
            &path,
            Some(&admin),
            Some(json!({"content_type": "image/png", "size_bytes": bytes.len()})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let url = r.body["upload_url"].as_str().expect("url").to_owned();

    // Another type than the signed one is refused by S3.
    let wrong = st
        .http
        .put(&url)
        .header("content-type", "image/jpeg")
        .body(bytes.clone())
        .send()
        .await
        .expect("put");
    assert!(!wrong.status().is_success(), "{}", wrong.status());
    let ok = st
        .http
        .put(&url)
        .header("content-type", "image/png")
        .body(bytes.clone())
        .send()
        .await
        .expect("put");
    assert!(ok.status().is_success(), "{}", ok.status());

    let got = st
        .call(Method::GET, &format!("/products/{id}"), None, None)
        .await;
    let image = got.body["image_urls"][0].as_str().expect("image url");
    let downloaded = st
        .http
        .get(image)
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(downloaded.as_ref(), bytes.as_slice());
}

fn synthetic(id: ProductId, version: u64, word: &str, created: bool) -> String {
    let now = time::OffsetDateTime::now_utc();
    let details = ProductDetails {
        sku: format!("SYN-{}", word.to_uppercase()),
        name: format!("Synthetic {word} v{version}"),
        description: String::new(),
        category: "synthetic".into(),
        price: 100,
        currency: Currency::EUR,
        images: Vec::new(),
    };
    if created {
        let e = EventEnvelope::new(
            ProductCreated {
                product_id: id,
                version,
                product: details,
                created_at: now,
            },
            CorrelationId::new(),
            now,
        );
        serde_json::to_string(&e).expect("json")
    } else {
        let e = EventEnvelope::new(
            ProductUpdated {
                product_id: id,
                version,
                product: details,
                updated_at: now,
            },
            CorrelationId::new(),
            now,
        );
        serde_json::to_string(&e).expect("json")
    }
}

#[tokio::test]
async fn the_search_indexer_survives_duplicates_reordering_and_poison() {
    let st = stack().await;
    let word = unique("zs");
    // v2 arrives first, twice; the late v1 must not roll it back.
    let id = ProductId::new();
    let v2 = synthetic(id, 2, &word, false);
    send_to_queue(&st, "CatalogSearchIndexerQueueUrl", &v2).await;
    send_to_queue(&st, "CatalogSearchIndexerQueueUrl", &v2).await;
    let hit = eventually("the synthetic product indexed", WAIT, || async {
        let page = search(&st, &format!("q={word}")).await;
        page["items"].as_array().and_then(|a| a.first().cloned())
    })
    .await;
    send_to_queue(
        &st,
        "CatalogSearchIndexerQueueUrl",
        &synthetic(id, 1, &word, true),
    )
    .await;
    assert_eq!(hit["name"], format!("Synthetic {word} v2"));
    eventually("the indexer queue drained", DLQ_WAIT, || async {
        st.queue_drained("CatalogSearchIndexerQueueUrl")
            .await
            .then_some(())
    })
    .await;
    let page = search(&st, &format!("q={word}")).await;
    assert_eq!(ids(&page).len(), 1, "indexed once: {page:?}");
    assert_eq!(page["items"][0]["name"], format!("Synthetic {word} v2"));

    let marker = unique("poison-");
    send_to_queue(
        &st,
        "CatalogSearchIndexerQueueUrl",
        &format!("{{\"not\": \"an event\", \"marker\": \"{marker}\"}}"),
    )
    .await;
    eventually("the poison in the indexer DLQ", DLQ_WAIT, || {
        st.dlq_holds("CatalogSearchIndexerDLQUrl", &marker)
    })
    .await;
}
