//! DynamoDB adapter of the payments store (single table, string keys
//! `pk`/`sk`, TTL attribute `expires_at`).
//!
//! | item                   | pk                                      | sk                          |
//! |------------------------|-----------------------------------------|-----------------------------|
//! | account (the wallet)   | `USER#<user id>`                        | `ACCOUNT`                   |
//! | ledger entry           | `USER#<user id>`                        | `TXN#<timestamp>#<txn id>`  |
//! | deposit idempotency    | `IDEMPOTENCY#deposit#<user id>#<key>`   | `IDEMPOTENCY`               |
//! | consumer idempotency   | `IDEMPOTENCY#<consumer>#<event id>`     | `IDEMPOTENCY`               |
//! | outbox event           | `OUTBOX#<event id>`                     | `OUTBOX`                    |
//!
//! Order charges, cancellation tombstones and Stripe webhook records are
//! described in `dynamo/charges.rs`.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use contracts::{RawEnvelope, UserId};
use platform::dynamo::{Item, cancelled_conditions, get_n, get_s, n, s};
use platform::outbox::outbox_put;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cursor;
use crate::keys::{
    ACCOUNT_SK, IDEMPOTENCY_SK, LEDGER_PREFIX, deposit_idempotency_pk, ledger_sk, user_pk,
};
use crate::model::{
    Account, AccountId, Description, IdempotencyKey, IdempotencyRecord, LedgerEntry, Page,
    TransactionId,
};
use crate::store::{DepositWrite, PaymentsStore, StoreError, StoreResult};

/// Positions of the actions in a deposit transaction, to read its
/// cancellation reasons.
const DEPOSIT_IDEMPOTENCY_ACTION: usize = 2;

#[derive(Clone)]
pub struct DynamoPaymentsStore {
    client: Client,
    table: String,
}

fn aws<E>(context: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| StoreError::Other(anyhow::anyhow!("{context}: {}", DisplayErrorContext(e)))
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Other(e.into())
}

fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
    [("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))]
        .into_iter()
        .collect()
}

fn rfc3339(t: OffsetDateTime) -> StoreResult<String> {
    t.format(&Rfc3339)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("formatting timestamp: {e}")))
}

fn parse_time(item: &Item, name: &str) -> anyhow::Result<OffsetDateTime> {
    Ok(OffsetDateTime::parse(get_s(item, name)?, &Rfc3339)?)
}

fn account_item(a: &Account) -> StoreResult<Item> {
    let mut item = key(user_pk(a.user_id), ACCOUNT_SK);
    item.insert("kind".into(), s("account"));
    item.insert("account_id".into(), s(a.id.as_str()));
    item.insert("user_id".into(), s(a.user_id.to_string()));
    item.insert("currency".into(), s(a.currency.code()));
    item.insert("balance".into(), n(a.balance));
    item.insert("version".into(), n(a.version));
    item.insert("created_at".into(), s(rfc3339(a.created_at)?));
    item.insert("updated_at".into(), s(rfc3339(a.updated_at)?));
    Ok(item)
}

fn account_from_item(item: &Item) -> StoreResult<Account> {
    let parse = || -> anyhow::Result<Account> {
        Ok(Account {
            id: AccountId::from_stored(get_s(item, "account_id")?.to_owned()),
            user_id: get_s(item, "user_id")?.parse()?,
            currency: get_s(item, "currency")?
                .parse()
                .map_err(anyhow::Error::msg)?,
            balance: get_n(item, "balance")?,
            version: get_n(item, "version")?,
            created_at: parse_time(item, "created_at")?,
            updated_at: parse_time(item, "updated_at")?,
        })
    };
    parse().map_err(|e| StoreError::Other(e.context("reading account item")))
}

