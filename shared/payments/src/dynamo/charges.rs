//! The charges port of the DynamoDB store.
//!
//! | item                     | pk                         | sk              |
//! |--------------------------|----------------------------|-----------------|
//! | charge of an order       | `CHARGE#<order id>`        | `CHARGE`        |
//! | cancellation tombstone   | `CANCELLED#<order id>`     | `CANCELLED`     |
//! | intent -> order pointer  | `STRIPE_PI#<intent id>`    | `STRIPE_PI`     |
//! | handled webhook event    | `STRIPE_EVENT#<event id>`  | `STRIPE_EVENT`  |
//!
//! Charges, tombstones and pointers are financial records and never expire;
//! webhook event ids expire after Stripe's redelivery window.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
use contracts::events::PaymentKind;
use contracts::{OrderId, RawEnvelope};
use platform::dynamo::{Item, cancelled_conditions, get_n, get_opt_s, get_s, n, s};
use platform::outbox::outbox_put;
use time::{Duration, OffsetDateTime};

use super::{
    DynamoPaymentsStore, aws, build_error, key, ledger_item, parse_time, rfc3339,
    transient_cancellation,
};
use crate::charges::model::{Cancellation, ChargeRecord, ChargeStatus, PaymentId};
use crate::charges::store::{
    ChargeStoreError, ChargeStoreResult, ChargeWrite, ChargesStore, WalletChargeWrite,
    WalletRefundWrite,
};
use crate::keys::{
    ACCOUNT_SK, CANCELLED_SK, CHARGE_SK, STRIPE_EVENT_SK, STRIPE_INTENT_SK, cancelled_pk,
    charge_pk, stripe_event_pk, stripe_intent_pk, user_pk,
};
use crate::model::{Account, LedgerEntry};
use crate::store::StoreError;

/// Stripe retries a webhook delivery for up to three days; the event id is
/// kept well beyond that.
const STRIPE_EVENT_RETENTION: Duration = Duration::days(30);

fn other(e: impl Into<anyhow::Error>) -> ChargeStoreError {
    ChargeStoreError::Other(e.into())
}

fn lift(e: StoreError) -> ChargeStoreError {
    match e {
        StoreError::Other(e) => ChargeStoreError::Other(e),
        e => other(anyhow::Error::new(e)),
    }
}

fn method_str(kind: PaymentKind) -> &'static str {
    match kind {
        PaymentKind::Wallet => "wallet",
        PaymentKind::Card => "card",
    }
}

fn parse_method(raw: &str) -> anyhow::Result<PaymentKind> {
    match raw {
        "wallet" => Ok(PaymentKind::Wallet),
        "card" => Ok(PaymentKind::Card),
        other => anyhow::bail!("unknown payment method {other:?}"),
    }
}

pub(super) fn charge_item(r: &ChargeRecord) -> ChargeStoreResult<Item> {
    let mut item = key(charge_pk(r.order_id), CHARGE_SK);
    item.insert("kind".into(), s("charge"));
    item.insert("payment_id".into(), s(r.payment_id.as_str()));
    item.insert("order_id".into(), s(r.order_id.to_string()));
    item.insert("user_id".into(), s(r.user_id.to_string()));
    item.insert("amount".into(), n(r.amount));
    item.insert("currency".into(), s(r.currency.code()));
    item.insert("method".into(), s(method_str(r.method)));
    item.insert("status".into(), s(r.status.as_str()));
    if let Some(reference) = &r.provider_reference {
        item.insert("provider_reference".into(), s(reference.as_str()));
    }
    if let Some(reason) = r.failure_reason {
        item.insert("failure_reason".into(), s(reason.as_str()));
    }
    if let Some(reference) = &r.refund_reference {
        item.insert("refund_reference".into(), s(reference.as_str()));
    }
    item.insert("created_at".into(), s(rfc3339(r.created_at).map_err(lift)?));
    if let Some(at) = r.refunded_at {
        item.insert("refunded_at".into(), s(rfc3339(at).map_err(lift)?));
    }
    Ok(item)
}

