use std::sync::Mutex;

use contracts::{CorrelationId, DomainEvent, EventEnvelope};
use platform::idempotency::InMemoryIdempotencyStore;
use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pinged {
    behaviour: String,
}

impl DomainEvent for Pinged {
    const TYPE: &'static str = "test.pinged";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "tests";
    fn subject(&self) -> String {
        self.behaviour.clone()
    }
}

/// Records every call; the payload says how to behave.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Recorder {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
}

impl EventHandler for &Recorder {
    type Input = EventEnvelope<Pinged>;

    async fn handle(&self, input: Self::Input) -> Result<(), HandlerError> {
        let b = input.data.behaviour;
        self.calls.lock().expect("lock").push(b.clone());
        match b.as_str() {
            "fail" => Err(HandlerError::Retryable(anyhow::anyhow!("dependency down"))),
            "permanent" => Err(HandlerError::Permanent(anyhow::anyhow!("unusable"))),
            "panic" => panic!("handler bug"),
            _ => Ok(()),
        }
    }
}

fn envelope(behaviour: &str) -> String {
    let env = EventEnvelope::new(
        Pinged {
            behaviour: behaviour.into(),
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    );
    serde_json::to_string(&env).expect("serialise")
}

fn message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(body.into());
    m
}

fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = messages;
    e
}

fn settings() -> ConsumerSettings {
    ConsumerSettings {
        name: "test-consumer".into(),
        idempotency_ttl: Duration::hours(1),
        concurrency: 4,
    }
}

fn deadline() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(30)
}

