//! The contacts projection: `user.registered` -> the user's address and
//! name, stored for the consumers of events that carry only a user id.

use anyhow::Context;
use consumer_kit::{EventHandler, HandlerError};
use contracts::EventEnvelope;
use contracts::events::UserRegistered;
use notifications::{Contact, ContactStore};

pub const CONSUMER_NAME: &str = "notifications-contacts";

pub struct ContactsProjection<C> {
    contacts: C,
}

impl<C: ContactStore> ContactsProjection<C> {
    pub fn new(contacts: C) -> Self {
        Self { contacts }
    }
}

impl<C: ContactStore> EventHandler for ContactsProjection<C> {
    type Input = EventEnvelope<UserRegistered>;

    async fn handle(&self, event: Self::Input) -> Result<(), HandlerError> {
        let user = event.data;
        let user_id = user.user_id;
        self.contacts
            .put(&Contact {
                user_id,
                email: user.email,
                name: user.name,
                as_of: event.occurred_at,
            })
            .await
            .context("storing the contact")?;
        tracing::info!(%user_id, "contact stored");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use contracts::{CorrelationId, Email, PersonName, UserId};
    use notifications::InMemoryContactStore;
    use time::macros::datetime;

    use super::*;

    fn registered() -> EventEnvelope<UserRegistered> {
        EventEnvelope::new(
            UserRegistered {
                user_id: UserId::new(),
                email: Email::parse("ada@example.com").expect("email"),
                name: PersonName::parse("Ada").expect("name"),
                registered_at: datetime!(2026-11-21 10:00 UTC),
            },
            CorrelationId::new(),
            datetime!(2026-11-21 10:00 UTC),
        )
    }

    #[tokio::test]
    async fn stores_the_address_and_name_of_a_new_user() {
        let store = InMemoryContactStore::new();
        let projection = ContactsProjection::new(store.clone());
        let event = registered();

        projection.handle(event.clone()).await.expect("handled");

        let contact = store
            .get(event.data.user_id)
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(contact.email, event.data.email);
        assert_eq!(contact.name, event.data.name);
        assert_eq!(contact.as_of, event.occurred_at);
    }

    #[tokio::test]
    async fn a_redelivered_event_leaves_one_contact() {
        let store = InMemoryContactStore::new();
        let projection = ContactsProjection::new(store.clone());
        let event = registered();

        projection.handle(event.clone()).await.expect("first");
        projection.handle(event).await.expect("second");

        assert_eq!(store.all().len(), 1);
    }

    struct Down;

    impl ContactStore for Down {
        async fn put(&self, _: &Contact) -> anyhow::Result<()> {
            anyhow::bail!("table unavailable")
        }
        async fn get(&self, _: UserId) -> anyhow::Result<Option<Contact>> {
            anyhow::bail!("table unavailable")
        }
    }

    #[tokio::test]
    async fn a_storage_failure_is_retryable() {
        let result = ContactsProjection::new(Down).handle(registered()).await;
        assert!(
            matches!(result, Err(HandlerError::Retryable(_))),
            "{result:?}"
        );
    }
}
