//! The first fan-out: `user.registered` travels identity table -> stream ->
//! outbox relay -> SNS -> one SQS queue per consumer -> consumer Lambdas.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{Item, Stack, attr as s, eventually, send_to_queue, stack, synthetic_registration};

const WAIT: Duration = Duration::from_secs(60);
/// Poison needs `maxReceiveCount` visibility timeouts to reach the DLQ.
const DLQ_WAIT: Duration = Duration::from_secs(180);

/// The user's welcome e-mail log entries (registration also logs a Discord
/// delivery, on its own channel).
async fn deliveries(stack: &Stack, user_id: &str) -> Vec<Item> {
    stack.deliveries(user_id, "email").await
}

async fn analytics_item(stack: &Stack, pk: &str, sk: &str) -> Option<Item> {
    stack
        .dynamo
        .get_item()
        .table_name(stack.output("AnalyticsTableName"))
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get analytics item")
        .item
}

/// A daily aggregate: partition `STATS#<yyyy-mm>`, sort key `<date>#<metric>`.
async fn stat(stack: &Stack, date: &str, metric: &str) -> Option<Item> {
    let month = date.get(..7).unwrap_or_default();
    analytics_item(
        stack,
        &format!("STATS#{month}"),
        &format!("{date}#{metric}"),
    )
    .await
}

async fn object(stack: &Stack, bucket: &str, key: &str) -> Option<String> {
    let out = stack
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    let bytes = out.body.collect().await.ok()?.into_bytes();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn day(occurred_at: &str) -> String {
    occurred_at.get(..10).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_registration_reaches_both_consumers() {
    let st = stack().await;
    let user = st.new_user().await;

    let delivery = eventually("the welcome e-mail delivery log entry", WAIT, || async {
        deliveries(&st, &user.id).await.into_iter().next()
    })
    .await;
    assert_eq!(s(&delivery, "status"), "sent");
    assert_eq!(s(&delivery, "recipient"), user.email);
    let body = object(
        &st,
        st.output("NotificationsBucketName"),
        &s(&delivery, "body_key"),
    )
    .await
    .expect("rendered body archived in S3");
    assert!(body.contains("Welcome"), "{body}");

    let event_id = s(&delivery, "event_id");
    let date = day(&s(&delivery, "at"));
    let key = format!("events/type=user.registered/date={date}/{event_id}.jsonl");
    let line = eventually("the archived event", WAIT, || async {
        object(&st, st.output("AnalyticsBucketName"), &key).await
    })
    .await;
    assert!(line.ends_with('\n'));
    let archived: serde_json::Value = serde_json::from_str(line.trim_end()).expect("json line");
    assert_eq!(archived["type"], "user.registered");
    assert_eq!(archived["data"]["user_id"], user.id.as_str());

    eventually("the registration to be counted", WAIT, || async {
        analytics_item(&st, &format!("SEEN#{event_id}"), "event").await
    })
    .await;
    let counter = stat(&st, &date, "registrations")
        .await
        .expect("daily counter");
    let count: u64 = counter
        .get("total")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(count >= 1);
}

#[tokio::test]
async fn a_message_delivered_twice_has_one_effect() {
    let st = stack().await;
    let (event, day) = synthetic_registration();
    let user_id = event.data.user_id.to_string();
    let event_id = event.id.to_string();
    let body = serde_json::to_string(&event).expect("json");

    for queue in ["WelcomeEmailQueueUrl", "AnalyticsEventsQueueUrl"] {
        send_to_queue(&st, queue, &body).await;
        send_to_queue(&st, queue, &body).await;
    }

    eventually("both copies to be consumed", WAIT, || async {
        let done = !deliveries(&st, &user_id).await.is_empty()
            && analytics_item(&st, &format!("SEEN#{event_id}"), "event")
                .await
                .is_some();
        done.then_some(())
    })
    .await;
    // Both copies have been handled once neither queue holds anything any
    // more. The poison test shares these queues and its messages stay until
    // they are moved to the DLQ, hence the longer wait.
    eventually("the queues to drain", DLQ_WAIT, || async {
        (st.queue_drained("WelcomeEmailQueueUrl").await
            && st.queue_drained("AnalyticsEventsQueueUrl").await)
            .then_some(())
    })
    .await;

    assert_eq!(
        deliveries(&st, &user_id).await.len(),
        1,
        "one welcome e-mail logged"
    );
    let counter = stat(&st, &day, "registrations").await.expect("counter");
    assert_eq!(
        counter
            .get("total")
            .and_then(|v| v.as_n().ok())
            .map(String::as_str),
        Some("1"),
        "the day's registration counted once"
    );
    let archived = object(
        &st,
        st.output("AnalyticsBucketName"),
        &format!("events/type=user.registered/date={day}/{event_id}.jsonl"),
    )
    .await
    .expect("archived once");
    assert_eq!(archived.lines().count(), 1);

    let recipient = event.data.email.to_string();
    let to_recipient = st.emails_to(&recipient).await.len();
    assert_eq!(to_recipient, 1, "one e-mail sent");
}

#[tokio::test]
async fn poison_messages_end_in_their_consumers_dlq_and_nothing_else_breaks() {
    let st = stack().await;
    let marker = format!("poison-{}", uuid::Uuid::new_v4());
    send_to_queue(
        &st,
        "WelcomeEmailQueueUrl",
        &format!("{{\"not\": \"an event\", \"marker\": \"{marker}\"}}"),
    )
    .await;
    send_to_queue(&st, "AnalyticsEventsQueueUrl", &format!("garbage {marker}")).await;

    // While the poison is being retried, good messages keep flowing.
    let user = st.new_user().await;
    eventually(
        "a welcome e-mail for a user registered meanwhile",
        WAIT,
        || async { deliveries(&st, &user.id).await.into_iter().next() },
    )
    .await;

    eventually("the poison in the welcome-email DLQ", DLQ_WAIT, || {
        st.dlq_holds("WelcomeEmailDLQUrl", &marker)
    })
    .await;
    eventually("the poison in the analytics DLQ", DLQ_WAIT, || {
        st.dlq_holds("AnalyticsEventsDLQUrl", &marker)
    })
    .await;
}
