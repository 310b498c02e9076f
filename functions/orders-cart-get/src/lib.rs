use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json};
use orders::service::cart;
use orders::store::OrdersStore;

/// The caller's cart, priced now from the product projection.
pub async fn handle<S: OrdersStore>(
    store: &S,
    _req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    json(StatusCode::OK, &cart(store, caller.user_id).await?)
}

#[cfg(test)]
mod tests {
    use contracts::{Currency, ProductId, Role, UserId};
    use http_kit::Caller;
    use orders::memory::InMemoryOrdersStore;
    use orders::model::{Listing, ProjectedProduct, Quantity};
    use orders::service::set_cart_item;
    use time::OffsetDateTime;

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

    fn product(store: &InMemoryOrdersStore, price: i64) -> ProductId {
        let id = ProductId::new();
        store.add_product(ProjectedProduct {
            product_id: id,
            version: 1,
            sku: "MUG-1".into(),
            listing: Listing::OnSale {
                name: "Mug".into(),
                price,
                currency: Currency::GBP,
            },
        });
        id
    }

    async fn body(store: &InMemoryOrdersStore, user: UserId) -> serde_json::Value {
        let response = handle(store, Request::default(), ctx(user))
            .await
            .expect("200");
        assert_eq!(response.status(), StatusCode::OK);
        serde_json::from_slice(response.body().as_ref()).expect("json")
    }

    #[tokio::test]
    async fn the_cart_is_shown_priced_and_only_to_its_owner() {
        let store = InMemoryOrdersStore::new();
        let user = UserId::new();
        let mug = product(&store, 450);
        let quantity = Quantity::new(2).expect("quantity");
        set_cart_item(&store, user, mug, quantity, OffsetDateTime::now_utc())
            .await
            .expect("added");

        assert_eq!(
            body(&store, user).await,
            serde_json::json!({
                "items": [{
                    "product_id": mug.to_string(), "sku": "MUG-1", "name": "Mug",
                    "unit_price": 450, "currency": "GBP", "quantity": 2, "line_total": 900,
                }],
                "total": 900,
                "currency": "GBP",
                "unavailable": [],
            })
        );
        // Another user sees their own (empty) cart.
        assert_eq!(
            body(&store, UserId::new()).await,
            serde_json::json!({"items": [], "total": 0, "currency": null, "unavailable": []})
        );
    }

    #[tokio::test]
    async fn needs_a_caller() {
        let err = handle(
            &InMemoryOrdersStore::new(),
            Request::default(),
            HttpContext::new("r", None),
        )
        .await
        .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
}
