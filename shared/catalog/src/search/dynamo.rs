//! DynamoDB adapter of the search read model: table `CatalogSearchTable`
//! (string keys `pk`/`sk`, TTL `expires_at`, GSI `by_price` on
//! `pk` + `price_key`).
//!
//! | item                 | pk                                        | sk             | price_key           |
//! |----------------------|-------------------------------------------|----------------|---------------------|
//! | index state          | `PRODUCT#<product id>`                    | `STATE`        | -                   |
//! | listing, all         | `ALL`                                     | `<product id>` | `<price 12>#<id>`   |
//! | listing, category    | `CAT#<slug>`                              | `<product id>` | `<price 12>#<id>`   |
//! | posting              | `TOK#<term>`                              | `<product id>` | `<price 12>#<id>`   |
//! | tombstone            | any listing partition                     | `<product id>` | - (not in the GSI)  |
//! | consumer idempotency | `IDEMPOTENCY#catalog-search-indexer#<id>` | `IDEMPOTENCY`  | -                   |

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use contracts::ProductId;
use platform::dynamo::{ConditionFailed, Item, get_n, get_s, get_ss, n, s};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::search::model::{IndexState, Listing, Order, PageRequest, Row, RowKey, RowPage};
use crate::search::store::SearchStore;

pub const PRICE_INDEX: &str = "by_price";
const STATE_SK: &str = "STATE";

#[derive(Clone)]
pub struct DynamoSearchStore {
    client: Client,
    table: String,
}

fn state_pk(id: ProductId) -> String {
    format!("PRODUCT#{id}")
}

fn list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.as_str())).collect())
}

fn get_bool(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

fn aws_error<E, R>(context: &str, e: SdkError<E, R>) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    anyhow::anyhow!("{context}: {}", DisplayErrorContext(e))
}

fn state_item(state: &IndexState) -> Item {
    [
        ("pk".to_owned(), s(state_pk(state.product_id))),
        ("sk".to_owned(), s(STATE_SK)),
        ("kind".to_owned(), s("index_state")),
        ("product_id".to_owned(), s(state.product_id.to_string())),
        ("version".to_owned(), n(state.version)),
        ("deleted".to_owned(), AttributeValue::Bool(state.deleted)),
        ("complete".to_owned(), AttributeValue::Bool(state.complete)),
        ("partitions".to_owned(), list(&state.partitions)),
        ("stale_partitions".to_owned(), list(&state.stale_partitions)),
    ]
    .into_iter()
    .collect()
}

fn state_from_item(item: &Item) -> anyhow::Result<IndexState> {
    Ok(IndexState {
        product_id: get_s(item, "product_id")?.parse()?,
        version: get_n(item, "version")?,
        deleted: get_bool(item, "deleted"),
        complete: get_bool(item, "complete"),
        partitions: get_ss(item, "partitions")?,
        stale_partitions: get_ss(item, "stale_partitions")?,
    })
}

fn rfc3339(t: OffsetDateTime) -> anyhow::Result<String> {
    Ok(t.format(&Rfc3339)?)
}

pub(crate) fn row_item(partition: &str, row: &Row) -> anyhow::Result<Item> {
    let mut item: Item = [
        ("pk".to_owned(), s(partition)),
        ("sk".to_owned(), s(row.product_id.to_string())),
        ("product_id".to_owned(), s(row.product_id.to_string())),
        ("version".to_owned(), n(row.version)),
    ]
    .into_iter()
    .collect();
    match &row.listing {
        Some(l) => {
            item.insert("kind".into(), s("listing"));
            item.insert("price_key".into(), s(l.price_key()));
            item.insert("sku".into(), s(l.sku.as_str()));
            item.insert("name".into(), s(l.name.as_str()));
            item.insert("summary".into(), s(l.summary.as_str()));
            item.insert("category".into(), s(l.category.as_str()));
            item.insert("price".into(), n(l.price));
            item.insert("currency".into(), s(l.currency.code()));
            item.insert("updated_at".into(), s(rfc3339(l.updated_at)?));
            item.insert("name_words".into(), list(&l.name_words));
            item.insert("text_words".into(), list(&l.text_words));
        }
        None => {
            item.insert("kind".into(), s("tombstone"));
            item.insert("hidden".into(), AttributeValue::Bool(true));
        }
    }
    if let Some(at) = row.expires_at {
        item.insert("expires_at".into(), n(at.unix_timestamp()));
    }
    Ok(item)
}

