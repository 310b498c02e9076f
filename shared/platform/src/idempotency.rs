//! Idempotency store, after the behaviour of Powertools' idempotency utility:
//! a conditional put claims a key (`INPROGRESS`), success marks it
//! `COMPLETED` with an expiry, failure releases it so a retry can run again.
//! An `INPROGRESS` claim expires with the remaining time of the invocation
//! that took it, so a crashed or timed-out invocation does not block retries
//! forever.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::dynamo::{ConditionFailed, Item, get_n, get_opt_s, get_s, n, s};

/// What a claim attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller now owns the key and must `complete` or `release` it.
    Acquired,
    /// The work was done before; `response` is what the first run stored.
    Completed {
        payload_hash: String,
        response: Option<String>,
    },
    /// Another invocation holds the key and its claim has not expired.
    InProgress,
}

#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    pub key: &'a str,
    /// Hash of the request payload, to detect a key reused for other content.
    pub payload_hash: &'a str,
    pub now: OffsetDateTime,
    /// Until when an `INPROGRESS` claim blocks others (now + remaining time).
    pub in_progress_until: OffsetDateTime,
    /// When the record may be forgotten.
    pub expires_at: OffsetDateTime,
}

pub trait IdempotencyStore: Send + Sync {
    fn claim(&self, req: ClaimRequest<'_>) -> impl Future<Output = anyhow::Result<Claim>> + Send;
    fn complete(
        &self,
        key: &str,
        response: Option<&str>,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn release(&self, key: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Hex SHA-256 of a payload.
pub fn payload_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

/// DynamoDB implementation. Records live in the owning service's table under
/// `pk = IDEMPOTENCY#<key>`, with `expires_at` as the table's TTL attribute.
#[derive(Clone)]
pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
}

impl DynamoIdempotencyStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    fn pk(key: &str) -> AttributeValue {
        s(format!("IDEMPOTENCY#{key}"))
    }

    fn key(key: &str) -> HashMap<String, AttributeValue> {
        [
            ("pk".to_owned(), Self::pk(key)),
            ("sk".to_owned(), s("IDEMPOTENCY")),
        ]
        .into_iter()
        .collect()
    }

    async fn read(&self, key: &str) -> anyhow::Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(key)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(out.item)
    }
}

fn interpret(item: &Item, now: OffsetDateTime) -> anyhow::Result<Option<Claim>> {
    // TTL deletion is lazy (up to days), so expiry is checked here as well.
    if get_n::<i64>(item, "expires_at")? < now.unix_timestamp() {
        return Ok(None);
    }
    match get_s(item, "status")? {
        COMPLETED => Ok(Some(Claim::Completed {
            payload_hash: get_s(item, "payload_hash")?.to_owned(),
            response: get_opt_s(item, "response")?.map(str::to_owned),
        })),
        _ if get_n::<i128>(item, "in_progress_until")? < millis(now) => Ok(None),
        _ => Ok(Some(Claim::InProgress)),
    }
}

fn millis(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}

impl IdempotencyStore for DynamoIdempotencyStore {
    async fn claim(&self, req: ClaimRequest<'_>) -> anyhow::Result<Claim> {
        // Two rounds: a record can expire or vanish between the failed put and
        // the read that explains it; then the put is simply tried again.
        for _ in 0..2 {
            let mut item = Self::key(req.key);
            item.insert("status".into(), s(IN_PROGRESS));
            item.insert("payload_hash".into(), s(req.payload_hash));
            item.insert("in_progress_until".into(), n(millis(req.in_progress_until)));
            item.insert("expires_at".into(), n(req.expires_at.unix_timestamp()));
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(
                    "attribute_not_exists(pk) OR expires_at < :now_s \
                     OR (#status = :in_progress AND in_progress_until < :now_ms)",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":now_s", n(req.now.unix_timestamp()))
                .expression_attribute_values(":now_ms", n(millis(req.now)))
                .expression_attribute_values(":in_progress", s(IN_PROGRESS))
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Claim::Acquired),
                Err(e) if e.is_condition_failed() => {
                    if let Some(existing) = self.read(req.key).await?
                        && let Some(claim) = interpret(&existing, req.now)?
                    {
                        return Ok(claim);
                    }
                }
                Err(e) => {
                    return Err(anyhow::anyhow!(
                        "claiming idempotency key: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    ));
                }
            }
        }
        // The key keeps flipping under us: let the caller retry later.
        Ok(Claim::InProgress)
    }

