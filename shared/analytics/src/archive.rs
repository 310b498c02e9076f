use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::{Context, anyhow};
use contracts::RawEnvelope;
use platform::archive::S3Archive;
use time::Date;

use crate::day_key;

/// Where raw events are archived; writes are keyed by the caller and idempotent.
pub trait EventArchive: Send + Sync {
    fn put(&self, key: &str, body: Vec<u8>) -> impl Future<Output = anyhow::Result<()>> + Send;
}

impl EventArchive for S3Archive {
    async fn put(&self, key: &str, body: Vec<u8>) -> anyhow::Result<()> {
        S3Archive::put(self, key, body, "application/x-ndjson").await
    }
}

/// Object bodies by key; clones share their state.
#[derive(Clone, Default)]
pub struct InMemoryEventArchive {
    objects: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl InMemoryEventArchive {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl EventArchive for InMemoryEventArchive {
    async fn put(&self, key: &str, body: Vec<u8>) -> anyhow::Result<()> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned(), body);
        Ok(())
    }
}

fn key_safe(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 128
        && !part.starts_with('.')
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// `events/type=<type>/date=<yyyy-mm-dd>/<event_id>.jsonl`: Hive-style
/// partitions that Athena and Glue read as tables, one object per event so a
/// retried write replaces its own object.
pub fn archive_key(event: &RawEnvelope, day: Date) -> anyhow::Result<String> {
    let id = event.id.as_str();
    if !key_safe(id) || !key_safe(&event.event_type) {
        return Err(anyhow!(
            "event id {id:?} / type {:?} cannot be used in an object key",
            event.event_type
        ));
    }
    Ok(format!(
        "events/type={}/date={}/{id}.jsonl",
        event.event_type,
        day_key(day)
    ))
}

/// The envelope as one JSON line.
pub fn archive_line(event: &RawEnvelope) -> anyhow::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(event).context("serialising the event")?;
    line.push(b'\n');
    Ok(line)
}
