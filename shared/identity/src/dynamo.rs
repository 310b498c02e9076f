//! DynamoDB adapter of the identity store (single table, string keys
//! `pk`/`sk`, TTL attribute `expires_at`, GSI `gsi1` for listing users).
//!
//! | item            | pk                    | sk         |
//! |-----------------|-----------------------|------------|
//! | user            | `USER#<id>`           | `PROFILE`  |
//! | e-mail claim    | `EMAIL#<email>`       | `EMAIL`    |
//! | refresh token   | `REFRESH#<sha256>`    | `REFRESH`  |
//! | token family    | `FAMILY#<id>`         | `FAMILY`   |
//! | login failures  | `RATE#<key>`          | `<window>` |
//! | outbox event    | `OUTBOX#<event id>`   | `OUTBOX`   |

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, TransactWriteItem, Update,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use contracts::{Email, PersonName, RawEnvelope, Role, UserId};
use platform::dynamo::{ConditionFailed, Item, get_n, get_s, get_ss, n, s};
use platform::outbox::outbox_put;
use security::PasswordHash;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::{Page, RefreshRecord, RefreshStatus, User};
use crate::store::{IdentityStore, StoreError, StoreResult};

#[derive(Clone)]
pub struct DynamoIdentityStore {
    client: Client,
    table: String,
}

fn aws<E>(context: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| StoreError::Other(anyhow::anyhow!("{context}: {}", DisplayErrorContext(e)))
}

fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
    [("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))]
        .into_iter()
        .collect()
}

fn user_pk(id: UserId) -> String {
    format!("USER#{id}")
}

fn rfc3339(t: OffsetDateTime) -> StoreResult<String> {
    t.format(&Rfc3339)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("formatting timestamp: {e}")))
}

fn parse_time(item: &Item, name: &str) -> anyhow::Result<OffsetDateTime> {
    Ok(OffsetDateTime::parse(get_s(item, name)?, &Rfc3339)?)
}

fn user_from_item(item: &Item) -> StoreResult<User> {
    let parse = || -> anyhow::Result<User> {
        Ok(User {
            id: get_s(item, "user_id")?.parse()?,
            email: Email::parse(get_s(item, "email")?).map_err(anyhow::Error::msg)?,
            name: PersonName::parse(get_s(item, "name")?).map_err(anyhow::Error::msg)?,
            roles: get_ss(item, "roles")?
                .iter()
                .map(|r| r.parse::<Role>().map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<_>>()?,
            password_hash: PasswordHash::from_stored(get_s(item, "password_hash")?.to_owned()),
            created_at: parse_time(item, "created_at")?,
            updated_at: parse_time(item, "updated_at")?,
        })
    };
    parse().map_err(|e| StoreError::Other(e.context("reading user item")))
}

fn roles_attr(roles: &[Role]) -> AttributeValue {
    AttributeValue::L(roles.iter().map(|r| s(r.as_str())).collect())
}

fn refresh_item(r: &RefreshRecord) -> Item {
    let mut item = key(format!("REFRESH#{}", r.fingerprint), "REFRESH");
    item.insert("user_id".into(), s(r.user_id.to_string()));
    item.insert("family_id".into(), s(r.family_id.clone()));
    item.insert("status".into(), s("active"));
    item.insert("expires_at".into(), n(r.expires_at.unix_timestamp()));
    item
}

/// Pagination cursors are the DynamoDB `LastEvaluatedKey`, made opaque.
fn encode_cursor(last: &HashMap<String, AttributeValue>) -> Option<String> {
    let plain: HashMap<&str, &str> = last
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.as_str(), v.as_str())))
        .collect();
    serde_json::to_vec(&plain)
        .ok()
        .map(|b| URL_SAFE_NO_PAD.encode(b))
}

fn decode_cursor(cursor: &str) -> StoreResult<HashMap<String, AttributeValue>> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::BadCursor)?;
    let plain: HashMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    let expected = ["pk", "sk", "gsi1pk", "gsi1sk"];
    if plain.len() != expected.len() || !expected.iter().all(|k| plain.contains_key(*k)) {
        return Err(StoreError::BadCursor);
    }
    Ok(plain.into_iter().map(|(k, v)| (k, s(v))).collect())
}

