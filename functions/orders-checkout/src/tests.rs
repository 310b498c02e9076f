use contracts::events::OrderPlaced;
use contracts::{Currency, DomainEvent, ProductId, Role, UserId};
use http_kit::Caller;
use orders::memory::InMemoryOrdersStore;
use orders::model::{Listing, ProjectedProduct, Quantity};
use orders::service::set_cart_item;

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

fn post(body: &str, key: Option<&str>) -> Request {
    let mut req = Request::new(Body::from(body.to_owned()));
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(key) = key {
        req.headers_mut().insert(
            IDEMPOTENCY_KEY_HEADER,
            HeaderValue::from_str(key).expect("header value"),
        );
    }
    req
}

async fn call(
    store: &InMemoryOrdersStore,
    user: UserId,
    body: &str,
    key: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    handle(store, post(body, key), ctx(user)).await
}

fn json_body(response: &Response<Body>) -> serde_json::Value {
    serde_json::from_slice(response.body().as_ref()).expect("json body")
}

fn invalid_fields(err: ApiError) -> Vec<String> {
    match err {
        ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// A user whose cart holds 3 x 700 EUR.
async fn user_with_cart(store: &InMemoryOrdersStore) -> UserId {
    let id = ProductId::new();
    store.add_product(ProjectedProduct {
        product_id: id,
        version: 1,
        sku: "BOOK-1".into(),
        listing: Listing::OnSale {
            name: "Book".into(),
            price: 700,
            currency: Currency::EUR,
        },
    });
    let user = UserId::new();
    set_cart_item(
        store,
        user,
        id,
        Quantity::new(3).expect("quantity"),
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("added");
    user
}

fn placed(store: &InMemoryOrdersStore) -> usize {
    store
        .outbox()
        .iter()
        .filter(|e| e.event_type == OrderPlaced::TYPE)
        .count()
}

const WALLET: &str = r#"{"payment": {"type": "wallet"}}"#;
const CARD: &str = r#"{"payment": {"type": "card", "payment_method": "pm_card_visa"}}"#;

#[tokio::test]
async fn checkout_answers_202_with_the_pending_order() {
    let store = InMemoryOrdersStore::new();
    let user = user_with_cart(&store).await;

    let response = call(&store, user, CARD, Some("order-1"))
        .await
        .expect("accepted");

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert!(response.headers().get(REPLAYED_HEADER).is_none());
    let order = json_body(&response);
    assert_eq!(order["status"], "pending");
    assert_eq!(order["user_id"], user.to_string());
    assert_eq!(order["total"], 2_100);
    assert_eq!(order["currency"], "EUR");
    assert_eq!(
        order["payment"],
        serde_json::json!({"type": "card", "payment_method": "pm_card_visa"})
    );
    assert_eq!(order["items"][0]["sku"], "BOOK-1");
    assert_eq!(order["items"][0]["quantity"], 3);
    assert_eq!(order["items"][0]["line_total"], 2_100);
    assert_eq!(order["history"].as_array().map(Vec::len), Some(1));
    assert_eq!(order["history"][0]["status"], "pending");
    assert!(order["id"].as_str().is_some());
    assert!(order["placed_at"].as_str().is_some());
    assert_eq!(placed(&store), 1);
    let cart = orders::service::cart(&store, user).await.expect("cart");
    assert!(cart.items.is_empty(), "the cart was emptied");
}

#[tokio::test]
async fn a_retry_is_replayed_and_a_reused_key_is_422() {
    let store = InMemoryOrdersStore::new();
    let user = user_with_cart(&store).await;
    let first = call(&store, user, WALLET, Some("k")).await.expect("first");
    // Same body, other formatting: the same request.
    let again = call(
        &store,
        user,
        r#"{ "payment" : { "type" : "wallet" } }"#,
        Some("k"),
    )
    .await
    .expect("replay");
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()[REPLAYED_HEADER], "true");
    assert_eq!(again.body().as_ref(), first.body().as_ref());

    let err = call(&store, user, CARD, Some("k")).await.expect_err("422");
    assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(placed(&store), 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_order_once() {
    let store = InMemoryOrdersStore::new();
    let user = user_with_cart(&store).await;
    let responses =
        futures::future::join_all((0..10).map(|_| call(&store, user, WALLET, Some("same")))).await;
    let responses: Vec<_> = responses
        .into_iter()
        .map(|r| r.expect("every request gets the order"))
        .collect();
    assert!(responses.iter().all(|r| r.status() == StatusCode::ACCEPTED));
    assert_eq!(
        responses
            .iter()
            .filter(|r| r.headers().get(REPLAYED_HEADER).is_none())
            .count(),
        1
    );
    let ids: std::collections::HashSet<String> = responses
        .iter()
        .map(|r| json_body(r)["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(store.all_orders().len(), 1);
    assert_eq!(placed(&store), 1);
}

#[tokio::test]
async fn an_empty_cart_is_400() {
    let store = InMemoryOrdersStore::new();
    let err = call(&store, UserId::new(), WALLET, Some("k"))
        .await
        .expect_err("400");
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    let problem = json_body(&err.into_response("r"));
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("empty")),
        "{problem}"
    );
    assert!(store.all_orders().is_empty());
}

#[tokio::test]
async fn invalid_requests_are_400_naming_the_field() {
    let store = InMemoryOrdersStore::new();
    let user = user_with_cart(&store).await;
    let long_key = "k".repeat(65);
    let cases: Vec<(&str, Option<&str>, Vec<&str>)> = vec![
        (WALLET, None, vec!["Idempotency-Key"]),
        (WALLET, Some(""), vec!["Idempotency-Key"]),
        (WALLET, Some("has space"), vec!["Idempotency-Key"]),
        (WALLET, Some(long_key.as_str()), vec!["Idempotency-Key"]),
        ("{}", Some("k"), vec!["payment"]),
        (r#"{"payment": null}"#, Some("k"), vec!["payment"]),
        (r#"{"payment": "wallet"}"#, Some("k"), vec!["payment"]),
        (r#"{"payment": {}}"#, Some("k"), vec!["payment.type"]),
        (
            r#"{"payment": {"type": "cash"}}"#,
            Some("k"),
            vec!["payment.type"],
        ),
        (
            r#"{"payment": {"type": 1}}"#,
            Some("k"),
            vec!["payment.type"],
        ),
        (
            r#"{"payment": {"type": "card"}}"#,
            Some("k"),
            vec!["payment.payment_method"],
        ),
        (
            r#"{"payment": {"type": "card", "payment_method": "4242424242424242"}}"#,
            Some("k"),
            vec!["payment.payment_method"],
        ),
        (
            r#"{"payment": {"type": "card", "payment_method": 42}}"#,
            Some("k"),
            vec!["payment.payment_method"],
        ),
        (
            r#"{"payment": {"type": "wallet", "payment_method": "pm_card_visa"}}"#,
            Some("k"),
            vec!["payment.payment_method"],
        ),
        (
            r#"{"payment": {"type": "card", "payment_method": "pm_x", "number": "4242"}}"#,
            Some("k"),
            vec!["payment.number"],
        ),
        ("{}", None, vec!["payment", "Idempotency-Key"]),
    ];
    for (body, key, fields) in cases {
        let err = call(&store, user, body, key).await.expect_err(body);
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body} {key:?}");
        assert_eq!(invalid_fields(err), fields, "{body} {key:?}");
    }
    for body in ["", "nope", "[]", r#"[{"type": "wallet"}]"#] {
        let err = call(&store, user, body, Some("k")).await.expect_err(body);
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body:?}");
    }
    assert!(store.all_orders().is_empty(), "nothing was ordered");
}

#[tokio::test]
async fn needs_a_caller() {
    let store = InMemoryOrdersStore::new();
    let err = handle(&store, post(WALLET, Some("k")), HttpContext::new("r", None))
        .await
        .expect_err("401");
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
}
