//! `GET /products/{id}` (public): the product from the catalog table, with
//! presigned download URLs of its images and its `ETag`.

use catalog::http::with_etag;
use catalog::images::S3Images;
use catalog::model::ProductView;
use catalog::service::get_product;
use catalog::store::CatalogStore;
use contracts::ProductId;
use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json, path_param};

pub async fn handle<S: CatalogStore>(
    store: &S,
    images: &S3Images,
    req: Request,
    _ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let id: ProductId = path_param(&req, "id")?;
    let product = get_product(store, id).await?;
    let urls = futures::future::try_join_all(product.images.iter().map(|k| images.download_url(k)))
        .await?;
    let view = ProductView {
        image_urls: Some(urls),
        ..ProductView::from(&product)
    };
    Ok(with_etag(json(StatusCode::OK, &view)?, &product))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    use catalog::memory::InMemoryCatalogStore;
    use catalog::model::{
        Category, ImageSize, ImageType, Price, ProductDescription, ProductInput, ProductName, Sku,
    };
    use catalog::service::{ImageRequest, create_product, delete_product, request_image_upload};
    use contracts::{CorrelationId, Currency};
    use lambda_http::RequestExt;
    use lambda_http::http::header;

    use super::*;

    fn images() -> S3Images {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::for_tests())
            .endpoint_url("http://127.0.0.1:4566")
            .build();
        S3Images::new(aws_sdk_s3::Client::from_conf(config), "images".into())
    }

    fn get(id: &str) -> Request {
        Request::new(Body::Empty)
            .with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]))
    }

    fn now() -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }

    async fn product(store: &InMemoryCatalogStore) -> ProductId {
        create_product(
            store,
            ProductInput {
                sku: Sku::parse("MUG-1").expect("sku"),
                name: ProductName::parse("Café mug").expect("name"),
                description: ProductDescription::parse("Stoneware.").expect("d"),
                category: Category::parse("kitchen").expect("category"),
                price: Price::new(1250).expect("price"),
                currency: Currency::EUR,
            },
            &CorrelationId::new(),
            now(),
        )
        .await
        .expect("created")
        .id
    }

    #[tokio::test]
    async fn anyone_reads_a_product_with_image_urls_and_etag() {
        let store = InMemoryCatalogStore::new();
        let images = images();
        let id = product(&store).await;
        let granted = request_image_upload(
            &store,
            &images,
            id,
            ImageRequest {
                kind: ImageType::Png,
                size: ImageSize::new(100).expect("size"),
                if_match: None,
            },
            &CorrelationId::new(),
            now(),
        )
        .await
        .expect("granted");

        // No caller at all: the route is public.
        let response = handle(
            &store,
            &images,
            get(&id.to_string()),
            HttpContext::new("r", None),
        )
        .await
        .expect("found");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::ETAG], "\"2\"");
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("json");
        assert_eq!(body["id"], id.to_string());
        assert_eq!(body["name"], "Café mug");
        assert_eq!(body["price"], 1250);
        assert_eq!(body["currency"], "EUR");
        assert_eq!(body["version"], 2);
        assert_eq!(body["images"], serde_json::json!([granted.key]));
        let url = body["image_urls"][0].as_str().expect("url");
        assert!(
            url.starts_with(&format!("http://127.0.0.1:4566/images/{}?", granted.key)),
            "{url}"
        );
        assert!(url.contains("X-Amz-Signature="));
    }

    #[tokio::test]
    async fn unknown_deleted_and_invalid_ids_are_404() {
        let store = InMemoryCatalogStore::new();
        let id = product(&store).await;
        let response = handle(
            &store,
            &images(),
            get(&id.to_string()),
            HttpContext::new("r", None),
        )
        .await
        .expect("found");
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("json");
        assert_eq!(body["image_urls"], serde_json::json!([]));

        delete_product(&store, id, None, &CorrelationId::new(), now())
            .await
            .expect("deleted");
        for unknown in [id.to_string(), ProductId::new().to_string(), "nope".into()] {
            let err = handle(
                &store,
                &images(),
                get(&unknown),
                HttpContext::new("r", None),
            )
            .await
            .expect_err("404");
            assert_eq!(err.status(), StatusCode::NOT_FOUND, "{unknown}");
        }
    }
}
