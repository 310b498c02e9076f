//! DynamoDB adapter of the catalog store (single table, string keys
//! `pk`/`sk`, TTL attribute `expires_at`, stream `NEW_IMAGE` feeding the
//! outbox relay).
//!
//! | item                 | pk                                          | sk            |
//! |----------------------|---------------------------------------------|---------------|
//! | product              | `PRODUCT#<product id>`                      | `PRODUCT`     |
//! | SKU claim            | `SKU#<SKU>`                                 | `SKU`         |
//! | outbox event         | `OUTBOX#<event id>`                         | `OUTBOX`      |
//!
//! The search read model lives in its own table (see [`crate::search`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use contracts::{ProductId, RawEnvelope};
use platform::dynamo::{Item, cancelled_conditions, get_n, get_s, get_ss, n, s};
use platform::outbox::outbox_put;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::keys::{PRODUCT_SK, SKU_SK, product_pk, sku_pk};
use crate::model::{Category, Price, Product, ProductDescription, ProductName, Sku};
use crate::store::{CatalogStore, StoreError, StoreResult};

#[derive(Clone)]
pub struct DynamoCatalogStore {
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

pub(crate) fn product_item(p: &Product) -> StoreResult<Item> {
    let mut item = key(product_pk(p.id), PRODUCT_SK);
    item.insert("kind".into(), s("product"));
    item.insert("product_id".into(), s(p.id.to_string()));
    item.insert("sku".into(), s(p.sku.as_str()));
    item.insert("name".into(), s(p.name.as_str()));
    item.insert("description".into(), s(p.description.as_str()));
    item.insert("category".into(), s(p.category.as_str()));
    item.insert("price".into(), n(p.price.minor_units()));
    item.insert("currency".into(), s(p.currency.code()));
    // A list, not a string set: order matters and sets cannot be empty.
    item.insert(
        "images".into(),
        AttributeValue::L(p.images.iter().map(|k| s(k.as_str())).collect()),
    );
    item.insert("version".into(), n(p.version));
    item.insert("created_at".into(), s(rfc3339(p.created_at)?));
    item.insert("updated_at".into(), s(rfc3339(p.updated_at)?));
    Ok(item)
}

pub(crate) fn product_from_item(item: &Item) -> StoreResult<Product> {
    let parse = || -> anyhow::Result<Product> {
        Ok(Product {
            id: get_s(item, "product_id")?.parse()?,
            sku: Sku::parse(get_s(item, "sku")?).map_err(anyhow::Error::msg)?,
            name: ProductName::parse(get_s(item, "name")?).map_err(anyhow::Error::msg)?,
            description: ProductDescription::parse(get_s(item, "description")?)
                .map_err(anyhow::Error::msg)?,
            category: Category::parse(get_s(item, "category")?).map_err(anyhow::Error::msg)?,
            price: Price::new(get_n(item, "price")?).map_err(anyhow::Error::msg)?,
            currency: get_s(item, "currency")?
                .parse()
                .map_err(anyhow::Error::msg)?,
            images: get_ss(item, "images")?,
            version: get_n(item, "version")?,
            created_at: parse_time(item, "created_at")?,
            updated_at: parse_time(item, "updated_at")?,
        })
    };
    parse().map_err(|e| StoreError::Other(e.context("reading product item")))
}

fn claim_item(sku: &Sku, id: ProductId) -> Item {
    let mut item = key(sku_pk(sku), SKU_SK);
    item.insert("kind".into(), s("sku"));
    item.insert("sku".into(), s(sku.as_str()));
    item.insert("product_id".into(), s(id.to_string()));
    item
}

/// The product's write, conditioned on the version that was read.
fn guarded_product_put(table: &str, previous: &Product, next: &Product) -> StoreResult<Put> {
    Put::builder()
        .table_name(table)
        .set_item(Some(product_item(next)?))
        .condition_expression("#version = :expected")
        .expression_attribute_names("#version", "version")
        .expression_attribute_values(":expected", n(previous.version))
        .build()
        .map_err(build_error)
}

/// Releases a SKU claim, only if it is this product's.
fn claim_release(table: &str, sku: &Sku, id: ProductId) -> StoreResult<Delete> {
    Delete::builder()
        .table_name(table)
        .set_key(Some(key(sku_pk(sku), SKU_SK)))
        .condition_expression("product_id = :id")
        .expression_attribute_values(":id", s(id.to_string()))
        .build()
        .map_err(build_error)
}

/// Takes a SKU claim for `id`; a claim already held by `id` is fine, so a
/// retried transaction does not trip over its own claim.
fn claim_take(table: &str, sku: &Sku, id: ProductId) -> StoreResult<Put> {
    Put::builder()
        .table_name(table)
        .set_item(Some(claim_item(sku, id)))
        .condition_expression("attribute_not_exists(pk) OR product_id = :id")
        .expression_attribute_values(":id", s(id.to_string()))
        .build()
        .map_err(build_error)
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

/// What a cancelled transaction means, given the position of the SKU
/// claim's action (`None` when the transaction takes no claim). Any other
/// failed condition, or a conflicting concurrent transaction, means the
/// product moved on: `Stale` (which wins, like in the in-memory store).
fn write_error<R>(
    err: SdkError<TransactWriteItemsError, R>,
    claim_action: Option<usize>,
    context: &'static str,
) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match cancelled_conditions(&err) {
        Some(codes) => {
            let failed = |i: usize| codes.get(i).is_some_and(Option::is_some);
            let claim_failed = claim_action.is_some_and(failed);
            let other_failed = (0..codes.len()).any(|i| Some(i) != claim_action && failed(i));
            if other_failed || transient_cancellation(&err) {
                StoreError::Stale
            } else if claim_failed {
                StoreError::SkuTaken
            } else {
                aws(context)(err)
            }
        }
        None => aws(context)(err),
    }
}

impl DynamoCatalogStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

impl CatalogStore for DynamoCatalogStore {
    async fn create(
        &self,
        product: &Product,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(product_item(product)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        let claim = Put::builder()
            .table_name(&self.table)
            .set_item(Some(claim_item(&product.sku, product.id)))
            // The uniqueness rule: one claim per SKU.
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().put(claim).build())
            .transact_items(outbox_put(&self.table, event, now)?)
            .send()
            .await
            .map_err(|e| write_error(e, Some(1), "creating product"))?;
        Ok(())
    }

