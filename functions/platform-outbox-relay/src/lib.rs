//! Outbox relay: reads a service table's DynamoDB stream and publishes every
//! new outbox item to the service's SNS topic.
//!
//! Failure handling: if any publish fails, the invocation fails as a whole.
//! Lambda then retries the batch (`MaximumRetryAttempts`, bisecting on
//! error) and finally records it in the on-failure destination (an SQS
//! DLQ). Events published before the failure are published again on retry;
//! consumers are idempotent on event id, so that costs nothing, while a
//! partial-failure report would silently lose events on emulators that do
//! not implement it for streams (see docs/emulators.md).

use std::collections::HashMap;

use contracts::RawEnvelope;
use platform::outbox::OUTBOX_KIND;
use platform::publisher::EventPublisher;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName")]
    pub event_name: Option<String>,
    pub dynamodb: Option<StreamData>,
}

#[derive(Debug, Deserialize)]
pub struct StreamData {
    #[serde(rename = "NewImage")]
    pub new_image: Option<HashMap<String, serde_json::Value>>,
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: Option<String>,
}

fn string_attr<'a>(image: &'a HashMap<String, serde_json::Value>, name: &str) -> Option<&'a str> {
    image.get(name)?.get("S")?.as_str()
}

/// The envelope of an outbox INSERT, `None` for any other change.
pub fn outbox_envelope(record: &StreamRecord) -> anyhow::Result<Option<RawEnvelope>> {
    if record.event_name.as_deref() != Some("INSERT") {
        return Ok(None);
    }
    let Some(image) = record.dynamodb.as_ref().and_then(|d| d.new_image.as_ref()) else {
        return Ok(None);
    };
    if string_attr(image, "kind") != Some(OUTBOX_KIND) {
        return Ok(None);
    }
    let body = string_attr(image, "envelope")
        .ok_or_else(|| anyhow::anyhow!("outbox item without an envelope attribute"))?;
    Ok(Some(serde_json::from_str(body)?))
}

/// Publishes the batch in stream order; stops at the first failure.
pub async fn relay<P: EventPublisher>(publisher: &P, event: StreamEvent) -> anyhow::Result<usize> {
    let mut published = 0;
    for record in &event.records {
        let seq = record
            .dynamodb
            .as_ref()
            .and_then(|d| d.sequence_number.as_deref())
            .unwrap_or("?");
        let envelope = outbox_envelope(record)
            .map_err(|e| e.context(format!("undecodable outbox record at sequence {seq}")))?;
        let Some(envelope) = envelope else { continue };
        let message_id = publisher.publish(&envelope).await?;
        tracing::info!(
            event_id = %envelope.id,
            event_type = %envelope.event_type,
            correlation_id = %envelope.correlation_id,
            message_id,
            "event published"
        );
        published += 1;
    }
    Ok(published)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    struct FakeTopic {
        published: Mutex<Vec<String>>,
        fail_on: Option<String>,
    }

    impl EventPublisher for FakeTopic {
        async fn publish(&self, envelope: &RawEnvelope) -> anyhow::Result<String> {
            if self.fail_on.as_deref() == Some(envelope.id.as_str()) {
                anyhow::bail!("sns unavailable");
            }
            self.published
                .lock()
                .expect("lock")
                .push(envelope.id.to_string());
            Ok("m".into())
        }
    }

    fn envelope_json(id: &str) -> String {
        format!(
            r#"{{"id":"{id}","type":"user.registered","version":1,"source":"identity","occurred_at":"2026-11-21T10:00:00Z","correlation_id":"c","subject":"s","data":{{}}}}"#
        )
    }

    fn record(name: &str, kind: &str, id: &str) -> serde_json::Value {
        serde_json::json!({
            "eventName": name,
            "dynamodb": {
                "SequenceNumber": "1",
                "NewImage": {
                    "pk": {"S": format!("OUTBOX#{id}")},
                    "kind": {"S": kind},
                    "envelope": {"S": envelope_json(id)}
                }
            }
        })
    }

    fn event(records: Vec<serde_json::Value>) -> StreamEvent {
        serde_json::from_value(serde_json::json!({ "Records": records })).expect("event")
    }

    fn topic(fail_on: Option<&str>) -> FakeTopic {
        FakeTopic {
            published: Mutex::new(vec![]),
            fail_on: fail_on.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn publishes_only_outbox_inserts_in_order() {
        let t = topic(None);
        let n = relay(
            &t,
            event(vec![
                record("INSERT", "outbox", "e1"),
                record("MODIFY", "outbox", "e2"),
                record("INSERT", "user", "e3"),
                record("INSERT", "outbox", "e4"),
            ]),
        )
        .await
        .expect("relays");
        assert_eq!(n, 2);
        assert_eq!(*t.published.lock().expect("lock"), vec!["e1", "e4"]);
    }

    #[tokio::test]
    async fn a_publish_failure_fails_the_batch_so_it_is_retried() {
        let t = topic(Some("e2"));
        let result = relay(
            &t,
            event(vec![
                record("INSERT", "outbox", "e1"),
                record("INSERT", "outbox", "e2"),
                record("INSERT", "outbox", "e3"),
            ]),
        )
        .await;
        assert!(result.is_err());
        // Nothing after the failure went out of order.
        assert_eq!(*t.published.lock().expect("lock"), vec!["e1"]);
    }

    #[tokio::test]
    async fn a_corrupt_outbox_item_is_an_error_not_a_silent_drop() {
        let mut bad = record("INSERT", "outbox", "e1");
        bad["dynamodb"]["NewImage"]["envelope"]["S"] = serde_json::json!("{not json");
        assert!(relay(&topic(None), event(vec![bad])).await.is_err());
    }
}
