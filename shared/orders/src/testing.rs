//! Fixtures for the unit tests of the orders functions: a catalog, a
//! placed order and a caller, made through the real use cases over the
//! in-memory store.

use contracts::events::PaymentMethod;
use contracts::{CorrelationId, Currency, OrderId, ProductId, Role, UserId};
use http_kit::{Caller, HttpContext};
use time::OffsetDateTime;

use crate::memory::InMemoryOrdersStore;
use crate::model::{IdempotencyKey, Listing, ProjectedProduct, Quantity};
use crate::service::{CheckoutCommand, checkout, set_cart_item};

/// A product on sale at `price` minor units of `currency`.
pub fn product(store: &InMemoryOrdersStore, price: i64, currency: Currency) -> ProductId {
    let id = ProductId::new();
    store.add_product(ProjectedProduct {
        product_id: id,
        version: 1,
        sku: format!("SKU-{}", &id.to_string()[24..]),
        listing: Listing::OnSale {
            name: format!("Product at {price}"),
            price,
            currency,
        },
    });
    id
}

/// Places an order of `quantity` x 1000 USD for `user`, paid from the
/// wallet, and returns its id.
pub async fn place_order(store: &InMemoryOrdersStore, user: UserId, quantity: u32) -> OrderId {
    let id = product(store, 1_000, Currency::USD);
    let quantity = Quantity::new(quantity).expect("a quantity from 1 to 99");
    set_cart_item(store, user, id, quantity, OffsetDateTime::now_utc())
        .await
        .expect("added to the cart");
    let receipt = checkout(
        store,
        CheckoutCommand {
            user_id: user,
            key: IdempotencyKey::parse(&OrderId::new().to_string()).expect("key"),
            payment: PaymentMethod::Wallet,
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("checked out");
    let body: serde_json::Value = serde_json::from_str(&receipt.body).expect("json");
    body["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("an order id")
}

/// The HTTP context of an authenticated `user` (an admin if `admin`).
pub fn caller(user: UserId, admin: bool) -> HttpContext {
    let mut roles = vec![Role::User];
    if admin {
        roles.push(Role::Admin);
    }
    HttpContext::new(
        "req",
        Some(Caller {
            user_id: user,
            roles,
        }),
    )
}