    async fn product(&self, id: ProductId) -> StoreResult<Option<Product>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(product_pk(id), PRODUCT_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws("reading product"))?;
        out.item.map(|item| product_from_item(&item)).transpose()
    }

    async fn replace(
        &self,
        previous: &Product,
        next: &Product,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .put(guarded_product_put(&self.table, previous, next)?)
                .build(),
        );
        let claim_action = if previous.sku != next.sku {
            tx = tx
                .transact_items(
                    TransactWriteItem::builder()
                        .delete(claim_release(&self.table, &previous.sku, previous.id)?)
                        .build(),
                )
                .transact_items(
                    TransactWriteItem::builder()
                        .put(claim_take(&self.table, &next.sku, next.id)?)
                        .build(),
                );
            Some(2)
        } else {
            None
        };
        tx.transact_items(outbox_put(&self.table, event, now)?)
            .send()
            .await
            .map_err(|e| write_error(e, claim_action, "replacing product"))?;
        Ok(())
    }

    async fn delete(
        &self,
        product: &Product,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let remove = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(product_pk(product.id), PRODUCT_SK)))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(product.version))
            .build()
            .map_err(build_error)?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(remove).build())
            .transact_items(
                TransactWriteItem::builder()
                    .delete(claim_release(&self.table, &product.sku, product.id)?)
                    .build(),
            )
            .transact_items(outbox_put(&self.table, event, now)?)
            .send()
            .await
            .map_err(|e| write_error(e, None, "deleting product"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