fn ledger_item(e: &LedgerEntry) -> StoreResult<Item> {
    let sk = ledger_sk(e.created_at, &e.id).map_err(anyhow::Error::from)?;
    let mut item = key(user_pk(e.user_id), &sk);
    item.insert("kind".into(), s("ledger"));
    item.insert("entry_type".into(), s(e.kind.as_str()));
    item.insert("transaction_id".into(), s(e.id.as_str()));
    item.insert("account_id".into(), s(e.account_id.as_str()));
    item.insert("user_id".into(), s(e.user_id.to_string()));
    item.insert("amount".into(), n(e.amount));
    item.insert("currency".into(), s(e.currency.code()));
    item.insert("balance_after".into(), n(e.balance_after));
    item.insert("description".into(), s(e.description.as_str()));
    item.insert("version".into(), n(e.version));
    item.insert("created_at".into(), s(rfc3339(e.created_at)?));
    Ok(item)
}

fn ledger_from_item(item: &Item) -> StoreResult<LedgerEntry> {
    let parse = || -> anyhow::Result<LedgerEntry> {
        Ok(LedgerEntry {
            id: TransactionId::from_stored(get_s(item, "transaction_id")?.to_owned()),
            account_id: AccountId::from_stored(get_s(item, "account_id")?.to_owned()),
            user_id: get_s(item, "user_id")?.parse()?,
            kind: get_s(item, "entry_type")?
                .parse()
                .map_err(anyhow::Error::msg)?,
            amount: get_n(item, "amount")?,
            currency: get_s(item, "currency")?
                .parse()
                .map_err(anyhow::Error::msg)?,
            balance_after: get_n(item, "balance_after")?,
            description: Description::parse(get_s(item, "description")?)
                .map_err(anyhow::Error::msg)?,
            version: get_n(item, "version")?,
            created_at: parse_time(item, "created_at")?,
        })
    };
    parse().map_err(|e| StoreError::Other(e.context("reading ledger item")))
}

fn idempotency_item(r: &IdempotencyRecord) -> Item {
    let mut item = key(deposit_idempotency_pk(r.user_id, &r.key), IDEMPOTENCY_SK);
    item.insert("kind".into(), s("idempotency"));
    // The shape of platform::idempotency's completed records, so the table
    // holds one kind of idempotency record.
    item.insert("status".into(), s("COMPLETED"));
    item.insert("user_id".into(), s(r.user_id.to_string()));
    item.insert("idempotency_key".into(), s(r.key.as_str()));
    item.insert("payload_hash".into(), s(r.payload_hash.as_str()));
    item.insert("response_status".into(), n(r.status));
    item.insert("response".into(), s(r.body.as_str()));
    item.insert("expires_at".into(), n(r.expires_at.unix_timestamp()));
    item
}

fn record_from_item(item: &Item) -> StoreResult<IdempotencyRecord> {
    let parse = || -> anyhow::Result<IdempotencyRecord> {
        Ok(IdempotencyRecord {
            user_id: get_s(item, "user_id")?.parse()?,
            key: IdempotencyKey::parse(get_s(item, "idempotency_key")?)
                .map_err(anyhow::Error::msg)?,
            payload_hash: get_s(item, "payload_hash")?.to_owned(),
            status: get_n(item, "response_status")?,
            body: get_s(item, "response")?.to_owned(),
            expires_at: OffsetDateTime::from_unix_timestamp(get_n(item, "expires_at")?)?,
        })
    };
    parse().map_err(|e| StoreError::Other(e.context("reading idempotency item")))
}

/// What a cancelled deposit transaction means. The idempotency record's
/// condition is checked first: a taken key means "already done", whatever
/// else failed. Any other failed condition (the account moved on, or a
/// key collision of fresh ids), a conflicting concurrent transaction or
/// throttling means "read again and retry". Everything else is an error.
fn deposit_error<R>(err: SdkError<TransactWriteItemsError, R>) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match cancelled_conditions(&err) {
        Some(codes)
            if codes
                .get(DEPOSIT_IDEMPOTENCY_ACTION)
                .is_some_and(Option::is_some) =>
        {
            StoreError::KeyTaken
        }
        Some(codes) if codes.iter().any(Option::is_some) || transient_cancellation(&err) => {
            StoreError::Stale
        }
        _ => aws("recording deposit")(err),
    }
}