pub(super) fn charge_from_item(item: &Item) -> ChargeStoreResult<ChargeRecord> {
    let parse = || -> anyhow::Result<ChargeRecord> {
        Ok(ChargeRecord {
            payment_id: PaymentId::from_stored(get_s(item, "payment_id")?.to_owned()),
            order_id: get_s(item, "order_id")?.parse()?,
            user_id: get_s(item, "user_id")?.parse()?,
            amount: get_n(item, "amount")?,
            currency: get_s(item, "currency")?
                .parse()
                .map_err(anyhow::Error::msg)?,
            method: parse_method(get_s(item, "method")?)?,
            status: get_s(item, "status")?.parse().map_err(anyhow::Error::msg)?,
            provider_reference: get_opt_s(item, "provider_reference")?.map(str::to_owned),
            failure_reason: get_opt_s(item, "failure_reason")?
                .map(|r| r.parse().map_err(anyhow::Error::msg))
                .transpose()?,
            refund_reference: get_opt_s(item, "refund_reference")?.map(str::to_owned),
            created_at: parse_time(item, "created_at")?,
            refunded_at: get_opt_s(item, "refunded_at")?
                .map(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339))
                .transpose()?,
        })
    };
    parse().map_err(|e| other(e.context("reading charge item")))
}

fn cancellation_item(c: &Cancellation) -> ChargeStoreResult<Item> {
    let mut item = key(cancelled_pk(c.order_id), CANCELLED_SK);
    item.insert("kind".into(), s("cancellation"));
    item.insert("order_id".into(), s(c.order_id.to_string()));
    item.insert("user_id".into(), s(c.user_id.to_string()));
    item.insert(
        "cancelled_at".into(),
        s(rfc3339(c.cancelled_at).map_err(lift)?),
    );
    Ok(item)
}

fn cancellation_from_item(item: &Item) -> ChargeStoreResult<Cancellation> {
    let parse = || -> anyhow::Result<Cancellation> {
        Ok(Cancellation {
            order_id: get_s(item, "order_id")?.parse()?,
            user_id: get_s(item, "user_id")?.parse()?,
            cancelled_at: parse_time(item, "cancelled_at")?,
        })
    };
    parse().map_err(|e| other(e.context("reading cancellation item")))
}

/// What a cancelled transaction means, by the position of its actions.
struct Positions {
    /// A failed condition here means the order's charge is recorded already.
    charge: Option<usize>,
    /// ... the order has a tombstone.
    tombstone: Option<usize>,
    /// ... the charge is no longer refundable.
    refundable: Option<usize>,
    /// Whether other failed conditions and conflicts mean "read again".
    wallet: bool,
}

fn transaction_error<R>(
    err: SdkError<TransactWriteItemsError, R>,
    at: Positions,
    context: &'static str,
) -> ChargeStoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let Some(codes) = cancelled_conditions(&err) else {
        return lift(aws(context)(err));
    };
    let failed = |i: Option<usize>| i.is_some_and(|i| codes.get(i).is_some_and(Option::is_some));
    if failed(at.charge) {
        ChargeStoreError::AlreadyRecorded
    } else if failed(at.tombstone) {
        ChargeStoreError::Cancelled
    } else if failed(at.refundable) {
        ChargeStoreError::NotRefundable
    } else if at.wallet && (codes.iter().any(Option::is_some) || transient_cancellation(&err)) {
        ChargeStoreError::Stale
    } else {
        lift(aws(context)(err))
    }
}

