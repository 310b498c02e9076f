//! `POST /products/{id}/images` (admin): a presigned S3 upload URL for one
//! image whose content type and exact size are signed into it; the image's
//! key is recorded on the product at once.

use std::collections::BTreeMap;

use catalog::http::{if_match, with_etag};
use catalog::images::S3Images;
use catalog::model::{ImageSize, ImageType, ProductView};
use catalog::service::{ImageRequest, request_image_upload};
use catalog::store::CatalogStore;
use contracts::{ProductId, Role};
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    json, parse_json, path_param,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
struct UploadBody {
    content_type: Option<Value>,
    size_bytes: Option<Value>,
}

#[derive(Serialize)]
struct UploadGranted {
    /// S3 key of the image; it is listed in the product's `images` already.
    key: String,
    upload_url: String,
    method: &'static str,
    /// Send exactly these headers with the upload.
    headers: BTreeMap<String, String>,
    /// Seconds the URL stays valid.
    expires_in: u64,
    product: ProductView,
}

fn content_type(value: Value) -> Result<ImageType, &'static str> {
    match value {
        Value::String(s) => ImageType::parse(&s),
        _ => Err("must be a string: image/jpeg, image/png or image/webp"),
    }
}

fn size(value: Value) -> Result<ImageSize, &'static str> {
    match value {
        Value::Number(n) => match n.as_u64() {
            Some(bytes) => ImageSize::new(bytes),
            None => Err("must be a whole number of bytes from 1 to 5242880"),
        },
        _ => Err("must be a JSON number of bytes"),
    }
}

pub async fn handle<S: CatalogStore>(
    store: &S,
    images: &S3Images,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let id: ProductId = path_param(&req, "id")?;
    let if_match = if_match(&req)?;
    let body: UploadBody = parse_json(&req, DEFAULT_BODY_LIMIT)?;
    let mut v = Validator::new();
    let kind = v.parse(
        "content_type",
        body.content_type.filter(|c| !c.is_null()),
        content_type,
    );
    let size = v.parse("size_bytes", body.size_bytes.filter(|s| !s.is_null()), size);
    let (kind, size) = v.finish(kind.zip(size))?;

    let granted = request_image_upload(
        store,
        images,
        id,
        ImageRequest {
            kind,
            size,
            if_match,
        },
        &ctx.correlation_id,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    let response = json(
        StatusCode::CREATED,
        &UploadGranted {
            key: granted.key,
            upload_url: granted.upload.url,
            method: granted.upload.method,
            headers: granted.upload.headers,
            expires_in: granted.upload.expires_in,
            product: ProductView::from(&granted.product),
        },
    )?;
    Ok(with_etag(response, &granted.product))
}

#[cfg(test)]
mod tests;