impl DynamoIdentityStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    async fn get(&self, pk: String, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws("reading item"))?;
        Ok(out.item)
    }
}

impl IdentityStore for DynamoIdentityStore {
    async fn create_user(
        &self,
        user: &User,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let created = rfc3339(user.created_at)?;
        let mut item = key(user_pk(user.id), "PROFILE");
        item.insert("user_id".into(), s(user.id.to_string()));
        item.insert("email".into(), s(user.email.as_str()));
        item.insert("name".into(), s(user.name.as_str()));
        item.insert("roles".into(), roles_attr(&user.roles));
        item.insert("password_hash".into(), s(user.password_hash.as_str()));
        item.insert("created_at".into(), s(created.clone()));
        item.insert("updated_at".into(), s(rfc3339(user.updated_at)?));
        item.insert("gsi1pk".into(), s("USERS"));
        item.insert("gsi1sk".into(), s(format!("{created}#{}", user.id)));
        let put_user = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;

        let mut claim = key(format!("EMAIL#{}", user.email), "EMAIL");
        claim.insert("user_id".into(), s(user.id.to_string()));
        let put_email = Put::builder()
            .table_name(&self.table)
            .set_item(Some(claim))
            // The uniqueness constraint: concurrent registrations of one
            // address race on this condition and exactly one wins.
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;

        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_user).build())
            .transact_items(TransactWriteItem::builder().put(put_email).build())
            .transact_items(outbox_put(&self.table, event, now)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.is_condition_failed() => Err(StoreError::Conflict),
            Err(e) => Err(aws("creating user")(e)),
        }
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let Some(claim) = self.get(format!("EMAIL#{email}"), "EMAIL").await? else {
            return Ok(None);
        };
        let id: UserId = get_s(&claim, "user_id")
            .map_err(|e| StoreError::Other(e.into()))?
            .parse()
            .map_err(|e| StoreError::Other(anyhow::anyhow!("email claim holds a bad id: {e}")))?;
        self.user(id).await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.get(user_pk(id), "PROFILE")
            .await?
            .map(|item| user_from_item(&item))
            .transpose()
    }

    async fn list_users(&self, cursor: Option<&str>, limit: u32) -> StoreResult<Page<User>> {
        let start = cursor.map(decode_cursor).transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :users")
            .expression_attribute_values(":users", s("USERS"))
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit).unwrap_or(100))
            .send()
            .await
            .map_err(aws("listing users"))?;
        let items = out
            .items()
            .iter()
            .map(user_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = out.last_evaluated_key().and_then(encode_cursor);
        Ok(Page { items, next_cursor })
    }

    async fn set_roles(
        &self,
        id: UserId,
        roles: &[Role],
        now: OffsetDateTime,
    ) -> StoreResult<Option<User>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(id), "PROFILE")))
            .update_expression("SET #roles = :roles, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#roles", "roles")
            .expression_attribute_values(":roles", roles_attr(roles))
            .expression_attribute_values(":now", s(rfc3339(now)?))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.map(|item| user_from_item(&item)).transpose(),
            Err(e) if e.is_condition_failed() => Ok(None),
            Err(e) => Err(aws("setting roles")(e)),
        }
    }

    async fn start_family(&self, first: &RefreshRecord, now: OffsetDateTime) -> StoreResult<()> {
        let mut family = key(format!("FAMILY#{}", first.family_id), "FAMILY");
        family.insert("user_id".into(), s(first.user_id.to_string()));
        family.insert("revoked".into(), AttributeValue::Bool(false));
        family.insert("created_at".into(), s(rfc3339(now)?));
        family.insert("expires_at".into(), n(first.expires_at.unix_timestamp()));
        let put_family = Put::builder()
            .table_name(&self.table)
            .set_item(Some(family))
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        let put_token = Put::builder()
            .table_name(&self.table)
            .set_item(Some(refresh_item(first)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_family).build())
            .transact_items(TransactWriteItem::builder().put(put_token).build())
            .send()
            .await
            .map_err(aws("starting token family"))?;
        Ok(())
    }

    async fn refresh_record(&self, fingerprint: &str) -> StoreResult<Option<RefreshRecord>> {
        let Some(item) = self
            .get(format!("REFRESH#{fingerprint}"), "REFRESH")
            .await?
        else {
            return Ok(None);
        };
        let parse = || -> anyhow::Result<RefreshRecord> {
            Ok(RefreshRecord {
                fingerprint: fingerprint.to_owned(),
                user_id: get_s(&item, "user_id")?.parse()?,
                family_id: get_s(&item, "family_id")?.to_owned(),
                status: match get_s(&item, "status")? {
                    "active" => RefreshStatus::Active,
                    _ => RefreshStatus::Rotated,
                },
                expires_at: OffsetDateTime::from_unix_timestamp(get_n(&item, "expires_at")?)?,
            })
        };
        parse()
            .map(Some)
            .map_err(|e| StoreError::Other(e.context("reading refresh token item")))
    }

    async fn rotate(&self, old_fingerprint: &str, new: &RefreshRecord) -> StoreResult<()> {
        let family_ok = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("FAMILY#{}", new.family_id), "FAMILY")))
            .condition_expression("revoked = :false")
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        let retire_old = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("REFRESH#{old_fingerprint}"), "REFRESH")))
            .update_expression("SET #status = :rotated")
            .condition_expression("#status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":rotated", s("rotated"))
            .expression_attribute_values(":active", s("active"))
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        let put_new = Put::builder()
            .table_name(&self.table)
            .set_item(Some(refresh_item(new)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Other(e.into()))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(family_ok)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().update(retire_old).build())
            .transact_items(TransactWriteItem::builder().put(put_new).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.is_condition_failed() => Err(StoreError::Conflict),
            Err(e) => Err(aws("rotating refresh token")(e)),
        }
    }

    async fn revoke_family(&self, family_id: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("FAMILY#{family_id}"), "FAMILY")))
            .update_expression("SET revoked = :true, revoked_at = :now")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":now", s(rfc3339(now)?))
            .send()
            .await
            .map_err(aws("revoking token family"))?;
        Ok(())
    }

    async fn family_revoked(&self, family_id: &str) -> StoreResult<bool> {
        let item = self.get(format!("FAMILY#{family_id}"), "FAMILY").await?;
        // A family that does not exist cannot vouch for a token.
        Ok(match item.as_ref().and_then(|i| i.get("revoked")) {
            Some(AttributeValue::Bool(revoked)) => *revoked,
            _ => true,
        })
    }

    async fn failures(&self, key_name: &str, window_start: i64) -> StoreResult<u32> {
        let item = self
            .get(format!("RATE#{key_name}"), &window_start.to_string())
            .await?;
        match item {
            Some(item) => get_n(&item, "count").map_err(|e| StoreError::Other(e.into())),
            None => Ok(0),
        }
    }

    async fn record_failure(
        &self,
        key_name: &str,
        window_start: i64,
        expires_at: i64,
    ) -> StoreResult<u32> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("RATE#{key_name}"),
                &window_start.to_string(),
            )))
            .update_expression("ADD #count :one SET expires_at = :expires")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(expires_at))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(aws("counting login failure"))?;
        match out.attributes {
            Some(item) => get_n(&item, "count").map_err(|e| StoreError::Other(e.into())),
            None => Ok(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_tampering() {
        let last: HashMap<String, AttributeValue> = ["pk", "sk", "gsi1pk", "gsi1sk"]
            .iter()
            .map(|k| ((*k).to_owned(), s(format!("v-{k}"))))
            .collect();
        let cursor = encode_cursor(&last).expect("cursor");
        assert_eq!(decode_cursor(&cursor).expect("decodes"), last);
        assert!(matches!(decode_cursor("!!!"), Err(StoreError::BadCursor)));
        let partial = URL_SAFE_NO_PAD.encode(br#"{"pk":"x"}"#);
        assert!(matches!(
            decode_cursor(&partial),
            Err(StoreError::BadCursor)
        ));
    }
}
