//! Transactional outbox. A state change and the event announcing it are
//! written in one DynamoDB transaction: the event is an item in the service's
//! own table, and the table's stream feeds the relay function that publishes
//! it to SNS. Either both are stored or neither is; nothing is lost between a
//! successful write and a failed publish.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use contracts::RawEnvelope;
use time::{Duration, OffsetDateTime};

use crate::dynamo::{Item, n, s};

/// Value of the `kind` attribute that marks outbox items; the relay's event
/// filter and its own check both key on it.
pub const OUTBOX_KIND: &str = "outbox";
/// Outbox items are only needed until the stream has delivered them (stream
/// records live 24 hours); TTL removes them afterwards.
const RETENTION: Duration = Duration::days(2);

pub fn outbox_item(envelope: &RawEnvelope, now: OffsetDateTime) -> Result<Item, serde_json::Error> {
    let body = serde_json::to_string(envelope)?;
    Ok([
        ("pk".to_owned(), s(format!("OUTBOX#{}", envelope.id))),
        ("sk".to_owned(), s("OUTBOX")),
        ("kind".to_owned(), s(OUTBOX_KIND)),
        ("event_type".to_owned(), s(envelope.event_type.clone())),
        ("envelope".to_owned(), s(body)),
        (
            "expires_at".to_owned(),
            n((now + RETENTION).unix_timestamp()),
        ),
    ]
    .into_iter()
    .collect())
}

/// The transaction action that records `envelope` for publication.
pub fn outbox_put(
    table: &str,
    envelope: &RawEnvelope,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(outbox_item(envelope, now)?))
        // Event ids are unique; the condition guards against an id collision
        // overwriting an unpublished event.
        .condition_expression("attribute_not_exists(pk)")
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::get_s;
    use contracts::events::UserRegistered;
    use contracts::{CorrelationId, Email, EventEnvelope, PersonName, UserId};

    #[test]
    fn outbox_item_holds_the_whole_envelope() {
        let now = time::macros::datetime!(2026-11-21 10:00 UTC);
        let env = EventEnvelope::new(
            UserRegistered {
                user_id: UserId::new(),
                email: Email::parse("a@example.com").expect("valid"),
                name: PersonName::parse("A").expect("valid"),
                registered_at: now,
            },
            CorrelationId::new(),
            now,
        )
        .into_raw()
        .expect("raw");
        let item = outbox_item(&env, now).expect("item");
        assert_eq!(get_s(&item, "kind").ok(), Some(OUTBOX_KIND));
        assert_eq!(get_s(&item, "event_type").ok(), Some("user.registered"));
        let stored: RawEnvelope =
            serde_json::from_str(get_s(&item, "envelope").expect("body")).expect("json");
        assert_eq!(stored, env);
    }
}
