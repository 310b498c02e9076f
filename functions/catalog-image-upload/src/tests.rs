use std::collections::HashMap;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use catalog::memory::InMemoryCatalogStore;
use catalog::model::{Category, Price, ProductDescription, ProductInput, ProductName, Sku};
use catalog::service::{create_product, get_product};
use contracts::{CorrelationId, Currency, UserId};
use http_kit::Caller;
use lambda_http::RequestExt;
use lambda_http::http::{HeaderValue, header};

use super::*;

/// A real S3 client with fixed credentials: presigning is computed
/// locally, nothing is sent.
fn images() -> S3Images {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::for_tests())
        .endpoint_url("http://127.0.0.1:4566")
        .build();
    S3Images::new(aws_sdk_s3::Client::from_conf(config), "images".into())
}

fn ctx(roles: Vec<Role>) -> HttpContext {
    HttpContext::new(
        "req",
        Some(Caller {
            user_id: UserId::new(),
            roles,
        }),
    )
}

fn admin() -> HttpContext {
    ctx(vec![Role::Admin])
}

fn post(id: &str, body: &str) -> Request {
    let mut req = Request::new(Body::from(body.to_owned()))
        .with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]));
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    req
}

async fn product(store: &InMemoryCatalogStore) -> ProductId {
    create_product(
        store,
        ProductInput {
            sku: Sku::parse("MUG-1").expect("sku"),
            name: ProductName::parse("Mug").expect("name"),
            description: ProductDescription::default(),
            category: Category::parse("kitchen").expect("category"),
            price: Price::new(1000).expect("price"),
            currency: Currency::EUR,
        },
        &CorrelationId::new(),
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("created")
    .id
}

fn json_body(response: &Response<Body>) -> serde_json::Value {
    serde_json::from_slice(response.body().as_ref()).expect("json body")
}

#[tokio::test]
async fn an_upload_url_is_granted_and_the_key_recorded() {
    let store = InMemoryCatalogStore::new();
    let id = product(&store).await;
    let response = handle(
        &store,
        &images(),
        post(
            &id.to_string(),
            r#"{"content_type":"image/jpeg","size_bytes":204800}"#,
        ),
        admin(),
    )
    .await
    .expect("granted");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()[header::ETAG], "\"2\"");
    let body = json_body(&response);
    let key = body["key"].as_str().expect("key");
    assert!(key.starts_with(&format!("products/{id}/images/")) && key.ends_with(".jpg"));
    let url = body["upload_url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("http://127.0.0.1:4566/images/{key}?")),
        "{url}"
    );
    assert!(url.contains("X-Amz-Signature="));
    assert!(url.contains("content-length%3Bcontent-type"), "{url}");
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["headers"]["content-type"], "image/jpeg");
    assert_eq!(body["headers"]["content-length"], "204800");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["product"]["version"], 2);
    assert_eq!(body["product"]["images"], serde_json::json!([key]));

    let stored = get_product(&store, id).await.expect("read");
    assert_eq!(stored.images, vec![key.to_owned()]);
    assert_eq!(
        store
            .outbox()
            .last()
            .map(|e| e.event_type.clone())
            .as_deref(),
        Some("product.updated")
    );
}

#[tokio::test]
async fn type_and_size_limits_are_400_with_field_details() {
    let store = InMemoryCatalogStore::new();
    let id = product(&store).await.to_string();
    for (body, fields) in [
        (
            r#"{"content_type":"image/gif","size_bytes":10}"#,
            vec!["content_type"],
        ),
        (
            r#"{"content_type":"text/html","size_bytes":10}"#,
            vec!["content_type"],
        ),
        (
            r#"{"content_type":"image/png","size_bytes":0}"#,
            vec!["size_bytes"],
        ),
        (
            r#"{"content_type":"image/png","size_bytes":5242881}"#,
            vec!["size_bytes"],
        ),
        (
            r#"{"content_type":"image/png","size_bytes":-1}"#,
            vec!["size_bytes"],
        ),
        (
            r#"{"content_type":"image/png","size_bytes":"10"}"#,
            vec!["size_bytes"],
        ),
        (
            r#"{"content_type":"image/png","size_bytes":1.5}"#,
            vec!["size_bytes"],
        ),
        (r#"{}"#, vec!["content_type", "size_bytes"]),
    ] {
        match handle(&store, &images(), post(&id, body), admin()).await {
            Err(ApiError::Validation(errors)) => {
                let got: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(got, fields, "{body}");
            }
            other => panic!("{body}: expected 400, got {other:?}"),
        }
    }
    let ok = handle(
        &store,
        &images(),
        post(&id, r#"{"content_type":"image/webp","size_bytes":5242880}"#),
        admin(),
    )
    .await
    .expect("5 MiB exactly is allowed");
    assert_eq!(ok.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn unknown_products_and_non_admins_are_refused() {
    let store = InMemoryCatalogStore::new();
    let id = product(&store).await.to_string();
    let body = r#"{"content_type":"image/png","size_bytes":10}"#;
    let err = handle(
        &store,
        &images(),
        post(&ProductId::new().to_string(), body),
        admin(),
    )
    .await
    .expect_err("404");
    assert_eq!(err.status(), StatusCode::NOT_FOUND);
    let err = handle(&store, &images(), post(&id, body), ctx(vec![Role::User]))
        .await
        .expect_err("403");
    assert_eq!(err.status(), StatusCode::FORBIDDEN);
    let mut stale = post(&id, body);
    stale
        .headers_mut()
        .insert(header::IF_MATCH, HeaderValue::from_static("\"9\""));
    let err = handle(&store, &images(), stale, admin())
        .await
        .expect_err("412");
    assert_eq!(err.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(store.outbox().len(), 1);
}
