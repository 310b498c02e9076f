//! Commerce steps shared by the order tests: stock a product, fill a cart,
//! check out, and wait for the saga to settle.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Reply, Stack, TestUser, eventually};

pub const SAGA_WAIT: Duration = Duration::from_secs(120);

/// A product in the catalog with `available` units in stock, once every
/// service has heard of it: (product id, sku).
pub async fn stocked_product(
    st: &Stack,
    admin: &str,
    price: i64,
    available: u32,
) -> (String, String) {
    let sku = format!("E2E-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]).to_uppercase();
    let r = st
        .call(
            Method::POST,
            "/products",
            Some(admin),
            Some(
                json!({"sku": sku, "name": format!("Product {sku}"), "description": "e2e",
                        "category": "e2e", "price": price, "currency": "USD"}),
            ),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "create product: {:?}",
        r.body
    );
    let id = r.body["id"].as_str().expect("product id").to_owned();
    // Inventory opens the stock record from product.created.
    let path = format!("/inventory/{sku}");
    eventually("the stock record", SAGA_WAIT, || async {
        let r = st.call(Method::GET, &path, Some(admin), None).await;
        (r.status == StatusCode::OK).then_some(())
    })
    .await;
    set_stock(st, admin, &sku, available).await;
    (id, sku)
}

pub async fn set_stock(st: &Stack, admin: &str, sku: &str, available: u32) {
    let r = st
        .call(
            Method::PUT,
            &format!("/inventory/{sku}"),
            Some(admin),
            Some(json!({"available": available})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "set stock: {:?}", r.body);
}

pub async fn stock(st: &Stack, admin: &str, sku: &str) -> Value {
    let r = st
        .call(Method::GET, &format!("/inventory/{sku}"), Some(admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "stock: {:?}", r.body);
    r.body
}

/// Waits until the SKU's stock shows `available` and `reserved`.
pub async fn stock_becomes(
    st: &Stack,
    admin: &str,
    sku: &str,
    available: u64,
    reserved: u64,
) -> Value {
    eventually(
        &format!("{sku}: available {available}, reserved {reserved}"),
        SAGA_WAIT,
        || async {
            let s = stock(st, admin, sku).await;
            (s["available"] == available && s["reserved"] == reserved).then_some(s)
        },
    )
    .await
}

/// Puts `quantity` of the product in the user's cart, waiting for the
/// orders service's product projection to know it.
pub async fn add_to_cart(st: &Stack, user: &TestUser, product_id: &str, quantity: u32) -> Value {
    let path = format!("/cart/items/{product_id}");
    eventually("the product in the cart", SAGA_WAIT, || async {
        let r = st
            .call(
                Method::PUT,
                &path,
                Some(&user.access_token),
                Some(json!({"quantity": quantity})),
            )
            .await;
        match r.status {
            StatusCode::OK => Some(r.body),
            // Not projected yet.
            StatusCode::BAD_REQUEST => None,
            other => panic!("add to cart: {other} {:?}", r.body),
        }
    })
    .await
}

pub async fn checkout(st: &Stack, user: &TestUser, key: &str, payment: Value) -> Reply {
    st.send(
        st.http
            .post(format!("{}/orders", st.api))
            .bearer_auth(&user.access_token)
            .header("idempotency-key", key)
            .json(&json!({"payment": payment})),
    )
    .await
}

pub async fn order(st: &Stack, token: &str, id: &str) -> Reply {
    st.call(Method::GET, &format!("/orders/{id}"), Some(token), None)
        .await
}

/// Waits until the order reaches `status` and returns it.
pub async fn order_becomes(st: &Stack, user: &TestUser, id: &str, status: &str) -> Value {
    eventually(&format!("order {id} {status}"), SAGA_WAIT, || async {
        let r = order(st, &user.access_token, id).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        (r.body["status"] == status).then_some(r.body)
    })
    .await
}

/// Waits until the order is confirmed or cancelled, and returns it.
pub async fn order_settles(st: &Stack, user: &TestUser, id: &str) -> Value {
    eventually(&format!("order {id} settled"), SAGA_WAIT, || async {
        let r = order(st, &user.access_token, id).await;
        let status = r.body["status"].as_str().unwrap_or_default();
        matches!(status, "confirmed" | "cancelled").then_some(r.body)
    })
    .await
}

pub fn statuses(order: &Value) -> Vec<String> {
    order["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["status"].as_str().map(str::to_owned))
        .collect()
}

pub async fn balance(st: &Stack, user: &TestUser) -> i64 {
    st.wallet_of(user).await["balance"]["amount"]
        .as_i64()
        .unwrap_or(-1)
}

/// A user with `amount` (USD minor units) in the wallet.
pub async fn funded_user(st: &Stack, amount: i64) -> TestUser {
    let (user, _) = st.user_with_wallet().await;
    if amount > 0 {
        let r = st
            .deposit(
                &user.access_token,
                Some(&uuid::Uuid::new_v4().to_string()),
                json!({"amount": amount, "currency": "USD", "description": "e2e funds"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "deposit: {:?}", r.body);
    }
    user
}
