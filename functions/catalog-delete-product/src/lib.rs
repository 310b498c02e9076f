//! `DELETE /products/{id}` (admin): deletes a product and frees its SKU;
//! `If-Match` is honoured when given.

use catalog::http::if_match;
use catalog::service::delete_product;
use catalog::store::CatalogStore;
use contracts::{ProductId, Role};
use http_kit::{ApiError, Body, HttpContext, Request, Response, no_content, path_param};

pub async fn handle<S: CatalogStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let id: ProductId = path_param(&req, "id")?;
    let if_match = if_match(&req)?;
    delete_product(
        store,
        id,
        if_match,
        &ctx.correlation_id,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use catalog::memory::InMemoryCatalogStore;
    use catalog::model::{Category, Price, ProductDescription, ProductInput, ProductName, Sku};
    use catalog::service::{create_product, get_product};
    use contracts::events::ProductDeleted;
    use contracts::{CorrelationId, Currency, EventEnvelope, UserId};
    use http_kit::{Caller, StatusCode};
    use lambda_http::RequestExt;
    use lambda_http::http::{HeaderValue, header};

    fn ctx(roles: Vec<Role>) -> HttpContext {
        HttpContext::new(
            "req",
            Some(Caller {
                user_id: UserId::new(),
                roles,
            }),
        )
    }

    fn delete(id: &str, if_match: Option<&str>) -> Request {
        let mut req = Request::new(Body::Empty)
            .with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]));
        if let Some(tag) = if_match {
            req.headers_mut().insert(
                header::IF_MATCH,
                HeaderValue::from_str(tag).expect("header"),
            );
        }
        req
    }

    fn input(sku: &str) -> ProductInput {
        ProductInput {
            sku: Sku::parse(sku).expect("sku"),
            name: ProductName::parse("Mug").expect("name"),
            description: ProductDescription::default(),
            category: Category::parse("kitchen").expect("category"),
            price: Price::new(1000).expect("price"),
            currency: Currency::EUR,
        }
    }

    async fn product(store: &InMemoryCatalogStore, sku: &str) -> ProductId {
        create_product(
            store,
            input(sku),
            &CorrelationId::new(),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("created")
        .id
    }

    #[tokio::test]
    async fn deleting_answers_204_then_404_and_frees_the_sku() {
        let store = InMemoryCatalogStore::new();
        let id = product(&store, "MUG-1").await;
        let admin = ctx(vec![Role::Admin]);

        let err = handle(
            &store,
            delete(&id.to_string(), Some("\"5\"")),
            admin.clone(),
        )
        .await
        .expect_err("412");
        assert_eq!(err.status(), StatusCode::PRECONDITION_FAILED);

        let response = handle(
            &store,
            delete(&id.to_string(), Some("\"1\"")),
            admin.clone(),
        )
        .await
        .expect("deleted");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(get_product(&store, id).await.is_err());
        let event: EventEnvelope<ProductDeleted> = store
            .outbox()
            .last()
            .cloned()
            .expect("event")
            .decode()
            .expect("deleted");
        assert_eq!((event.data.product_id, event.data.version), (id, 2));

        let err = handle(&store, delete(&id.to_string(), None), admin.clone())
            .await
            .expect_err("gone");
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
        product(&store, "MUG-1").await;

        let err = handle(&store, delete("nope", None), admin)
            .await
            .expect_err("404");
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn only_admins_may_delete() {
        let store = InMemoryCatalogStore::new();
        let id = product(&store, "MUG-1").await.to_string();
        let err = handle(&store, delete(&id, None), ctx(vec![Role::User]))
            .await
            .expect_err("403");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        let err = handle(&store, delete(&id, None), HttpContext::new("r", None))
            .await
            .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(store.outbox().len(), 1);
    }
}
