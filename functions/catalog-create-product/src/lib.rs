//! `POST /products` (admin): creates a product at version 1.

use catalog::http::{product_input, with_etag};
use catalog::model::ProductView;
use catalog::service::create_product;
use catalog::store::CatalogStore;
use contracts::Role;
use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json};
use lambda_http::http::{HeaderValue, header};

pub async fn handle<S: CatalogStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let (input, _) = product_input(&req)?;
    let product = create_product(
        store,
        input,
        &ctx.correlation_id,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    let mut response = with_etag(
        json(StatusCode::CREATED, &ProductView::from(&product))?,
        &product,
    );
    let location =
        HeaderValue::from_str(&format!("/products/{}", product.id)).map_err(anyhow::Error::from)?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::memory::InMemoryCatalogStore;
    use contracts::events::ProductCreated;
    use contracts::{EventEnvelope, UserId};
    use http_kit::Caller;

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
        ctx(vec![Role::User, Role::Admin])
    }

    fn post(body: &str) -> Request {
        let mut req = Request::new(Body::from(body.to_owned()));
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        req
    }

    fn json_body(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).expect("json body")
    }

    const MUG: &str = r#"{"sku":"mug-001","name":"Café mug","description":"Stoneware, 350 ml.","category":"kitchen","price":1250,"currency":"EUR"}"#;

    #[tokio::test]
    async fn an_admin_creates_a_product() {
        let store = InMemoryCatalogStore::new();
        let context = admin();
        let correlation = context.correlation_id.clone();
        let response = handle(&store, post(MUG), context).await.expect("created");
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[header::ETAG], "\"1\"");
        let body = json_body(&response);
        let id = body["id"].as_str().expect("id");
        assert_eq!(
            response.headers()[header::LOCATION],
            format!("/products/{id}").as_str()
        );
        assert_eq!(body["sku"], "MUG-001");
        assert_eq!(body["name"], "Café mug");
        assert_eq!(body["description"], "Stoneware, 350 ml.");
        assert_eq!(body["category"], "kitchen");
        assert_eq!(body["price"], 1250);
        assert_eq!(body["currency"], "EUR");
        assert_eq!(body["images"], serde_json::json!([]));
        assert_eq!(body["version"], 1);
        assert!(body.get("image_urls").is_none());
        assert!(body["created_at"].as_str().is_some());
        assert_eq!(body["created_at"], body["updated_at"]);

        let outbox = store.outbox();
        assert_eq!(outbox.len(), 1);
        let event: EventEnvelope<ProductCreated> = outbox[0].clone().decode().expect("created");
        assert_eq!(event.data.product_id.to_string(), id);
        assert_eq!(event.correlation_id, correlation);
    }

    #[tokio::test]
    async fn a_duplicate_sku_is_a_conflict() {
        let store = InMemoryCatalogStore::new();
        handle(&store, post(MUG), admin()).await.expect("created");
        let again = MUG
            .replace("mug-001", "MUG-001")
            .replace("Café mug", "Other");
        let err = handle(&store, post(&again), admin())
            .await
            .expect_err("409");
        assert_eq!(err.status(), StatusCode::CONFLICT);
        assert_eq!(store.outbox().len(), 1);
    }

    #[tokio::test]
    async fn only_admins_may_create() {
        let store = InMemoryCatalogStore::new();
        let err = handle(&store, post(MUG), ctx(vec![Role::User]))
            .await
            .expect_err("403");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        let err = handle(&store, post(MUG), HttpContext::new("req", None))
            .await
            .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        assert!(store.outbox().is_empty());
    }

    #[tokio::test]
    async fn invalid_bodies_are_400_with_field_details() {
        let store = InMemoryCatalogStore::new();
        for (body, field) in [
            (MUG.replace("1250", "0"), "price"),
            (MUG.replace("1250", "-3"), "price"),
            (MUG.replace("1250", "12.5"), "price"),
            (MUG.replace("1250", "100000001"), "price"),
            (MUG.replace("\"EUR\"", "\"XXX\""), "currency"),
            (MUG.replace("mug-001", "mug 001"), "sku"),
            (MUG.replace("mug-001", &"A".repeat(41)), "sku"),
            (MUG.replace("Café mug", ""), "name"),
            (MUG.replace("Café mug", &"n".repeat(201)), "name"),
            (
                MUG.replace("Stoneware, 350 ml.", &"d".repeat(5001)),
                "description",
            ),
            (MUG.replace("\"kitchen\"", "\"Kitchen Stuff\""), "category"),
            (MUG.replace("\"kitchen\"", "7"), "category"),
        ] {
            match handle(&store, post(&body), admin()).await {
                Err(ApiError::Validation(errors)) => {
                    assert_eq!(errors.len(), 1, "{body}: {errors:?}");
                    assert_eq!(errors[0].field, field, "{body}");
                }
                other => panic!("{body}: expected 400, got {other:?}"),
            }
        }
        let err = handle(&store, post("not json"), admin())
            .await
            .expect_err("400");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(store.outbox().is_empty());
    }
}
