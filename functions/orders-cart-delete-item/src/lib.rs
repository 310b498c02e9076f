use contracts::ProductId;
use http_kit::{ApiError, Body, HttpContext, Request, Response, no_content, path_param};
use orders::service::remove_cart_item;
use orders::store::OrdersStore;

/// Takes a product out of the caller's cart. 204 whether or not it was
/// there: the cart ends up without it either way.
pub async fn handle<S: OrdersStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let product_id: ProductId = path_param(&req, "product_id")?;
    remove_cart_item(store, caller.user_id, product_id).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use contracts::{Currency, Role, UserId};
    use http_kit::{Caller, StatusCode};
    use lambda_http::RequestExt;
    use orders::memory::InMemoryOrdersStore;
    use orders::model::{Listing, ProjectedProduct, Quantity};
    use orders::service::{cart, set_cart_item};
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

    fn delete(product_id: &str) -> Request {
        Request::default().with_path_parameters(HashMap::from([(
            "product_id".to_owned(),
            product_id.to_owned(),
        )]))
    }

    #[tokio::test]
    async fn removes_the_line_from_the_callers_cart_only() {
        let store = InMemoryOrdersStore::new();
        let id = ProductId::new();
        store.add_product(ProjectedProduct {
            product_id: id,
            version: 1,
            sku: "PEN".into(),
            listing: Listing::OnSale {
                name: "Pen".into(),
                price: 120,
                currency: Currency::EUR,
            },
        });
        let (me, other) = (UserId::new(), UserId::new());
        for user in [me, other] {
            set_cart_item(
                &store,
                user,
                id,
                Quantity::new(1).expect("quantity"),
                OffsetDateTime::now_utc(),
            )
            .await
            .expect("added");
        }

        let response = handle(&store, delete(&id.to_string()), ctx(me))
            .await
            .expect("204");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(cart(&store, me).await.expect("cart").items.is_empty());
        assert_eq!(cart(&store, other).await.expect("cart").items.len(), 1);

        // Again, and for a product never in the cart: still 204.
        for again in [id, ProductId::new()] {
            let response = handle(&store, delete(&again.to_string()), ctx(me))
                .await
                .expect("204");
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
        }
    }

    #[tokio::test]
    async fn bad_ids_are_404_and_a_caller_is_needed() {
        let store = InMemoryOrdersStore::new();
        let err = handle(&store, delete("nope"), ctx(UserId::new()))
            .await
            .expect_err("404");
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
        let err = handle(
            &store,
            delete(&ProductId::new().to_string()),
            HttpContext::new("r", None),
        )
        .await
        .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
}