fn transient_cancellation<R>(err: &SdkError<TransactWriteItemsError, R>) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .any(|r| matches!(r.code(), Some("TransactionConflict" | "ThrottlingError"))),
        _ => false,
    }
}

impl DynamoPaymentsStore {
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

impl PaymentsStore for DynamoPaymentsStore {
    async fn create_account(
        &self,
        account: &Account,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(account_item(account)?))
            // One account per user: the condition is the uniqueness rule.
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(outbox_put(&self.table, event, now)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if cancelled_conditions(&e).is_some_and(|c| matches!(c.first(), Some(Some(_)))) =>
            {
                Err(StoreError::AccountExists)
            }
            Err(e) => Err(aws("creating account")(e)),
        }
    }

    async fn account(&self, user_id: UserId) -> StoreResult<Option<Account>> {
        self.get(user_pk(user_id), ACCOUNT_SK)
            .await?
            .map(|item| account_from_item(&item))
            .transpose()
    }

    async fn record_deposit(
        &self,
        deposit: DepositWrite<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let DepositWrite {
            account,
            entry,
            idempotency,
        } = deposit;
        let credit = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(account.user_id), ACCOUNT_SK)))
            .update_expression(
                "SET #balance = #balance + :amount, #version = #version + :one, updated_at = :at",
            )
            // The version read is the one credited: no write in between, so
            // the entry's balance_after is exact.
            .condition_expression(
                "attribute_exists(pk) AND #currency = :currency AND #version = :expected",
            )
            .expression_attribute_names("#balance", "balance")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#currency", "currency")
            .expression_attribute_values(":amount", n(entry.amount))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":at", s(rfc3339(entry.created_at)?))
            .expression_attribute_values(":currency", s(account.currency.code()))
            .expression_attribute_values(":expected", n(account.version))
            .build()
            .map_err(build_error)?;
        let append = Put::builder()
            .table_name(&self.table)
            .set_item(Some(ledger_item(entry)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        let remember = Put::builder()
            .table_name(&self.table)
            .set_item(Some(idempotency_item(idempotency)))
            // TTL deletes lazily: an expired record no longer holds its key.
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .build()
            .map_err(build_error)?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(credit).build())
            .transact_items(TransactWriteItem::builder().put(append).build())
            .transact_items(TransactWriteItem::builder().put(remember).build())
            .transact_items(outbox_put(&self.table, event, now)?)
            .send()
            .await
            .map_err(deposit_error)?;
        Ok(())
    }

    async fn idempotency_record(
        &self,
        user_id: UserId,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        self.get(deposit_idempotency_pk(user_id, key), IDEMPOTENCY_SK)
            .await?
            .map(|item| record_from_item(&item))
            .transpose()
    }

    async fn ledger(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<LedgerEntry>> {
        let pk = user_pk(user_id);
        let start = cursor
            .map(|c| cursor::decode(c, &pk, LEDGER_PREFIX))
            .transpose()
            .map_err(|_| StoreError::BadCursor)?
            .map(|sk| key(pk.clone(), &sk));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk.as_str()))
            .expression_attribute_values(":prefix", s(LEDGER_PREFIX))
            .scan_index_forward(false)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit).unwrap_or(100))
            .send()
            .await
            .map_err(aws("reading ledger"))?;
        let items = out
            .items()
            .iter()
            .map(ledger_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = out
            .last_evaluated_key()
            .and_then(|k| Some(cursor::encode(get_s(k, "pk").ok()?, get_s(k, "sk").ok()?)));
        Ok(Page { items, next_cursor })
    }
}

mod charges;

#[cfg(test)]
mod tests;
