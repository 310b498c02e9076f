//! Product images in S3, reached only through presigned URLs: clients upload
//! and download directly, so image bytes never pass through a Lambda.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use serde::Serialize;

use crate::model::{ImageSize, ImageType};

/// How long an upload URL stays valid.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);
/// How long the image URLs of `GET /products/{id}` stay valid.
pub const DOWNLOAD_URL_TTL: Duration = Duration::from_secs(60 * 60);

/// A presigned upload: `PUT` the image bytes to `url` with exactly these
/// headers. Content type and length are part of the signature, so S3
/// refuses an upload of another type or size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresignedUpload {
    pub method: &'static str,
    pub url: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub expires_in: u64,
}

/// The bucket of product images.
#[derive(Clone)]
pub struct S3Images {
    client: Client,
    bucket: String,
}

impl S3Images {
    pub fn new(client: Client, bucket: String) -> Self {
        Self { client, bucket }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub async fn upload_url(
        &self,
        key: &str,
        kind: ImageType,
        size: ImageSize,
    ) -> anyhow::Result<PresignedUpload> {
        let length = i64::try_from(size.bytes())?;
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(kind.content_type())
            .content_length(length)
            .presigned(PresigningConfig::expires_in(UPLOAD_URL_TTL)?)
            .await
            .map_err(|e| {
                anyhow::anyhow!("presigning upload of {key}: {}", DisplayErrorContext(e))
            })?;
        let mut headers: BTreeMap<String, String> = presigned
            .headers()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect();
        // The signature covers both; make sure the client is told to send
        // them even if a future SDK stopped listing one of them.
        headers.insert("content-type".into(), kind.content_type().into());
        headers.insert("content-length".into(), size.bytes().to_string());
        Ok(PresignedUpload {
            method: "PUT",
            url: presigned.uri().to_owned(),
            headers,
            expires_in: UPLOAD_URL_TTL.as_secs(),
        })
    }

    pub async fn download_url(&self, key: &str) -> anyhow::Result<String> {
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(PresigningConfig::expires_in(DOWNLOAD_URL_TTL)?)
            .await
            .map_err(|e| {
                anyhow::anyhow!("presigning download of {key}: {}", DisplayErrorContext(e))
            })?;
        Ok(presigned.uri().to_owned())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

    /// A real S3 client with fixed credentials: presigning is a local
    /// computation, so no request leaves the process.
    pub(crate) fn images() -> S3Images {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::for_tests())
            .endpoint_url("http://127.0.0.1:4566")
            .build();
        S3Images::new(Client::from_conf(config), "catalog-images".into())
    }

    fn query(url: &str, name: &str) -> Option<String> {
        url.split_once('?')?.1.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }

    #[tokio::test]
    async fn upload_urls_sign_content_type_and_length() {
        let size = ImageSize::new(12_345).expect("size");
        let upload = images()
            .upload_url("products/p/images/a.png", ImageType::Png, size)
            .await
            .expect("presigned");
        assert_eq!(upload.method, "PUT");
        assert!(
            upload
                .url
                .starts_with("http://127.0.0.1:4566/catalog-images/products/p/images/a.png?"),
            "{}",
            upload.url
        );
        let signed = query(&upload.url, "X-Amz-SignedHeaders").expect("signed headers");
        let signed: Vec<&str> = signed.split("%3B").collect();
        assert!(signed.contains(&"content-type"), "{signed:?}");
        assert!(signed.contains(&"content-length"), "{signed:?}");
        assert_eq!(query(&upload.url, "X-Amz-Expires").as_deref(), Some("900"));
        assert!(query(&upload.url, "X-Amz-Signature").is_some());
        assert_eq!(upload.headers["content-type"], "image/png");
        assert_eq!(upload.headers["content-length"], "12345");
        assert_eq!(upload.expires_in, 900);
    }

    #[tokio::test]
    async fn download_urls_are_presigned_gets() {
        let url = images()
            .download_url("products/p/images/a.jpg")
            .await
            .expect("presigned");
        assert!(
            url.starts_with("http://127.0.0.1:4566/catalog-images/products/p/images/a.jpg?"),
            "{url}"
        );
        assert_eq!(query(&url, "X-Amz-Expires").as_deref(), Some("3600"));
        assert!(query(&url, "X-Amz-Signature").is_some());
    }
}
