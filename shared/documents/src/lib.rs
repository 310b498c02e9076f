//! Documents kept in S3 for users to download (receipts): stored with
//! their content type, handed out as presigned GET URLs so the bucket stays
//! private. One port per capability, each with an S3 adapter and an
//! in-memory one for unit tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

/// The longest validity SigV4 allows for a presigned URL.
pub const MAX_LINK_VALIDITY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

pub trait DocumentStore: Send + Sync {
    /// Stores `body` under `key`, replacing what was there (callers derive
    /// keys from ids, so a retry rewrites the same document).
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

pub trait DownloadLinks: Send + Sync {
    /// A URL that lets its holder GET `key` for `valid_for` (at most
    /// [`MAX_LINK_VALIDITY`]), without credentials.
    fn download_url(
        &self,
        key: &str,
        valid_for: Duration,
    ) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// One S3 bucket.
#[derive(Clone)]
pub struct S3Documents {
    client: Client,
    bucket: String,
}

impl S3Documents {
    pub fn new(client: Client, bucket: String) -> Self {
        Self { client, bucket }
    }

    /// With a client built from `sdk`; `force_path_style` presigns
    /// `<endpoint>/<bucket>/<key>` URLs, for S3 endpoints without
    /// virtual-host DNS (a LocalStack container name). AWS and IP-address
    /// endpoints need `false`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, bucket: String, force_path_style: bool) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(force_path_style)
            .build();
        Self::new(Client::from_conf(config), bucket)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

impl DocumentStore for S3Documents {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "writing s3://{}/{key}: {}",
                    self.bucket,
                    DisplayErrorContext(e)
                )
            })?;
        Ok(())
    }
}

impl DownloadLinks for S3Documents {
    /// Signed locally with the function's credentials: no request is sent.
    /// The URL stops working when those credentials expire, whichever
    /// comes first (Lambda role credentials last hours, not days).
    async fn download_url(&self, key: &str, valid_for: Duration) -> anyhow::Result<String> {
        let config = PresigningConfig::expires_in(valid_for.min(MAX_LINK_VALIDITY))
            .context("presigning configuration")?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "presigning s3://{}/{key}: {}",
                    self.bucket,
                    DisplayErrorContext(e)
                )
            })?;
        Ok(request.uri().to_owned())
    }
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    pub body: Vec<u8>,
    pub content_type: String,
}

/// Documents in memory; links are `memory://<key>?valid_for=<seconds>`.
/// Clones share their state.
#[derive(Clone, Default)]
pub struct InMemoryDocuments {
    objects: Arc<Mutex<BTreeMap<String, StoredDocument>>>,
    puts: Arc<Mutex<usize>>,
}

impl InMemoryDocuments {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<StoredDocument> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// How many writes were made (rewrites included).
    pub fn put_count(&self) -> usize {
        *self.puts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl DocumentStore for InMemoryDocuments {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> anyhow::Result<()> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                key.to_owned(),
                StoredDocument {
                    body,
                    content_type: content_type.to_owned(),
                },
            );
        *self.puts.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Ok(())
    }
}

impl DownloadLinks for InMemoryDocuments {
    async fn download_url(&self, key: &str, valid_for: Duration) -> anyhow::Result<String> {
        Ok(format!(
            "memory://{key}?valid_for={}",
            valid_for.min(MAX_LINK_VALIDITY).as_secs()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::{Credentials, Region};

    fn s3() -> S3Documents {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .endpoint_url("http://127.0.0.1:4566")
            .build();
        S3Documents::new(Client::from_conf(config), "docs-bucket".into())
    }

    #[tokio::test]
    async fn a_download_link_is_a_signed_get_of_the_key() {
        let url = s3()
            .download_url("invoices/u1/inv_1.pdf", Duration::from_secs(300))
            .await
            .expect("presigned");
        assert!(
            url.starts_with("http://127.0.0.1:4566/docs-bucket/invoices/u1/inv_1.pdf?"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=300"), "{url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(url.contains("X-Amz-Credential=AKIDEXAMPLE"), "{url}");
    }

    #[tokio::test]
    async fn path_style_can_be_forced_for_hostname_endpoints() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"),
            ))
            .endpoint_url("http://localstack:4566")
            .build();
        let path = S3Documents::from_sdk(&sdk, "docs".into(), true)
            .download_url("k.pdf", Duration::from_secs(60))
            .await
            .expect("presigned");
        assert!(
            path.starts_with("http://localstack:4566/docs/k.pdf?"),
            "{path}"
        );
        let host = S3Documents::from_sdk(&sdk, "docs".into(), false)
            .download_url("k.pdf", Duration::from_secs(60))
            .await
            .expect("presigned");
        assert!(
            host.starts_with("http://docs.localstack:4566/k.pdf?"),
            "{host}"
        );
    }

    #[tokio::test]
    async fn links_are_capped_at_seven_days() {
        let url = s3()
            .download_url("k", Duration::from_secs(30 * 24 * 3600))
            .await
            .expect("presigned");
        assert!(url.contains("X-Amz-Expires=604800"), "{url}");
    }

    #[tokio::test]
    async fn the_memory_adapter_keeps_documents_and_their_type() {
        let docs = InMemoryDocuments::new();
        docs.put("a/b.pdf", b"%PDF".to_vec(), "application/pdf")
            .await
            .expect("put");
        assert_eq!(
            docs.get("a/b.pdf"),
            Some(StoredDocument {
                body: b"%PDF".to_vec(),
                content_type: "application/pdf".into()
            })
        );
        assert_eq!(docs.put_count(), 1);
        assert_eq!(
            docs.download_url("a/b.pdf", Duration::from_secs(60))
                .await
                .expect("link"),
            "memory://a/b.pdf?valid_for=60"
        );
    }
}