impl DynamoPaymentsStore {
    fn table_put(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> ChargeStoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(|e| lift(build_error(e)))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn absent(&self, pk: String, sk: &str) -> ChargeStoreResult<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| lift(build_error(e)))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Moves the balance by `entry.amount`, conditioned on the version and
    /// currency read; a debit also on the balance covering it.
    fn wallet_update(
        &self,
        account: &Account,
        entry: &LedgerEntry,
    ) -> ChargeStoreResult<TransactWriteItem> {
        let mut condition =
            "attribute_exists(pk) AND #currency = :currency AND #version = :expected".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(account.user_id), ACCOUNT_SK)))
            .update_expression(
                "SET #balance = #balance + :amount, #version = #version + :one, updated_at = :at",
            )
            .expression_attribute_names("#balance", "balance")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#currency", "currency")
            .expression_attribute_values(":amount", n(entry.amount))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":at", s(rfc3339(entry.created_at).map_err(lift)?))
            .expression_attribute_values(":currency", s(account.currency.code()))
            .expression_attribute_values(":expected", n(account.version));
        if entry.amount < 0 {
            // Never below zero, whatever the version check already implies.
            condition.push_str(" AND #balance >= :debit");
            update = update.expression_attribute_values(":debit", n(-entry.amount));
        }
        let update = update
            .condition_expression(condition)
            .build()
            .map_err(|e| lift(build_error(e)))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// `succeeded` -> `refunded`, only from `succeeded`.
    fn refund_update(&self, record: &ChargeRecord) -> ChargeStoreResult<TransactWriteItem> {
        let refunded_at = record
            .refunded_at
            .ok_or_else(|| other(anyhow::anyhow!("a refunded charge needs refunded_at")))?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(charge_pk(record.order_id), CHARGE_SK)))
            .update_expression(
                "SET #status = :refunded, refund_reference = :reference, refunded_at = :at",
            )
            .condition_expression("attribute_exists(pk) AND #status = :succeeded")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":refunded", s(ChargeStatus::Refunded.as_str()))
            .expression_attribute_values(":succeeded", s(ChargeStatus::Succeeded.as_str()))
            .expression_attribute_values(
                ":reference",
                s(record.refund_reference.clone().unwrap_or_default()),
            )
            .expression_attribute_values(":at", s(rfc3339(refunded_at).map_err(lift)?))
            .build()
            .map_err(|e| lift(build_error(e)))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    async fn write(
        &self,
        items: Vec<TransactWriteItem>,
        at: Positions,
        context: &'static str,
    ) -> ChargeStoreResult<()> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| transaction_error(e, at, context))?;
        Ok(())
    }
}

impl ChargesStore for DynamoPaymentsStore {
    async fn charge(&self, order: OrderId) -> ChargeStoreResult<Option<ChargeRecord>> {
        self.get(charge_pk(order), CHARGE_SK)
            .await
            .map_err(lift)?
            .map(|item| charge_from_item(&item))
            .transpose()
    }

    async fn cancellation(&self, order: OrderId) -> ChargeStoreResult<Option<Cancellation>> {
        self.get(cancelled_pk(order), CANCELLED_SK)
            .await
            .map_err(lift)?
            .map(|item| cancellation_from_item(&item))
            .transpose()
    }

    async fn order_of_stripe_intent(&self, intent_id: &str) -> ChargeStoreResult<Option<OrderId>> {
        self.get(stripe_intent_pk(intent_id), STRIPE_INTENT_SK)
            .await
            .map_err(lift)?
            .map(|item| {
                get_s(&item, "order_id")
                    .map_err(anyhow::Error::from)
                    .and_then(|id| Ok(id.parse::<OrderId>()?))
                    .map_err(|e| other(e.context("reading intent pointer")))
            })
            .transpose()
    }

