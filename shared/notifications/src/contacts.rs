//! The contacts projection: each user's address and name, kept from
//! `user.registered` by the `notifications-contacts` consumer, for
//! notifications about events that do not carry them (`wallet.deposited`).
//!
//! Item: `pk = USER#<id>`, `sk = CONTACT`, `{user_id, email, name, updated_at, updated_at_ms}`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use contracts::{Email, PersonName, UserId};
use platform::dynamo::{ConditionFailed, get_s, n, s};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub user_id: UserId,
    pub email: Email,
    pub name: PersonName,
    /// When the facts were true (the source event's time): an older event
    /// arriving late never overwrites a newer contact.
    pub as_of: OffsetDateTime,
}

pub trait ContactStore: Send + Sync {
    fn put(&self, contact: &Contact) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn get(&self, user_id: UserId) -> impl Future<Output = anyhow::Result<Option<Contact>>> + Send;
}

#[derive(Clone)]
pub struct DynamoContactStore {
    client: Client,
    table: String,
}

impl DynamoContactStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

fn key(user_id: UserId) -> HashMap<String, AttributeValue> {
    [
        ("pk".to_owned(), s(format!("USER#{user_id}"))),
        ("sk".to_owned(), s("CONTACT")),
    ]
    .into_iter()
    .collect()
}

fn millis(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}

impl ContactStore for DynamoContactStore {
    async fn put(&self, contact: &Contact) -> anyhow::Result<()> {
        let mut item = key(contact.user_id);
        item.insert("entity".into(), s("contact"));
        item.insert("user_id".into(), s(contact.user_id.to_string()));
        item.insert("email".into(), s(contact.email.as_str()));
        item.insert("name".into(), s(contact.name.as_str()));
        item.insert("updated_at".into(), s(contact.as_of.format(&Rfc3339)?));
        item.insert("updated_at_ms".into(), n(millis(contact.as_of)));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR updated_at_ms <= :at")
            .expression_attribute_values(":at", n(millis(contact.as_of)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A newer contact is stored already: this event is history.
            Err(e) if e.is_condition_failed() => Ok(()),
            Err(e) => Err(anyhow::anyhow!(
                "storing the contact: {}",
                DisplayErrorContext(e)
            )),
        }
    }

    async fn get(&self, user_id: UserId) -> anyhow::Result<Option<Contact>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(user_id)))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("reading the contact: {}", DisplayErrorContext(e)))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        Ok(Some(Contact {
            user_id,
            email: Email::parse(get_s(&item, "email")?).map_err(anyhow::Error::msg)?,
            name: PersonName::parse(get_s(&item, "name")?).map_err(anyhow::Error::msg)?,
            as_of: OffsetDateTime::parse(get_s(&item, "updated_at")?, &Rfc3339)?,
        }))
    }
}

/// Same newest-wins rule as the DynamoDB adapter. Clones share their state.
#[derive(Clone, Default)]
pub struct InMemoryContactStore {
    contacts: Arc<Mutex<HashMap<UserId, Contact>>>,
}

impl InMemoryContactStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(contact: Contact) -> Self {
        let store = Self::default();
        store.lock().insert(contact.user_id, contact);
        store
    }

    pub fn all(&self) -> Vec<Contact> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Contact>> {
        self.contacts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ContactStore for InMemoryContactStore {
    async fn put(&self, contact: &Contact) -> anyhow::Result<()> {
        let mut contacts = self.lock();
        let newer_exists = contacts
            .get(&contact.user_id)
            .is_some_and(|c| c.as_of > contact.as_of);
        if !newer_exists {
            contacts.insert(contact.user_id, contact.clone());
        }
        Ok(())
    }

    async fn get(&self, user_id: UserId) -> anyhow::Result<Option<Contact>> {
        Ok(self.lock().get(&user_id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput, PutItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use time::macros::datetime;

    use super::*;

    fn contact(name: &str, as_of: OffsetDateTime) -> Contact {
        Contact {
            user_id: UserId::new(),
            email: Email::parse("ada@example.com").expect("email"),
            name: PersonName::parse(name).expect("name"),
            as_of,
        }
    }

    #[tokio::test]
    async fn in_memory_store_keeps_the_newest_contact() {
        let store = InMemoryContactStore::new();
        let newer = contact("Ada L.", datetime!(2026-11-22 10:00 UTC));
        let mut older = newer.clone();
        older.name = PersonName::parse("Ada").expect("name");
        older.as_of = datetime!(2026-11-21 10:00 UTC);

        store.put(&newer).await.expect("put");
        store.put(&older).await.expect("late event");

        assert_eq!(store.get(newer.user_id).await.expect("get"), Some(newer));
        assert_eq!(store.get(UserId::new()).await.expect("get"), None);
    }

    #[tokio::test]
    async fn dynamo_put_is_guarded_by_the_event_time() {
        let seen: Arc<Mutex<Option<PutItemInput>>> = Arc::default();
        let capture = seen.clone();
        let ok = mock!(Client::put_item)
            .match_requests(move |req| {
                *capture.lock().expect("lock") = Some(req.clone());
                true
            })
            .then_output(|| PutItemOutput::builder().build());
        let stale = mock!(Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&ok, &stale]);
        let store = DynamoContactStore::new(client, "notifications".into());
        let c = contact("Ada", datetime!(2026-11-21 10:00:00.250 UTC));

        store.put(&c).await.expect("stored");
        store.put(&c).await.expect("a stale write is not an error");

        let input = seen.lock().expect("lock").clone().expect("captured");
        let item = input.item().expect("item");
        assert_eq!(item["pk"].as_s().ok(), Some(&format!("USER#{}", c.user_id)));
        assert_eq!(item["sk"].as_s().ok().map(String::as_str), Some("CONTACT"));
        assert_eq!(
            item["email"].as_s().ok().map(String::as_str),
            Some("ada@example.com")
        );
        assert_eq!(
            item["updated_at_ms"].as_n().ok().map(String::as_str),
            Some("1795255200250")
        );
        assert_eq!(
            input.condition_expression(),
            Some("attribute_not_exists(pk) OR updated_at_ms <= :at")
        );
    }

    #[tokio::test]
    async fn dynamo_get_parses_the_item() {
        let found = mock!(Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item("email", AttributeValue::S("ada@example.com".into()))
                .item("name", AttributeValue::S("Ada".into()))
                .item(
                    "updated_at",
                    AttributeValue::S("2026-11-21T10:00:00Z".into()),
                )
                .build()
        });
        let missing = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&found, &missing]);
        let store = DynamoContactStore::new(client, "notifications".into());
        let id = UserId::new();

        let c = store.get(id).await.expect("read").expect("found");
        assert_eq!(c.name.as_str(), "Ada");
        assert_eq!(c.user_id, id);
        assert_eq!(store.get(id).await.expect("read"), None);
    }
}
