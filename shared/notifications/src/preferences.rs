//! Per-user channel opt-outs. Every channel is on until the user turns it
//! off; every consumer asks before sending.
//!
//! Item: `pk = USER#<id>`, `sk = PREFERENCES`, `{email, discord, sms, push: BOOL, updated_at}`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use contracts::UserId;
use platform::dynamo::{Item, s};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::delivery_log::Channel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Preferences {
    pub email: bool,
    pub discord: bool,
    pub sms: bool,
    pub push: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            email: true,
            discord: true,
            sms: true,
            push: true,
        }
    }
}

impl Preferences {
    pub fn allows(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email,
            Channel::Discord => self.discord,
            Channel::Sms => self.sms,
            Channel::Push => self.push,
        }
    }

    fn apply(&mut self, update: &PreferencesUpdate) {
        for (channel, value) in update.changes() {
            match channel {
                Channel::Email => self.email = value,
                Channel::Discord => self.discord = value,
                Channel::Sms => self.sms = value,
                Channel::Push => self.push = value,
            }
        }
    }
}

/// The channels a request changes; the others keep their value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PreferencesUpdate {
    pub email: Option<bool>,
    pub discord: Option<bool>,
    pub sms: Option<bool>,
    pub push: Option<bool>,
}

impl PreferencesUpdate {
    pub fn changes(&self) -> Vec<(Channel, bool)> {
        [
            (Channel::Email, self.email),
            (Channel::Discord, self.discord),
            (Channel::Sms, self.sms),
            (Channel::Push, self.push),
        ]
        .into_iter()
        .filter_map(|(c, v)| v.map(|v| (c, v)))
        .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.changes().is_empty()
    }

    /// Sets one channel by its name; `false` for an unknown name.
    pub fn set(&mut self, channel: &str, value: bool) -> bool {
        let slot = match channel {
            "email" => &mut self.email,
            "discord" => &mut self.discord,
            "sms" => &mut self.sms,
            "push" => &mut self.push,
            _ => return false,
        };
        *slot = Some(value);
        true
    }
}

pub trait PreferenceStore: Send + Sync {
    /// The user's preferences; defaults when the user never changed any.
    fn get(&self, user_id: UserId) -> impl Future<Output = anyhow::Result<Preferences>> + Send;

    /// Applies `update` atomically (only the named channels are written, so
    /// two concurrent updates of different channels both stick) and returns
    /// the full result.
    fn update(
        &self,
        user_id: UserId,
        update: &PreferencesUpdate,
        now: OffsetDateTime,
    ) -> impl Future<Output = anyhow::Result<Preferences>> + Send;
}

#[derive(Clone)]
pub struct DynamoPreferenceStore {
    client: Client,
    table: String,
}

impl DynamoPreferenceStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

fn key(user_id: UserId) -> HashMap<String, AttributeValue> {
    [
        ("pk".to_owned(), s(format!("USER#{user_id}"))),
        ("sk".to_owned(), s("PREFERENCES")),
    ]
    .into_iter()
    .collect()
}

fn from_item(item: &Item) -> anyhow::Result<Preferences> {
    let flag = |name: &str| -> anyhow::Result<bool> {
        match item.get(name) {
            None => Ok(true),
            Some(AttributeValue::Bool(b)) => Ok(*b),
            Some(_) => Err(anyhow::anyhow!("stored preference {name} is not a boolean")),
        }
    };
    Ok(Preferences {
        email: flag("email")?,
        discord: flag("discord")?,
        sms: flag("sms")?,
        push: flag("push")?,
    })
}

impl PreferenceStore for DynamoPreferenceStore {
    async fn get(&self, user_id: UserId) -> anyhow::Result<Preferences> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(user_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "reading notification preferences: {}",
                    DisplayErrorContext(e)
                )
            })?;
        out.item
            .as_ref()
            .map_or(Ok(Preferences::default()), from_item)
    }

    async fn update(
        &self,
        user_id: UserId,
        update: &PreferencesUpdate,
        now: OffsetDateTime,
    ) -> anyhow::Result<Preferences> {
        let mut sets = vec![
            "entity = :entity".to_owned(),
            "user_id = :user_id".to_owned(),
            "updated_at = :now".to_owned(),
        ];
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_id)))
            .expression_attribute_values(":entity", s("preferences"))
            .expression_attribute_values(":user_id", s(user_id.to_string()))
            .expression_attribute_values(":now", s(now.format(&Rfc3339)?))
            .return_values(ReturnValue::AllNew);
        for (channel, value) in update.changes() {
            sets.push(format!("#{channel} = :{channel}"));
            request = request
                .expression_attribute_names(format!("#{channel}"), channel.as_str())
                .expression_attribute_values(format!(":{channel}"), AttributeValue::Bool(value));
        }
        let out = request
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "updating notification preferences: {}",
                    DisplayErrorContext(e)
                )
            })?;
        out.attributes.as_ref().map_or_else(
            || Err(anyhow::anyhow!("the update returned no item")),
            from_item,
        )
    }
}

