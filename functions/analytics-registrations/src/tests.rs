use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use contracts::{CorrelationId, Email, PersonName, RawEnvelope, UserId};
use time::macros::{date, datetime};

use super::*;

fn registered_at(at: OffsetDateTime) -> EventEnvelope<UserRegistered> {
    EventEnvelope::new(
        UserRegistered {
            user_id: UserId::new(),
            email: Email::parse("ada@example.com").expect("valid"),
            name: PersonName::parse("Ada").expect("valid"),
            registered_at: at,
        },
        CorrelationId::new(),
        at,
    )
}

fn handler() -> (
    RegistrationAnalytics<InMemoryRegistrationCounter, InMemoryEventArchive>,
    InMemoryRegistrationCounter,
    InMemoryEventArchive,
) {
    let counter = InMemoryRegistrationCounter::new();
    let archive = InMemoryEventArchive::new();
    (
        RegistrationAnalytics::new(counter.clone(), archive.clone()),
        counter,
        archive,
    )
}

#[tokio::test]
async fn the_same_event_twice_counts_once() {
    let (handler, counter, archive) = handler();
    let event = registered_at(datetime!(2026-11-21 10:00 UTC));

    handler.handle(event.clone()).await.expect("first");
    handler.handle(event).await.expect("second");

    assert_eq!(counter.registrations(date!(2026 - 11 - 21)), 1);
    assert_eq!(archive.objects().len(), 1);
}

#[tokio::test]
async fn two_events_on_one_day_count_two() {
    let (handler, counter, _) = handler();

    handler
        .handle(registered_at(datetime!(2026-11-21 00:00 UTC)))
        .await
        .expect("first");
    handler
        .handle(registered_at(datetime!(2026-11-21 23:59:59 UTC)))
        .await
        .expect("second");
    handler
        .handle(registered_at(datetime!(2026-11-22 00:00 UTC)))
        .await
        .expect("next day");

    assert_eq!(counter.registrations(date!(2026 - 11 - 21)), 2);
    assert_eq!(counter.registrations(date!(2026 - 11 - 22)), 1);
}

#[tokio::test]
async fn the_day_is_the_utc_date_of_the_event() {
    let (handler, counter, archive) = handler();
    let event = registered_at(datetime!(2026-11-22 00:30 +01:00));

    handler.handle(event.clone()).await.expect("handled");

    assert_eq!(counter.registrations(date!(2026 - 11 - 21)), 1);
    let key = format!(
        "events/type=user.registered/date=2026-11-21/{}.jsonl",
        event.id
    );
    assert!(
        archive.objects().contains_key(&key),
        "{:?}",
        archive.objects()
    );
}

#[test]
fn archive_key_is_partitioned_by_type_and_date() {
    let id: EventId = serde_json::from_str("\"0197a0b2-7c1e-7000-8000-000000000001\"").expect("id");
    assert_eq!(
        archive_key(&id, date!(2026 - 01 - 05)).expect("key"),
        "events/type=user.registered/date=2026-01-05/0197a0b2-7c1e-7000-8000-000000000001.jsonl"
    );
    let evil: EventId = serde_json::from_str("\"../../x\"").expect("any string is an id");
    assert!(archive_key(&evil, date!(2026 - 01 - 05)).is_err());
}

#[tokio::test]
async fn the_archived_line_is_the_envelope_json_and_a_newline() {
    let (handler, _, archive) = handler();
    let event = registered_at(datetime!(2026-11-21 10:00 UTC));

    handler.handle(event.clone()).await.expect("handled");

    let objects = archive.objects();
    let body = objects.values().next().expect("one object");
    let text = std::str::from_utf8(body).expect("utf-8");
    let json = text.strip_suffix('\n').expect("ends with a newline");
    assert!(!json.contains('\n'), "exactly one line: {text:?}");
    let raw: RawEnvelope = serde_json::from_str(json).expect("an envelope");
    assert_eq!(raw.decode::<UserRegistered>().expect("typed"), event);
}

