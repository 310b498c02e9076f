use std::collections::HashMap;

use contracts::{Currency, Role, UserId};
use http_kit::Caller;
use lambda_http::RequestExt;
use lambda_http::http::{HeaderValue, header};
use orders::memory::InMemoryOrdersStore;
use orders::model::{Listing, ProjectedProduct};

use super::*;

fn ctx(user: UserId) -> HttpContext {
    HttpContext::new(
        "req",
        Some(Caller {
            user_id: user,
            roles: vec![Role::User],
        }),
    )
}

fn put(product_id: &str, body: &str) -> Request {
    let mut req =
        Request::new(Body::from(body.to_owned())).with_path_parameters(HashMap::from([(
            "product_id".to_owned(),
            product_id.to_owned(),
        )]));
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    req
}

fn product(store: &InMemoryOrdersStore, price: i64, currency: Currency) -> ProductId {
    let id = ProductId::new();
    store.add_product(ProjectedProduct {
        product_id: id,
        version: 1,
        sku: format!("SKU-{price}"),
        listing: Listing::OnSale {
            name: format!("Item {price}"),
            price,
            currency,
        },
    });
    id
}

async fn call(
    store: &InMemoryOrdersStore,
    user: UserId,
    product_id: &str,
    body: &str,
) -> Result<Response<Body>, ApiError> {
    handle(store, put(product_id, body), ctx(user)).await
}

fn json_body(response: &Response<Body>) -> serde_json::Value {
    serde_json::from_slice(response.body().as_ref()).expect("json body")
}

fn field_errors(err: ApiError) -> Vec<(String, String)> {
    match err {
        ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.message)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn putting_an_item_answers_the_priced_cart() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let a = product(&store, 1_999, Currency::USD);
    let b = product(&store, 500, Currency::USD);

    call(&store, user, &a.to_string(), r#"{"quantity": 2}"#)
        .await
        .expect("added");
    let response = call(&store, user, &b.to_string(), r#"{"quantity": 1}"#)
        .await
        .expect("added");

    assert_eq!(response.status(), StatusCode::OK);
    let cart = json_body(&response);
    assert_eq!(cart["total"], 2 * 1_999 + 500);
    assert_eq!(cart["currency"], "USD");
    assert_eq!(cart["items"][0]["product_id"], a.to_string());
    assert_eq!(cart["items"][0]["line_total"], 3_998);

    // The same product again replaces its quantity.
    let cart = json_body(
        &call(&store, user, &a.to_string(), r#"{"quantity": 99}"#)
            .await
            .expect("updated"),
    );
    assert_eq!(cart["items"][0]["quantity"], 99);
    assert_eq!(cart["items"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn the_client_cannot_set_a_price() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let a = product(&store, 1_000, Currency::USD);
    let cart = json_body(
        &call(
            &store,
            user,
            &a.to_string(),
            r#"{"quantity": 1, "unit_price": 1, "price": 1}"#,
        )
        .await
        .expect("added"),
    );
    assert_eq!(cart["items"][0]["unit_price"], 1_000);
    assert_eq!(cart["total"], 1_000);
}

#[tokio::test]
async fn quantities_outside_one_to_ninety_nine_are_400() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let a = product(&store, 1_000, Currency::USD).to_string();
    for body in [
        r#"{"quantity": 0}"#,
        r#"{"quantity": 100}"#,
        r#"{"quantity": -1}"#,
        r#"{"quantity": 2.5}"#,
        r#"{"quantity": "3"}"#,
        r#"{"quantity": true}"#,
        r#"{"quantity": 99999999999999999999}"#,
        r#"{"quantity": null}"#,
        r#"{}"#,
    ] {
        let err = call(&store, user, &a, body).await.expect_err(body);
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body}");
        let fields = field_errors(err);
        assert_eq!(fields.len(), 1, "{body}");
        assert_eq!(fields[0].0, "quantity", "{body}");
    }
    for body in ["", "not json", "[1]"] {
        let err = call(&store, user, &a, body).await.expect_err(body);
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body:?}");
    }
    let cart = orders::service::cart(&store, user).await.expect("cart");
    assert!(cart.items.is_empty(), "nothing was added");
}

#[tokio::test]
async fn unknown_or_deleted_products_are_400_and_bad_ids_404() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let err = call(
        &store,
        user,
        &ProductId::new().to_string(),
        r#"{"quantity": 1}"#,
    )
    .await
    .expect_err("unknown");
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    assert_eq!(field_errors(err)[0].0, "product_id");

    let gone = ProductId::new();
    store.add_product(ProjectedProduct {
        product_id: gone,
        version: 2,
        sku: "GONE".into(),
        listing: Listing::Deleted,
    });
    let err = call(&store, user, &gone.to_string(), r#"{"quantity": 1}"#)
        .await
        .expect_err("deleted");
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);

    for bad in ["not-a-uuid", "", "42"] {
        let err = call(&store, user, bad, r#"{"quantity": 1}"#)
            .await
            .expect_err(bad);
        assert_eq!(err.status(), StatusCode::NOT_FOUND, "{bad:?}");
    }
}

#[tokio::test]
async fn mixing_currencies_is_a_conflict_with_a_detail() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let usd = product(&store, 1_000, Currency::USD);
    let eur = product(&store, 1_000, Currency::EUR);
    call(&store, user, &usd.to_string(), r#"{"quantity": 1}"#)
        .await
        .expect("added");
    let err = call(&store, user, &eur.to_string(), r#"{"quantity": 1}"#)
        .await
        .expect_err("409");
    assert_eq!(err.status(), StatusCode::CONFLICT);
    let problem = json_body(&err.into_response("r"));
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("USD") && detail.contains("EUR"), "{detail}");
}

#[tokio::test]
async fn needs_a_caller() {
    let store = InMemoryOrdersStore::new();
    let a = product(&store, 1_000, Currency::USD);
    let err = handle(
        &store,
        put(&a.to_string(), r#"{"quantity": 1}"#),
        HttpContext::new("r", None),
    )
    .await
    .expect_err("401");
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
}