/// Clones share their state.
#[derive(Clone, Default)]
pub struct InMemoryPreferenceStore {
    prefs: Arc<Mutex<HashMap<UserId, Preferences>>>,
}

impl InMemoryPreferenceStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store where `user_id` has opted out of `channel`.
    pub fn opted_out(user_id: UserId, channel: Channel) -> Self {
        let store = Self::default();
        let mut update = PreferencesUpdate::default();
        update.set(channel.as_str(), false);
        let mut prefs = Preferences::default();
        prefs.apply(&update);
        store.lock().insert(user_id, prefs);
        store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Preferences>> {
        self.prefs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PreferenceStore for InMemoryPreferenceStore {
    async fn get(&self, user_id: UserId) -> anyhow::Result<Preferences> {
        Ok(self.lock().get(&user_id).copied().unwrap_or_default())
    }

    async fn update(
        &self,
        user_id: UserId,
        update: &PreferencesUpdate,
        _now: OffsetDateTime,
    ) -> anyhow::Result<Preferences> {
        let mut prefs = self.lock();
        let entry = prefs.entry(user_id).or_default();
        entry.apply(update);
        Ok(*entry)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use time::macros::datetime;

    use super::*;

    #[test]
    fn everything_is_allowed_by_default() {
        let p = Preferences::default();
        for c in [
            Channel::Email,
            Channel::Discord,
            Channel::Sms,
            Channel::Push,
        ] {
            assert!(p.allows(c), "{c}");
        }
    }

    #[tokio::test]
    async fn in_memory_updates_touch_only_the_named_channels() {
        let store = InMemoryPreferenceStore::new();
        let user = UserId::new();
        let now = OffsetDateTime::now_utc();
        let mut first = PreferencesUpdate::default();
        first.set("email", false);
        let mut second = PreferencesUpdate::default();
        second.set("push", false);

        store.update(user, &first, now).await.expect("update");
        let after = store.update(user, &second, now).await.expect("update");

        assert_eq!(
            after,
            Preferences {
                email: false,
                discord: true,
                sms: true,
                push: false
            }
        );
        assert_eq!(store.get(user).await.expect("get"), after);
        assert_eq!(
            store.get(UserId::new()).await.expect("get"),
            Preferences::default()
        );
    }

    #[test]
    fn updates_know_the_channel_names() {
        let mut u = PreferencesUpdate::default();
        assert!(u.is_empty());
        assert!(u.set("sms", false));
        assert!(!u.set("pigeon", true));
        assert_eq!(u.changes(), vec![(Channel::Sms, false)]);
    }

    #[tokio::test]
    async fn dynamo_update_sets_only_the_given_channels_and_returns_all() {
        let seen: Arc<Mutex<Option<UpdateItemInput>>> = Arc::default();
        let capture = seen.clone();
        let rule = mock!(Client::update_item)
            .match_requests(move |req| {
                *capture.lock().expect("lock") = Some(req.clone());
                true
            })
            .then_output(|| {
                UpdateItemOutput::builder()
                    .attributes("email", AttributeValue::Bool(false))
                    .attributes("sms", AttributeValue::Bool(true))
                    .build()
            });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let store = DynamoPreferenceStore::new(client, "notifications".into());
        let user = UserId::new();
        let mut update = PreferencesUpdate::default();
        update.set("email", false);
        update.set("sms", true);

        let prefs = store
            .update(user, &update, datetime!(2026-11-21 10:00 UTC))
            .await
            .expect("updated");

        assert_eq!(
            prefs,
            Preferences {
                email: false,
                discord: true,
                sms: true,
                push: true
            }
        );
        let input = seen.lock().expect("lock").clone().expect("captured");
        let expr = input.update_expression().expect("expression");
        assert!(expr.contains("#email = :email"), "{expr}");
        assert!(expr.contains("#sms = :sms"), "{expr}");
        assert!(
            !expr.contains("discord") && !expr.contains("push"),
            "{expr}"
        );
        assert_eq!(input.return_values(), Some(&ReturnValue::AllNew));
        let values = input.expression_attribute_values().expect("values");
        assert_eq!(values[":email"], AttributeValue::Bool(false));
        assert_eq!(
            input
                .key()
                .and_then(|k| k["sk"].as_s().ok())
                .map(String::as_str),
            Some("PREFERENCES")
        );
    }

    #[tokio::test]
    async fn dynamo_get_defaults_missing_items_and_attributes() {
        let none = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
        let partial = mock!(Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item("discord", AttributeValue::Bool(false))
                .build()
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&none, &partial]);
        let store = DynamoPreferenceStore::new(client, "notifications".into());
        let user = UserId::new();

        assert_eq!(store.get(user).await.expect("get"), Preferences::default());
        let p = store.get(user).await.expect("get");
        assert!(!p.discord && p.email && p.sms && p.push);
    }
}