    async fn complete(
        &self,
        key: &str,
        response: Option<&str>,
        expires_at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(key)))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":expires", n(expires_at.unix_timestamp()));
        update = match response {
            Some(body) => update
                .update_expression(
                    "SET #status = :completed, expires_at = :expires, response = :response",
                )
                .expression_attribute_values(":response", s(body)),
            None => update.update_expression("SET #status = :completed, expires_at = :expires"),
        };
        update.send().await.map_err(|e| {
            anyhow::anyhow!(
                "completing idempotency key: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })?;
        Ok(())
    }

    async fn release(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(key)))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "releasing idempotency key: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })?;
        Ok(())
    }
}

/// In-memory implementation with the same semantics, for unit tests of
/// handlers and of the batch helper.
#[derive(Default)]
pub struct InMemoryIdempotencyStore {
    records: Mutex<HashMap<String, Item>>,
}

impl InMemoryIdempotencyStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn status(&self, key: &str) -> Option<String> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records
            .get(key)
            .and_then(|r| get_s(r, "status").ok().map(str::to_owned))
    }
}

impl IdempotencyStore for InMemoryIdempotencyStore {
    async fn claim(&self, req: ClaimRequest<'_>) -> anyhow::Result<Claim> {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = records.get(req.key)
            && let Some(claim) = interpret(existing, req.now)?
        {
            return Ok(claim);
        }
        let item: Item = [
            ("status".to_owned(), s(IN_PROGRESS)),
            ("payload_hash".to_owned(), s(req.payload_hash)),
            (
                "in_progress_until".to_owned(),
                n(millis(req.in_progress_until)),
            ),
            ("expires_at".to_owned(), n(req.expires_at.unix_timestamp())),
        ]
        .into_iter()
        .collect();
        records.insert(req.key.to_owned(), item);
        Ok(Claim::Acquired)
    }

    async fn complete(
        &self,
        key: &str,
        response: Option<&str>,
        expires_at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let record = records
            .get_mut(key)
            .ok_or_else(|| anyhow::anyhow!("completing a key that was never claimed"))?;
        record.insert("status".into(), s(COMPLETED));
        record.insert("expires_at".into(), n(expires_at.unix_timestamp()));
        if let Some(body) = response {
            record.insert("response".into(), s(body));
        }
        Ok(())
    }

    async fn release(&self, key: &str) -> anyhow::Result<()> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn req<'a>(key: &'a str, hash: &'a str, now: OffsetDateTime) -> ClaimRequest<'a> {
        ClaimRequest {
            key,
            payload_hash: hash,
            now,
            in_progress_until: now + Duration::seconds(30),
            expires_at: now + Duration::hours(1),
        }
    }

    fn t0() -> OffsetDateTime {
        time::macros::datetime!(2026-11-21 10:00 UTC)
    }

    #[tokio::test]
    async fn first_claim_wins_second_sees_in_progress() {
        let store = InMemoryIdempotencyStore::new();
        assert_eq!(
            store.claim(req("k", "h", t0())).await.ok(),
            Some(Claim::Acquired)
        );
        assert_eq!(
            store.claim(req("k", "h", t0())).await.ok(),
            Some(Claim::InProgress)
        );
    }

    #[tokio::test]
    async fn completed_key_returns_stored_response() {
        let store = InMemoryIdempotencyStore::new();
        store.claim(req("k", "h", t0())).await.expect("claim");
        store
            .complete("k", Some("{\"ok\":true}"), t0() + Duration::hours(1))
            .await
            .expect("complete");
        assert_eq!(
            store.claim(req("k", "h", t0())).await.ok(),
            Some(Claim::Completed {
                payload_hash: "h".into(),
                response: Some("{\"ok\":true}".into())
            })
        );
    }

    #[tokio::test]
    async fn stale_in_progress_claim_can_be_taken_over() {
        let store = InMemoryIdempotencyStore::new();
        store.claim(req("k", "h", t0())).await.expect("claim");
        let later = t0() + Duration::seconds(31);
        assert_eq!(
            store.claim(req("k", "h", later)).await.ok(),
            Some(Claim::Acquired)
        );
    }

    #[tokio::test]
    async fn expired_completion_is_forgotten() {
        let store = InMemoryIdempotencyStore::new();
        store.claim(req("k", "h", t0())).await.expect("claim");
        store
            .complete("k", None, t0() + Duration::hours(1))
            .await
            .expect("complete");
        let much_later = t0() + Duration::hours(2);
        assert_eq!(
            store.claim(req("k", "h", much_later)).await.ok(),
            Some(Claim::Acquired)
        );
    }

    #[tokio::test]
    async fn released_key_can_be_claimed_again() {
        let store = InMemoryIdempotencyStore::new();
        store.claim(req("k", "h", t0())).await.expect("claim");
        store.release("k").await.expect("release");
        assert_eq!(
            store.claim(req("k", "h", t0())).await.ok(),
            Some(Claim::Acquired)
        );
    }

    #[test]
    fn payload_hash_is_hex_sha256() {
        assert_eq!(
            payload_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
