use std::collections::HashMap;

use catalog::search::memory::InMemorySearchStore;
use catalog::search::{ProductChange, apply_change};
use contracts::ProductId;
use contracts::events::ProductDetails;
use lambda_http::RequestExt;

use super::*;

fn get(pairs: &[(&str, &str)]) -> Request {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Request::new(Body::Empty).with_query_string_parameters(map)
}

async fn call(
    store: &InMemorySearchStore,
    pairs: &[(&str, &str)],
) -> Result<serde_json::Value, ApiError> {
    let response = handle(store, get(pairs), HttpContext::new("r", None)).await?;
    assert_eq!(response.status(), StatusCode::OK);
    Ok(serde_json::from_slice(response.body().as_ref()).expect("json"))
}

fn names(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Indexed in this order, so "newest" is the reverse.
async fn shop() -> InMemorySearchStore {
    let store = InMemorySearchStore::new();
    for (sku, name, description, category, price) in [
        ("K-1", "Café mug", "Stoneware, 350 ml.", "kitchen", 1250),
        ("K-2", "Teapot", "For café crème lovers.", "kitchen", 3900),
        ("G-1", "Garden chair", "Teak.", "garden", 8900),
    ] {
        let details = ProductDetails {
            sku: sku.into(),
            name: name.into(),
            description: description.into(),
            category: category.into(),
            price,
            currency: contracts::Currency::EUR,
            images: vec![],
        };
        apply_change(
            &store,
            ProductChange::Upsert {
                product_id: ProductId::new(),
                version: 1,
                product: &details,
                at: time::OffsetDateTime::now_utc(),
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("indexed");
    }
    store
}

#[tokio::test]
async fn searches_browses_and_pages_without_a_caller() {
    let store = shop().await;
    let page = call(&store, &[]).await.expect("browse");
    assert_eq!(names(&page), ["Garden chair", "Teapot", "Café mug"]);
    assert!(page.get("next_cursor").is_none());
    let item = &page["items"][2];
    assert_eq!(item["sku"], "K-1");
    assert_eq!(item["summary"], "Stoneware, 350 ml.");
    assert_eq!(item["category"], "kitchen");
    assert_eq!(item["price"], 1250);
    assert_eq!(item["currency"], "EUR");
    assert_eq!(item["version"], 1);
    assert!(item["id"].as_str().is_some() && item["updated_at"].as_str().is_some());

    // Relevance: the name match before the description match.
    assert_eq!(
        names(&call(&store, &[("q", "CAFE")]).await.expect("q")),
        ["Café mug", "Teapot"]
    );
    assert_eq!(
        names(
            &call(&store, &[("q", "caf"), ("sort", "price_desc")])
                .await
                .expect("q")
        ),
        ["Teapot", "Café mug"]
    );
    assert_eq!(
        names(&call(&store, &[("q", "café stoneware")]).await.expect("q")),
        ["Café mug"]
    );
    assert_eq!(
        names(&call(&store, &[("category", "garden")]).await.expect("cat")),
        ["Garden chair"]
    );
    assert_eq!(
        names(
            &call(
                &store,
                &[
                    ("min_price", "1000"),
                    ("max_price", "4000"),
                    ("sort", "price_asc")
                ]
            )
            .await
            .expect("range")
        ),
        ["Café mug", "Teapot"]
    );
    assert!(names(&call(&store, &[("currency", "USD")]).await.expect("usd")).is_empty());

    let first = call(&store, &[("limit", "2"), ("sort", "price_asc")])
        .await
        .expect("page 1");
    assert_eq!(names(&first), ["Café mug", "Teapot"]);
    let cursor = first["next_cursor"].as_str().expect("cursor");
    let second = call(
        &store,
        &[("limit", "2"), ("sort", "price_asc"), ("cursor", cursor)],
    )
    .await
    .expect("page 2");
    assert_eq!(names(&second), ["Garden chair"]);
    assert!(second.get("next_cursor").is_none());
}

/// Query parameters, and the fields a 400 must name.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[tokio::test]
async fn bad_parameters_are_400_with_field_details() {
    let store = shop().await;
    let cases: &[Case] = &[
        (&[("limit", "0")], &["limit"]),
        (&[("limit", "101")], &["limit"]),
        (&[("limit", "ten")], &["limit"]),
        (&[("sort", "cheapest")], &["sort"]),
        (&[("sort", "relevance")], &["sort"]),
        (&[("q", "!")], &["q"]),
        (&[("q", "")], &["q"]),
        (&[("category", "Not A Slug")], &["category"]),
        (&[("min_price", "-1")], &["min_price"]),
        (&[("max_price", "1.5")], &["max_price"]),
        (&[("max_price", "100000001")], &["max_price"]),
        (
            &[("min_price", "500"), ("max_price", "100")],
            &["max_price"],
        ),
        (&[("currency", "euro")], &["currency"]),
        (&[("cursor", "garbage")], &["cursor"]),
        (
            &[("limit", "0"), ("sort", "x"), ("min_price", "y")],
            &["min_price", "sort", "limit"],
        ),
    ];
    for (pairs, fields) in cases {
        match call(&store, pairs).await {
            Err(ApiError::Validation(errors)) => {
                let got: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(&got, fields, "{pairs:?}");
            }
            other => panic!("{pairs:?}: expected 400, got {other:?}"),
        }
    }
}
