use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use platform::archive::S3Archive;

/// Where rendered bodies are kept, so that what a user was sent can be
/// shown or audited later. Writes are keyed by the caller and idempotent.
pub trait BodyArchive: Send + Sync {
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

impl BodyArchive for S3Archive {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> anyhow::Result<()> {
        S3Archive::put(self, key, body, content_type).await
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBody {
    pub body: Vec<u8>,
    pub content_type: String,
}

/// Objects by key; clones share their state.
#[derive(Clone, Default)]
pub struct InMemoryBodyArchive {
    objects: Arc<Mutex<BTreeMap<String, StoredBody>>>,
}

impl InMemoryBodyArchive {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<StoredBody> {
        self.lock().get(key).cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StoredBody>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl BodyArchive for InMemoryBodyArchive {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> anyhow::Result<()> {
        self.lock().insert(
            key.to_owned(),
            StoredBody {
                body,
                content_type: content_type.to_owned(),
            },
        );
        Ok(())
    }
}
