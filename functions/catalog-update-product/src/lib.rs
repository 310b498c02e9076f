//! `PUT /products/{id}` (admin): replaces a product's fields, only at the
//! version the client read (`If-Match: "<version>"` or body `version`).

use catalog::http::{if_match, product_input, with_etag};
use catalog::model::ProductView;
use catalog::precondition::Preconditions;
use catalog::service::update_product;
use catalog::store::CatalogStore;
use contracts::{ProductId, Role};
use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json, path_param};

pub async fn handle<S: CatalogStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let id: ProductId = path_param(&req, "id")?;
    let if_match = if_match(&req)?;
    let (input, body_version) = product_input(&req)?;
    let pre = Preconditions {
        if_match,
        body_version,
    };
    let product = update_product(
        store,
        id,
        input,
        &pre,
        &ctx.correlation_id,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(with_etag(
        json(StatusCode::OK, &ProductView::from(&product))?,
        &product,
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use catalog::memory::InMemoryCatalogStore;
    use catalog::model::{Category, Price, ProductDescription, ProductInput, ProductName, Sku};
    use catalog::service::create_product;
    use contracts::events::ProductUpdated;
    use contracts::{CorrelationId, Currency, EventEnvelope, UserId};
    use http_kit::Caller;
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

    fn admin() -> HttpContext {
        ctx(vec![Role::Admin])
    }

    fn put(id: &str, body: &str, if_match: Option<&str>) -> Request {
        let mut req = Request::new(Body::from(body.to_owned()))
            .with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]));
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(tag) = if_match {
            req.headers_mut().insert(
                header::IF_MATCH,
                HeaderValue::from_str(tag).expect("header"),
            );
        }
        req
    }

    async fn product(store: &InMemoryCatalogStore, sku: &str) -> ProductId {
        create_product(
            store,
            ProductInput {
                sku: Sku::parse(sku).expect("sku"),
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

    fn body(sku: &str, price: i64, version: Option<u64>) -> String {
        let mut b = serde_json::json!({
            "sku": sku, "name": "Big mug", "description": "Now bigger.",
            "category": "kitchen", "price": price, "currency": "EUR"
        });
        if let Some(v) = version {
            b["version"] = v.into();
        }
        b.to_string()
    }

    fn json_body(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).expect("json body")
    }

    #[tokio::test]
    async fn an_update_at_the_current_etag_bumps_the_version() {
        let store = InMemoryCatalogStore::new();
        let id = product(&store, "MUG-1").await.to_string();
        let response = handle(
            &store,
            put(&id, &body("MUG-1", 1500, None), Some("\"1\"")),
            admin(),
        )
        .await
        .expect("updated");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::ETAG], "\"2\"");
        let json = json_body(&response);
        assert_eq!(json["version"], 2);
        assert_eq!(json["price"], 1500);
        assert_eq!(json["name"], "Big mug");
        let event: EventEnvelope<ProductUpdated> = store
            .outbox()
            .last()
            .cloned()
            .expect("event")
            .decode()
            .expect("updated");
        assert_eq!((event.data.version, event.data.product.price), (2, 1500));

        // The body version works as well.
        let response = handle(
            &store,
            put(&id, &body("MUG-1", 1600, Some(2)), None),
            admin(),
        )
        .await
        .expect("updated");
        assert_eq!(response.headers()[header::ETAG], "\"3\"");
    }

    #[tokio::test]
    async fn stale_and_missing_preconditions_are_refused() {
        let store = InMemoryCatalogStore::new();
        let id = product(&store, "MUG-1").await.to_string();
        handle(
            &store,
            put(&id, &body("MUG-1", 1500, None), Some("\"1\"")),
            admin(),
        )
        .await
        .expect("updated");
        let cases = [
            (None, None, StatusCode::PRECONDITION_REQUIRED),
            (Some("\"1\""), None, StatusCode::PRECONDITION_FAILED),
            (Some("W/\"2\""), None, StatusCode::PRECONDITION_FAILED),
            (None, Some(1), StatusCode::CONFLICT),
            (Some("\"2\""), Some(1), StatusCode::CONFLICT),
            (Some("2"), None, StatusCode::BAD_REQUEST),
        ];
        for (tag, version, status) in cases {
            let err = handle(&store, put(&id, &body("MUG-1", 9, version), tag), admin())
                .await
                .expect_err("refused");
            assert_eq!(err.status(), status, "{tag:?} {version:?}");
        }
        assert_eq!(
            store.outbox().len(),
            2,
            "nothing written by refused updates"
        );
    }

    #[tokio::test]
    async fn unknown_ids_skus_and_roles() {
        let store = InMemoryCatalogStore::new();
        let id = product(&store, "MUG-1").await.to_string();
        product(&store, "MUG-2").await;
        let err = handle(
            &store,
            put(&id, &body("MUG-2", 9, None), Some("\"1\"")),
            admin(),
        )
        .await
        .expect_err("a product keeps its sku");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        for unknown in [ProductId::new().to_string(), "not-an-id".to_owned()] {
            let err = handle(
                &store,
                put(&unknown, &body("MUG-1", 9, None), Some("\"1\"")),
                admin(),
            )
            .await
            .expect_err("404");
            assert_eq!(err.status(), StatusCode::NOT_FOUND, "{unknown}");
        }
        let err = handle(
            &store,
            put(&id, &body("MUG-1", 9, None), Some("\"1\"")),
            ctx(vec![Role::User]),
        )
        .await
        .expect_err("403");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        let err = handle(&store, put(&id, r#"{"price":0}"#, Some("\"1\"")), admin())
            .await
            .expect_err("400");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}