    async fn record_charge(
        &self,
        write: ChargeWrite<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> ChargeStoreResult<()> {
        let record = write.record;
        let mut items =
            vec![self.table_put(charge_item(record)?, Some("attribute_not_exists(pk)"))?];
        let mut tombstone = None;
        if write.unless_cancelled {
            tombstone = Some(items.len());
            items.push(self.absent(cancelled_pk(record.order_id), CANCELLED_SK)?);
        }
        if record.method == PaymentKind::Card
            && let Some(intent) = &record.provider_reference
        {
            let mut pointer = key(stripe_intent_pk(intent), STRIPE_INTENT_SK);
            pointer.insert("kind".into(), s("stripe_intent"));
            pointer.insert("order_id".into(), s(record.order_id.to_string()));
            items.push(self.table_put(pointer, None)?);
        }
        items.push(outbox_put(&self.table, event, now)?);
        let at = Positions {
            charge: Some(0),
            tombstone,
            refundable: None,
            wallet: false,
        };
        self.write(items, at, "recording charge").await
    }

    async fn record_wallet_charge(
        &self,
        write: WalletChargeWrite<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> ChargeStoreResult<()> {
        let items = vec![
            self.wallet_update(write.account, write.entry)?,
            self.table_put(
                ledger_item(write.entry).map_err(lift)?,
                Some("attribute_not_exists(pk)"),
            )?,
            self.table_put(charge_item(write.record)?, Some("attribute_not_exists(pk)"))?,
            self.absent(cancelled_pk(write.record.order_id), CANCELLED_SK)?,
            outbox_put(&self.table, event, now)?,
        ];
        let at = Positions {
            charge: Some(2),
            tombstone: Some(3),
            refundable: None,
            wallet: true,
        };
        self.write(items, at, "recording wallet charge").await
    }

    async fn record_wallet_refund(
        &self,
        write: WalletRefundWrite<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> ChargeStoreResult<()> {
        let items = vec![
            self.wallet_update(write.account, write.entry)?,
            self.table_put(
                ledger_item(write.entry).map_err(lift)?,
                Some("attribute_not_exists(pk)"),
            )?,
            self.refund_update(write.record)?,
            outbox_put(&self.table, event, now)?,
        ];
        let at = Positions {
            charge: None,
            tombstone: None,
            refundable: Some(2),
            wallet: true,
        };
        self.write(items, at, "recording wallet refund").await
    }

    async fn record_refund(
        &self,
        record: &ChargeRecord,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> ChargeStoreResult<()> {
        let items = vec![
            self.refund_update(record)?,
            outbox_put(&self.table, event, now)?,
        ];
        let at = Positions {
            charge: None,
            tombstone: None,
            refundable: Some(0),
            wallet: false,
        };
        self.write(items, at, "recording refund").await
    }

    async fn record_cancellation(&self, cancellation: &Cancellation) -> ChargeStoreResult<()> {
        let items = vec![
            self.table_put(
                cancellation_item(cancellation)?,
                Some("attribute_not_exists(pk)"),
            )?,
            self.absent(charge_pk(cancellation.order_id), CHARGE_SK)?,
        ];
        let at = Positions {
            charge: Some(1),
            tombstone: Some(0),
            refundable: None,
            wallet: false,
        };
        match self.write(items, at, "recording cancellation").await {
            // The tombstone was there already: the first one stays.
            Err(ChargeStoreError::Cancelled) => Ok(()),
            other => other,
        }
    }

    async fn stripe_event_seen(&self, event_id: &str) -> ChargeStoreResult<bool> {
        Ok(self
            .get(stripe_event_pk(event_id), STRIPE_EVENT_SK)
            .await
            .map_err(lift)?
            .is_some())
    }

    async fn remember_stripe_event(
        &self,
        event_id: &str,
        event_type: &str,
        now: OffsetDateTime,
    ) -> ChargeStoreResult<()> {
        let mut item = key(stripe_event_pk(event_id), STRIPE_EVENT_SK);
        item.insert("kind".into(), s("stripe_event"));
        item.insert("event_type".into(), s(event_type));
        item.insert("received_at".into(), s(rfc3339(now).map_err(lift)?));
        item.insert(
            "expires_at".into(),
            n((now + STRIPE_EVENT_RETENTION).unix_timestamp()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| lift(aws("remembering Stripe event")(e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