#[tokio::test]
async fn an_event_id_unfit_for_a_key_is_permanent_and_not_counted() {
    let (handler, counter, _) = handler();
    let mut event = registered_at(datetime!(2026-11-21 10:00 UTC));
    event.id = serde_json::from_str("\"a/b\"").expect("any string is an id");

    let result = handler.handle(event).await;

    assert!(
        matches!(result, Err(HandlerError::Permanent(_))),
        "{result:?}"
    );
    assert_eq!(counter.registrations(date!(2026 - 11 - 21)), 0);
}

#[test]
fn config_reads_table_and_bucket() {
    let env = Env::from_pairs(&[("TABLE_NAME", "analytics"), ("BUCKET_NAME", "archive")]);
    assert_eq!(
        Config::from_env(&env),
        Ok(Config {
            table_name: "analytics".into(),
            bucket_name: "archive".into(),
        })
    );
    let env = Env::from_pairs(&[("TABLE_NAME", "analytics")]);
    assert_eq!(
        Config::from_env(&env),
        Err(ConfigError::Missing("BUCKET_NAME"))
    );
}

fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
    let mut e = TransactionCanceledException::builder().message("Transaction cancelled");
    for code in codes {
        e = e.cancellation_reasons(CancellationReason::builder().code(*code).build());
    }
    TransactWriteItemsError::TransactionCanceledException(e.build())
}

fn s_attr<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

#[tokio::test]
async fn dynamo_counter_writes_marker_and_increment_in_one_transaction() {
    let seen: Arc<Mutex<Option<TransactWriteItemsInput>>> = Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            *capture.lock().expect("lock") = Some(req.clone());
            true
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let counter = DynamoRegistrationCounter::new(client, "analytics".into());
    let id: EventId = serde_json::from_str("\"e-1\"").expect("id");

    let counted = counter
        .count(&id, date!(2026 - 11 - 21))
        .await
        .expect("counted");

    assert_eq!(counted, Counted::Counted);
    let input = seen
        .lock()
        .expect("lock")
        .clone()
        .expect("request captured");
    let items = input.transact_items();
    assert_eq!(items.len(), 2);

    let put = items[0].put().expect("marker put");
    assert_eq!(put.table_name(), "analytics");
    assert_eq!(s_attr(put.item(), "pk"), Some("SEEN#e-1"));
    assert_eq!(s_attr(put.item(), "sk"), Some("registrations"));
    assert_eq!(put.condition_expression(), Some("attribute_not_exists(pk)"));
    let Some(AttributeValue::N(expires)) = put.item().get("expires_at") else {
        panic!("marker has no numeric expires_at");
    };
    let expires: i64 = expires.parse().expect("epoch seconds");
    let in_30_days = (OffsetDateTime::now_utc() + MARKER_TTL).unix_timestamp();
    assert!((in_30_days - expires).abs() < 60, "{expires}");

    let update = items[1].update().expect("counter update");
    assert_eq!(update.table_name(), "analytics");
    assert_eq!(s_attr(update.key(), "pk"), Some("DAY#2026-11-21"));
    assert_eq!(s_attr(update.key(), "sk"), Some("registrations"));
    assert_eq!(update.update_expression(), "ADD registrations :one");
    assert_eq!(
        update
            .expression_attribute_values()
            .and_then(|v| v.get(":one")),
        Some(&AttributeValue::N("1".into()))
    );
}

#[tokio::test]
async fn dynamo_counter_treats_an_existing_marker_as_already_counted() {
    let rule = mock!(Client::transact_write_items)
        .then_error(|| cancelled(&["ConditionalCheckFailed", "None"]));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let counter = DynamoRegistrationCounter::new(client, "analytics".into());
    let id: EventId = serde_json::from_str("\"e-1\"").expect("id");

    let counted = counter
        .count(&id, date!(2026 - 11 - 21))
        .await
        .expect("not an error");

    assert_eq!(counted, Counted::AlreadyCounted);
}

#[tokio::test]
async fn dynamo_counter_reports_other_cancellations_as_errors() {
    let rule = mock!(Client::transact_write_items)
        .then_error(|| cancelled(&["None", "TransactionConflict"]));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let counter = DynamoRegistrationCounter::new(client, "analytics".into());
    let id: EventId = serde_json::from_str("\"e-1\"").expect("id");

    let result = counter.count(&id, date!(2026 - 11 - 21)).await;

    assert!(result.is_err(), "{result:?}");
}
