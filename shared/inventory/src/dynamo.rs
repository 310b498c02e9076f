//! DynamoDB adapter of the inventory store (single table, string keys
//! `pk`/`sk`, TTL attribute `expires_at`).
//!
//! | item                   | pk                                   | sk            |
//! |------------------------|--------------------------------------|---------------|
//! | stock of a SKU         | `SKU#<sku>`                          | `STOCK`       |
//! | reservation of an order| `RESERVATION#<order id>`             | `RESERVATION` |
//! | consumer idempotency   | `IDEMPOTENCY#<consumer>#<event id>`  | `IDEMPOTENCY` |
//! | outbox event           | `OUTBOX#<event id>`                  | `OUTBOX`      |
//!
//! Stock counts are numbers updated in place by conditional expressions,
//! so concurrent reservations of one SKU do not need to agree on a version:
//! each only needs the stock to still satisfy its guard.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use contracts::{OrderId, RawEnvelope};
use platform::dynamo::{ConditionFailed, Item, cancelled_conditions, get_n, get_s, n, s};
use platform::outbox::outbox_put;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::keys::{RESERVATION_SK, STOCK_SK, reservation_pk, stock_pk};
use crate::model::{Reservation, Sku, Stock};
use crate::store::{
    InventoryStore, ReserveLine, StockGuard, StockMove, StoreError, StoreResult, Transition,
};

/// Every multi-item write puts the record it is about first, then the stock
/// updates, then the outbox events; cancellation reasons come in the same
/// order.
const RECORD_ACTION: usize = 0;