/// The listing of a row item; `None` for a tombstone.
pub(crate) fn listing_from_item(item: &Item) -> anyhow::Result<Option<Listing>> {
    if get_bool(item, "hidden") {
        return Ok(None);
    }
    let parse = || -> anyhow::Result<Listing> {
        Ok(Listing {
            product_id: get_s(item, "product_id")?.parse()?,
            version: get_n(item, "version")?,
            sku: get_s(item, "sku")?.to_owned(),
            name: get_s(item, "name")?.to_owned(),
            summary: get_s(item, "summary")?.to_owned(),
            category: get_s(item, "category")?.to_owned(),
            price: get_n(item, "price")?,
            currency: get_s(item, "currency")?
                .parse()
                .map_err(anyhow::Error::msg)?,
            updated_at: OffsetDateTime::parse(get_s(item, "updated_at")?, &Rfc3339)?,
            name_words: get_ss(item, "name_words")?,
            text_words: get_ss(item, "text_words")?,
        })
    };
    parse()
        .map(Some)
        .map_err(|e| e.context("reading listing item"))
}

fn row_key(item: &HashMap<String, AttributeValue>) -> anyhow::Result<RowKey> {
    Ok(RowKey {
        product_id: get_s(item, "sk")?.parse()?,
        price_key: match item.get("price_key") {
            Some(AttributeValue::S(k)) => Some(k.clone()),
            _ => None,
        },
    })
}

impl DynamoSearchStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

impl SearchStore for DynamoSearchStore {
    async fn state(&self, id: ProductId) -> anyhow::Result<Option<IndexState>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(state_pk(id)))
            .key("sk", s(STATE_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("reading index state", e))?;
        out.item
            .map(|item| state_from_item(&item).map_err(|e| e.context("reading index state item")))
            .transpose()
    }

    async fn claim(&self, state: &IndexState, read: Option<(u64, bool)>) -> anyhow::Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(state_item(state)));
        let put = match read {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some((version, complete)) => put
                .condition_expression("#version = :version AND #complete = :complete")
                .expression_attribute_names("#version", "version")
                .expression_attribute_names("#complete", "complete")
                .expression_attribute_values(":version", n(version))
                .expression_attribute_values(":complete", AttributeValue::Bool(complete)),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.is_condition_failed() => Ok(false),
            Err(e) => Err(aws_error("claiming index state", e)),
        }
    }

    async fn put_row(&self, partition: &str, row: &Row) -> anyhow::Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(row_item(partition, row)?))
            .condition_expression("attribute_not_exists(pk) OR #version <= :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":version", n(row.version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.is_condition_failed() => Ok(false),
            Err(e) => Err(aws_error("writing listing row", e)),
        }
    }

    async fn complete(&self, id: ProductId, version: u64) -> anyhow::Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(state_pk(id)))
            .key("sk", s(STATE_SK))
            .update_expression("SET #complete = :yes")
            .condition_expression("#version = :version")
            .expression_attribute_names("#complete", "complete")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":version", n(version))
            .send()
            .await;
        match result {
            // A newer version claimed the state meanwhile: its run finishes it.
            Ok(_) => Ok(()),
            Err(e) if e.is_condition_failed() => Ok(()),
            Err(e) => Err(aws_error("completing index state", e)),
        }
    }

    async fn page(&self, request: &PageRequest) -> anyhow::Result<RowPage> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":p", s(request.partition.as_str()))
            .limit(i32::try_from(request.limit).unwrap_or(200));
        let mut start: Option<HashMap<String, AttributeValue>> = request.after.as_ref().map(|k| {
            [
                ("pk".to_owned(), s(request.partition.as_str())),
                ("sk".to_owned(), s(k.product_id.to_string())),
            ]
            .into_iter()
            .collect()
        });
        query = match request.order {
            Order::NewestFirst => query
                .key_condition_expression("pk = :p")
                .scan_index_forward(false),
            Order::PriceAsc | Order::PriceDesc => {
                if let (Some(start), Some(k)) = (start.as_mut(), request.after.as_ref()) {
                    let price_key = k.price_key.clone().ok_or_else(|| {
                        anyhow::anyhow!("price order continued without a price key")
                    })?;
                    start.insert("price_key".into(), s(price_key));
                }
                let query = query
                    .index_name(PRICE_INDEX)
                    .scan_index_forward(request.order == Order::PriceAsc);
                match request.price_range {
                    // '#' sorts before every digit and '~' after every id
                    // character, so the bounds take in whole prices.
                    Some((lo, hi)) => query
                        .key_condition_expression("pk = :p AND price_key BETWEEN :lo AND :hi")
                        .expression_attribute_values(":lo", s(format!("{lo:012}#")))
                        .expression_attribute_values(":hi", s(format!("{hi:012}#~"))),
                    None => query.key_condition_expression("pk = :p"),
                }
            }
        };
        let out = query
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| aws_error("reading search partition", e))?;
        let mut rows = Vec::new();
        for item in out.items() {
            if let Some(listing) = listing_from_item(item)? {
                rows.push(listing);
            }
        }
        let last = out.last_evaluated_key().map(row_key).transpose()?;
        Ok(RowPage {
            rows,
            last,
            scanned: usize::try_from(out.scanned_count()).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests;