fn sorted(mut ids: Vec<&str>) -> Vec<&str> {
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn all_good_records_succeed() {
    let rec = Recorder::default();
    let consumer = Consumer::new(&rec, InMemoryIdempotencyStore::new(), settings());
    let out = consumer
        .process_batch(
            batch(vec![
                message("m1", &envelope("a")),
                message("m2", &envelope("b")),
            ]),
            deadline(),
            "req",
        )
        .await;
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(rec.calls().len(), 2);
}

#[tokio::test]
async fn one_failing_record_fails_alone() {
    let rec = Recorder::default();
    let consumer = Consumer::new(&rec, InMemoryIdempotencyStore::new(), settings());
    let out = consumer
        .process_batch(
            batch(vec![
                message("m1", &envelope("ok")),
                message("m2", &envelope("fail")),
                message("m3", &envelope("ok")),
                message("m4", &envelope("permanent")),
            ]),
            deadline(),
            "req",
        )
        .await;
    assert_eq!(sorted(out.failed_ids()), vec!["m2", "m4"]);
    assert_eq!(rec.calls().len(), 4);
}

#[tokio::test]
async fn undecodable_and_mismatched_records_are_reported_not_dropped() {
    let rec = Recorder::default();
    let consumer = Consumer::new(&rec, InMemoryIdempotencyStore::new(), settings());
    let wrong_type = envelope("ok").replace("test.pinged", "test.other");
    let bad_data = envelope("ok").replace("\"behaviour\"", "\"unexpected\"");
    let mut no_body = SqsMessage::default();
    no_body.message_id = Some("m5".into());
    let out = consumer
        .process_batch(
            batch(vec![
                message("m1", "this is not json"),
                message("m2", &wrong_type),
                message("m3", &bad_data),
                message("m4", &envelope("ok")),
                no_body,
            ]),
            deadline(),
            "req",
        )
        .await;
    assert_eq!(sorted(out.failed_ids()), vec!["m1", "m2", "m3", "m5"]);
    assert_eq!(rec.calls(), vec!["ok".to_owned()]);
}

#[tokio::test]
async fn a_panic_fails_only_its_record_and_releases_the_claim() {
    let rec = Recorder::default();
    let store = InMemoryIdempotencyStore::new();
    let consumer = Consumer::new(&rec, store, settings());
    let panicking = envelope("panic");
    let out = consumer
        .process_batch(
            batch(vec![
                message("m1", &panicking),
                message("m2", &envelope("ok")),
            ]),
            deadline(),
            "req",
        )
        .await;
    assert_eq!(out.failed_ids(), vec!["m1"]);
    // The retry of the panicking record runs the handler again (the claim was
    // released), rather than being mistaken for a duplicate.
    let retry = consumer
        .process_batch(batch(vec![message("m1", &panicking)]), deadline(), "req")
        .await;
    assert_eq!(retry.failed_ids(), vec!["m1"]);
    assert_eq!(rec.calls().iter().filter(|c| *c == "panic").count(), 2);
}

#[tokio::test]
async fn a_redelivered_event_has_one_effect() {
    let rec = Recorder::default();
    let consumer = Consumer::new(&rec, InMemoryIdempotencyStore::new(), settings());
    let body = envelope("ok");
    let first = consumer
        .process_batch(batch(vec![message("m1", &body)]), deadline(), "req")
        .await;
    // Same event, new SQS message id: how SNS/SQS duplicates arrive.
    let second = consumer
        .process_batch(batch(vec![message("m9", &body)]), deadline(), "req")
        .await;
    assert!(first.batch_item_failures.is_empty());
    assert!(second.batch_item_failures.is_empty());
    assert_eq!(rec.calls().len(), 1);
}

#[tokio::test]
async fn duplicates_in_one_batch_run_once() {
    let rec = Recorder::default();
    let mut s = settings();
    s.concurrency = 1;
    let consumer = Consumer::new(&rec, InMemoryIdempotencyStore::new(), s);
    let body = envelope("ok");
    let out = consumer
        .process_batch(
            batch(vec![message("m1", &body), message("m2", &body)]),
            deadline(),
            "req",
        )
        .await;
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(rec.calls().len(), 1);
}

#[tokio::test]
async fn a_failed_record_is_processed_again_on_retry() {
    let rec = Recorder::default();
    let consumer = Consumer::new(&rec, InMemoryIdempotencyStore::new(), settings());
    let body = envelope("fail");
    for _ in 0..3 {
        let out = consumer
            .process_batch(batch(vec![message("m1", &body)]), deadline(), "req")
            .await;
        assert_eq!(out.failed_ids(), vec!["m1"]);
    }
    assert_eq!(rec.calls().len(), 3);
}

#[tokio::test]
async fn an_event_held_by_another_invocation_is_retried_later() {
    let rec = Recorder::default();
    let store = InMemoryIdempotencyStore::new();
    let body = envelope("ok");
    let raw = envelope_from_body(Some(&body)).expect("decodes");
    let now = OffsetDateTime::now_utc();
    store
        .claim(ClaimRequest {
            key: &format!("test-consumer#{}", raw.id),
            payload_hash: "x",
            now,
            in_progress_until: now + Duration::seconds(60),
            expires_at: now + Duration::hours(1),
        })
        .await
        .expect("claim");
    let consumer = Consumer::new(&rec, store, settings());
    let out = consumer
        .process_batch(batch(vec![message("m1", &body)]), deadline(), "req")
        .await;
    assert_eq!(out.failed_ids(), vec!["m1"]);
    assert!(rec.calls().is_empty());
}

/// A store that is down: every record must fail (and be retried), none may
/// run without its idempotency guard.
struct BrokenStore;

impl IdempotencyStore for BrokenStore {
    async fn claim(&self, _: ClaimRequest<'_>) -> anyhow::Result<Claim> {
        Err(anyhow::anyhow!("table unreachable"))
    }
    async fn complete(&self, _: &str, _: Option<&str>, _: OffsetDateTime) -> anyhow::Result<()> {
        Err(anyhow::anyhow!("table unreachable"))
    }
    async fn release(&self, _: &str) -> anyhow::Result<()> {
        Err(anyhow::anyhow!("table unreachable"))
    }
}

#[tokio::test]
async fn store_outage_fails_records_without_running_them() {
    let rec = Recorder::default();
    let consumer = Consumer::new(&rec, BrokenStore, settings());
    let out = consumer
        .process_batch(
            batch(vec![
                message("m1", &envelope("ok")),
                message("m2", &envelope("ok")),
            ]),
            deadline(),
            "req",
        )
        .await;
    assert_eq!(sorted(out.failed_ids()), vec!["m1", "m2"]);
    assert!(rec.calls().is_empty());
}

#[tokio::test]
async fn sns_wrapped_messages_are_unwrapped() {
    let rec = Recorder::default();
    let consumer = Consumer::new(&rec, InMemoryIdempotencyStore::new(), settings());
    let wrapped =
        serde_json::json!({"Type": "Notification", "Message": envelope("ok")}).to_string();
    let out = consumer
        .process_batch(batch(vec![message("m1", &wrapped)]), deadline(), "req")
        .await;
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(rec.calls(), vec!["ok".to_owned()]);
}

#[test]
fn response_serialises_in_the_lambda_wire_format() {
    let response = BatchResponse {
        batch_item_failures: vec![ItemFailure {
            item_identifier: "m1".into(),
        }],
    };
    assert_eq!(
        serde_json::to_value(&response).expect("json"),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m1"}]})
    );
}
