use contracts::UserId;
use contracts::events::InventoryLowStock;
use http_kit::Caller;
use inventory::memory::InMemoryInventoryStore;
use inventory::testing::{counts, store_with};
use lambda_http::RequestExt;
use lambda_http::http::{HeaderValue, header};

use super::*;

fn ctx(role: Role) -> HttpContext {
    HttpContext::new(
        "req",
        Some(Caller {
            user_id: UserId::new(),
            roles: vec![role],
        }),
    )
}

fn put(sku: &str, body: &str) -> Request {
    let mut req = Request::new(Body::from(body.to_owned())).with_path_parameters(
        [("sku".to_owned(), vec![sku.to_owned()])]
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
    );
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    req
}

async fn admin_put(
    store: &InMemoryInventoryStore,
    sku: &str,
    body: &str,
) -> Result<serde_json::Value, ApiError> {
    let response = handle(store, put(sku, body), ctx(Role::Admin)).await?;
    assert_eq!(response.status(), StatusCode::OK);
    Ok(serde_json::from_slice(response.body().as_ref()).expect("json body"))
}

fn invalid_fields(err: ApiError) -> Vec<String> {
    match err {
        ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn admins_set_restock_and_change_the_threshold() {
    let store = store_with(&[("MUG-001", 0, 5)]);
    let body = admin_put(&store, "MUG-001", r#"{"available": 12}"#)
        .await
        .expect("set");
    assert_eq!(body["sku"], "MUG-001");
    assert_eq!(body["available"], 12);
    assert_eq!(body["reserved"], 0);
    assert_eq!(body["threshold"], 5);
    assert!(body["product_id"].as_str().is_some());
    assert!(body["updated_at"].as_str().is_some());

    let body = admin_put(&store, "MUG-001", r#"{"add": 8, "threshold": 3}"#)
        .await
        .expect("restock");
    assert_eq!(
        (body["available"].as_u64(), body["threshold"].as_u64()),
        (Some(20), Some(3))
    );
    let body = admin_put(&store, "MUG-001", r#"{"add": -20}"#)
        .await
        .expect("write-off");
    assert_eq!(body["available"], 0);
    assert_eq!(counts(&store, "MUG-001").await, (0, 0, 0));
}

#[tokio::test]
async fn low_stock_is_announced_when_an_admin_change_crosses() {
    let store = store_with(&[("MUG-001", 9, 5)]);
    admin_put(&store, "MUG-001", r#"{"add": -3}"#)
        .await
        .expect("6 left");
    assert!(store.events_of("inventory.low_stock").is_empty());
    admin_put(&store, "MUG-001", r#"{"available": 2}"#)
        .await
        .expect("2 left");
    admin_put(&store, "MUG-001", r#"{"add": -1}"#)
        .await
        .expect("1 left");
    let low = store.events_of("inventory.low_stock");
    assert_eq!(low.len(), 1, "only the crossing is announced");
    let low = low[0].clone().decode::<InventoryLowStock>().expect("typed");
    assert_eq!((low.data.available, low.data.threshold), (2, 5));
}

#[tokio::test]
async fn stock_never_goes_below_zero() {
    let store = store_with(&[("MUG-001", 3, 5)]);
    let err = admin_put(&store, "MUG-001", r#"{"add": -4}"#)
        .await
        .expect_err("409");
    assert_eq!(err.status(), StatusCode::CONFLICT);
    assert_eq!(counts(&store, "MUG-001").await, (3, 0, 0));
}

#[tokio::test]
async fn every_bad_field_is_reported() {
    let store = store_with(&[("MUG-001", 3, 5)]);
    let cases: &[(&str, &[&str])] = &[
        (r#"{}"#, &["body"]),
        (r#"{"available": null}"#, &["body"]),
        (r#"{"available": -1}"#, &["available"]),
        (r#"{"available": 1.5}"#, &["available"]),
        (r#"{"available": "10"}"#, &["available"]),
        (r#"{"available": 1000000001}"#, &["available"]),
        (r#"{"available": 18446744073709551615}"#, &["available"]),
        (r#"{"add": -1000000001}"#, &["add"]),
        (r#"{"add": true}"#, &["add"]),
        (r#"{"threshold": -2}"#, &["threshold"]),
        (r#"{"available": 5, "add": 1}"#, &["add"]),
        (r#"{"threshold": 1, "colour": "red"}"#, &["colour"]),
        (
            r#"{"available": "x", "threshold": 0.5, "extra": 1}"#,
            &["extra", "available", "threshold"],
        ),
    ];
    for (body, fields) in cases {
        let err = admin_put(&store, "MUG-001", body).await.expect_err(body);
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(invalid_fields(err), *fields, "{body}");
    }
    for body in ["", "not json", "[1]", r#""text""#] {
        let err = admin_put(&store, "MUG-001", body).await.expect_err(body);
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body:?}");
    }
    assert_eq!(counts(&store, "MUG-001").await, (3, 0, 0));
}

#[tokio::test]
async fn only_admins_and_only_known_skus() {
    let store = store_with(&[("MUG-001", 3, 5)]);
    let body = r#"{"available": 1}"#;
    let cases = [
        (
            put("MUG-001", body),
            HttpContext::new("r", None),
            StatusCode::UNAUTHORIZED,
        ),
        (put("MUG-001", body), ctx(Role::User), StatusCode::FORBIDDEN),
        (put("NOPE", body), ctx(Role::Admin), StatusCode::NOT_FOUND),
        (
            put("not a sku", body),
            ctx(Role::Admin),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (req, ctx, status) in cases {
        let err = handle(&store, req, ctx).await.expect_err("refused");
        assert_eq!(err.status(), status);
    }
    assert_eq!(counts(&store, "MUG-001").await, (3, 0, 0));
}