#[derive(Clone)]
pub struct DynamoInventoryStore {
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

fn stock_item(st: &Stock) -> StoreResult<Item> {
    let mut item = key(stock_pk(&st.sku), STOCK_SK);
    item.insert("kind".into(), s("stock"));
    item.insert("sku".into(), s(st.sku.as_str()));
    item.insert("product_id".into(), s(st.product_id.to_string()));
    item.insert("available".into(), n(st.available));
    item.insert("reserved".into(), n(st.reserved));
    item.insert("sold".into(), n(st.sold));
    item.insert("threshold".into(), n(st.threshold));
    item.insert("status".into(), s(st.status.as_str()));
    item.insert("version".into(), n(st.version));
    item.insert("created_at".into(), s(rfc3339(st.created_at)?));
    item.insert("updated_at".into(), s(rfc3339(st.updated_at)?));
    Ok(item)
}

fn stock_from_item(item: &Item) -> StoreResult<Stock> {
    let parse = || -> anyhow::Result<Stock> {
        Ok(Stock {
            sku: Sku::parse(get_s(item, "sku")?).map_err(anyhow::Error::msg)?,
            product_id: get_s(item, "product_id")?.parse()?,
            available: get_n(item, "available")?,
            reserved: get_n(item, "reserved")?,
            sold: get_n(item, "sold")?,
            threshold: get_n(item, "threshold")?,
            status: get_s(item, "status")?.parse().map_err(anyhow::Error::msg)?,
            version: get_n(item, "version")?,
            created_at: parse_time(item, "created_at")?,
            updated_at: parse_time(item, "updated_at")?,
        })
    };
    parse().map_err(|e| StoreError::Other(e.context("reading stock item")))
}

fn reservation_item(r: &Reservation) -> StoreResult<Item> {
    let json = |e: serde_json::Error| StoreError::Other(e.into());
    let mut item = key(reservation_pk(r.order_id), RESERVATION_SK);
    item.insert("kind".into(), s("reservation"));
    item.insert("order_id".into(), s(r.order_id.to_string()));
    item.insert("user_id".into(), s(r.user_id.to_string()));
    item.insert("status".into(), s(r.status.as_str()));
    // Lines are only ever read whole, so they are stored as their event
    // JSON rather than as nested attributes.
    item.insert(
        "lines".into(),
        s(serde_json::to_string(&r.lines).map_err(json)?),
    );
    item.insert(
        "short_lines".into(),
        s(serde_json::to_string(&r.short_lines).map_err(json)?),
    );
    item.insert("created_at".into(), s(rfc3339(r.created_at)?));
    item.insert("updated_at".into(), s(rfc3339(r.updated_at)?));
    Ok(item)
}

fn reservation_from_item(item: &Item) -> StoreResult<Reservation> {
    let parse = || -> anyhow::Result<Reservation> {
        Ok(Reservation {
            order_id: get_s(item, "order_id")?.parse()?,
            user_id: get_s(item, "user_id")?.parse()?,
            status: get_s(item, "status")?.parse().map_err(anyhow::Error::msg)?,
            lines: serde_json::from_str(get_s(item, "lines")?)?,
            short_lines: serde_json::from_str(get_s(item, "short_lines")?)?,
            created_at: parse_time(item, "created_at")?,
            updated_at: parse_time(item, "updated_at")?,
        })
    };
    parse().map_err(|e| StoreError::Other(e.context("reading reservation item")))
}

/// The stock update of one reserved SKU: the guard of
/// [`ReserveLine::holds_for`], as a condition expression.
fn reserve_update(table: &str, line: &ReserveLine, at: &str) -> StoreResult<TransactWriteItem> {
    let mut condition = "attribute_exists(pk) AND #status = :active AND #threshold = :threshold \
                         AND #available >= :quantity"
        .to_owned();
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(stock_pk(&line.sku), STOCK_SK)))
        .update_expression(
            "SET #available = #available - :quantity, #reserved = #reserved + :quantity, \
             #version = #version + :one, updated_at = :at",
        )
        .expression_attribute_names("#available", "available")
        .expression_attribute_names("#reserved", "reserved")
        .expression_attribute_names("#threshold", "threshold")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#version", "version")
        .expression_attribute_values(":quantity", n(line.quantity))
        .expression_attribute_values(":threshold", n(line.threshold))
        .expression_attribute_values(":active", s("active"))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":at", s(at));
    match line.guard {
        StockGuard::Crossing { available } => {
            condition.push_str(" AND #available = :expected");
            update = update.expression_attribute_values(":expected", n(available));
        }
        StockGuard::NotCrossing => {
            condition.push_str(" AND (#available <= :threshold OR #available > :crossing_limit)");
            update = update.expression_attribute_values(
                ":crossing_limit",
                n(u64::from(line.threshold) + u64::from(line.quantity)),
            );
        }
    }
    let update = update
        .condition_expression(condition)
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The stock update of one move; the source never goes below zero.
fn move_update(table: &str, m: &StockMove, at: &str) -> StoreResult<TransactWriteItem> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(stock_pk(&m.sku), STOCK_SK)))
        .update_expression(
            "SET #from = #from - :quantity, #to = #to + :quantity, \
             #version = #version + :one, updated_at = :at",
        )
        .condition_expression("attribute_exists(pk) AND #from >= :quantity")
        .expression_attribute_names("#from", m.from.attribute())
        .expression_attribute_names("#to", m.to.attribute())
        .expression_attribute_names("#version", "version")
        .expression_attribute_values(":quantity", n(m.quantity))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":at", s(at))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn new_record_put(table: &str, r: &Reservation) -> StoreResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(reservation_item(r)?))
        // One reservation record per order: the first event decides.
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// What a cancelled transaction means, given which answer the record's
/// condition and the stock conditions stand for. The record's condition is
/// checked first (it decides idempotency); a failed stock condition next; a
/// conflicting concurrent transaction or throttling means "pause and
/// retry". Everything else is an error.
fn cancelled<R>(
    err: SdkError<TransactWriteItemsError, R>,
    record_failed: StoreError,
    stock_failed: StoreError,
    context: &'static str,
) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match cancelled_conditions(&err) {
        Some(codes) if codes.get(RECORD_ACTION).is_some_and(Option::is_some) => record_failed,
        Some(codes) if codes.iter().any(Option::is_some) => stock_failed,
        _ if transient_cancellation(&err) => StoreError::Conflict,
        _ => aws(context)(err),
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

impl DynamoInventoryStore {
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

    fn outbox(
        &self,
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        events
            .iter()
            .map(|e| outbox_put(&self.table, e, now).map_err(StoreError::Other))
            .collect()
    }
}

impl InventoryStore for DynamoInventoryStore {
    async fn create_stock(&self, stock: &Stock) -> StoreResult<()> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(stock_item(stock)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.is_condition_failed() => Err(StoreError::StockExists),
            Err(e) => Err(aws("creating stock record")(e)),
        }
    }

    async fn stock(&self, sku: &Sku) -> StoreResult<Option<Stock>> {
        self.get(stock_pk(sku), STOCK_SK)
            .await?
            .map(|item| stock_from_item(&item))
            .transpose()
    }

    async fn stocks(&self, skus: &[Sku]) -> StoreResult<HashMap<Sku, Stock>> {
        // Orders hold a handful of SKUs; parallel consistent reads are
        // simpler than BatchGetItem's unprocessed-keys loop.
        let found = futures::future::try_join_all(skus.iter().map(|sku| self.stock(sku))).await?;
        Ok(found
            .into_iter()
            .flatten()
            .map(|st| (st.sku.clone(), st))
            .collect())
    }

    async fn update_stock(
        &self,
        before: &Stock,
        after: &Stock,
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(stock_item(after)?))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(before.version))
            .build()
            .map_err(build_error)?;
        let mut actions = vec![TransactWriteItem::builder().put(put).build()];
        actions.extend(self.outbox(events, now)?);
        self.client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| cancelled(e, StoreError::Stale, StoreError::Stale, "updating stock"))
    }

    async fn reservation(&self, order_id: OrderId) -> StoreResult<Option<Reservation>> {
        self.get(reservation_pk(order_id), RESERVATION_SK)
            .await?
            .map(|item| reservation_from_item(&item))
            .transpose()
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        lines: &[ReserveLine],
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let at = rfc3339(now)?;
        let mut actions = vec![new_record_put(&self.table, reservation)?];
        for line in lines {
            actions.push(reserve_update(&self.table, line, &at)?);
        }
        actions.extend(self.outbox(events, now)?);
        self.client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                cancelled(
                    e,
                    StoreError::ReservationExists,
                    StoreError::StockChanged,
                    "reserving stock",
                )
            })
    }

    async fn record_reservation(
        &self,
        reservation: &Reservation,
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut actions = vec![new_record_put(&self.table, reservation)?];
        actions.extend(self.outbox(events, now)?);
        self.client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                cancelled(
                    e,
                    StoreError::ReservationExists,
                    StoreError::ReservationExists,
                    "recording reservation",
                )
            })
    }

    async fn transition(
        &self,
        transition: Transition<'_>,
        events: &[RawEnvelope],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let at = rfc3339(now)?;
        let record = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                reservation_pk(transition.order_id),
                RESERVATION_SK,
            )))
            .update_expression("SET #status = :to, updated_at = :at")
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":from", s(transition.from.as_str()))
            .expression_attribute_values(":to", s(transition.to.as_str()))
            .expression_attribute_values(":at", s(at.as_str()))
            .build()
            .map_err(build_error)?;
        let mut actions = vec![TransactWriteItem::builder().update(record).build()];
        for m in transition.moves {
            actions.push(move_update(&self.table, m, &at)?);
        }
        actions.extend(self.outbox(events, now)?);
        self.client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                cancelled(
                    e,
                    StoreError::ReservationChanged,
                    StoreError::StockChanged,
                    "moving reservation",
                )
            })
    }
}

#[cfg(test)]
mod tests;
