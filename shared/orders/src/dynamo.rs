//! DynamoDB adapter of the orders store (single table, string keys
//! `pk`/`sk`, TTL attribute `expires_at`, two sparse indexes).
//!
//! | item                  | pk                                     | sk            | index keys |
//! |-----------------------|----------------------------------------|---------------|------------|
//! | product (projection)  | `PRODUCT#<product id>`                 | `PRODUCT`     | |
//! | cart                  | `CART#<user id>`                       | `CART`        | |
//! | order                 | `ORDER#<order id>`                     | `ORDER`       | gsi2: `USER#<user id>` / `ORDER#<placed at>#<order id>`; gsi1 while open: `OPEN` / `<placed at>#<order id>` |
//! | checkout idempotency  | `IDEMPOTENCY#checkout#<user id>#<key>` | `IDEMPOTENCY` | |
//! | consumer idempotency  | `IDEMPOTENCY#<consumer>#<event id>`    | `IDEMPOTENCY` | |
//! | outbox event          | `OUTBOX#<event id>`                    | `OUTBOX`      | |
//!
//! `gsi1` (keys only) lists the orders waiting for a saga step, oldest
//! first, for the timeout; an order leaves it when it leaves the open
//! statuses (the attributes are dropped). `gsi2` (all attributes) lists a
//! user's orders newest first.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use contracts::{CorrelationId, OrderId, ProductId, RawEnvelope, UserId};
use platform::dynamo::{
    ConditionFailed, Item, cancelled_conditions, get_n, get_opt_s, get_s, n, s,
};
use platform::outbox::outbox_put;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cursor;
use crate::keys::{
    CART_SK, IDEMPOTENCY_SK, OPEN_INDEX, OPEN_PK, ORDER_SK, PRODUCT_SK, USER_INDEX, cart_pk,
    checkout_idempotency_pk, open_sk, order_id_of_pk, order_pk, product_pk, stamp, user_orders_pk,
    user_orders_sk,
};
use crate::model::{
    Cart, CartItem, IdempotencyKey, IdempotencyRecord, Listing, Order, Page, ProjectedProduct,
};
use crate::store::{OrdersStore, PlaceOrder, StoreError, StoreResult};

/// Position of the idempotency record in a checkout transaction, to read
/// its cancellation reasons.
const CHECKOUT_IDEMPOTENCY_ACTION: usize = 2;
/// BatchGetItem takes at most 100 keys per request.
const BATCH_GET_MAX: usize = 100;
/// Rounds of retrying the keys a BatchGetItem left unprocessed (throttling).
const BATCH_GET_ROUNDS: u32 = 5;

#[derive(Clone)]
pub struct DynamoOrdersStore {
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

fn other(e: impl Into<anyhow::Error>) -> StoreError {
    StoreError::Other(e.into())
}

fn key(pk: String, sk: &str) -> Item {
    [("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))]
        .into_iter()
        .collect()
}

fn rfc3339(t: OffsetDateTime) -> StoreResult<String> {
    t.format(&Rfc3339).map_err(other)
}

fn parse_time(item: &Item, name: &str) -> anyhow::Result<OffsetDateTime> {
    Ok(OffsetDateTime::parse(get_s(item, name)?, &Rfc3339)?)
}

fn json<T: serde::Serialize>(value: &T) -> StoreResult<AttributeValue> {
    Ok(s(serde_json::to_string(value).map_err(other)?))
}

fn from_json<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> anyhow::Result<T> {
    Ok(serde_json::from_str(get_s(item, name)?)?)
}

fn product_item(p: &ProjectedProduct) -> Item {
    let mut item = key(product_pk(p.product_id), PRODUCT_SK);
    item.insert("kind".into(), s("product"));
    item.insert("product_id".into(), s(p.product_id.to_string()));
    item.insert("version".into(), n(p.version));
    item.insert("sku".into(), s(p.sku.as_str()));
    match &p.listing {
        Listing::OnSale {
            name,
            price,
            currency,
        } => {
            item.insert("deleted".into(), AttributeValue::Bool(false));
            item.insert("name".into(), s(name.as_str()));
            item.insert("price".into(), n(price));
            item.insert("currency".into(), s(currency.code()));
        }
        Listing::Deleted => {
            item.insert("deleted".into(), AttributeValue::Bool(true));
        }
    }
    item
}

fn product_from_item(item: &Item) -> StoreResult<ProjectedProduct> {
    let parse = || -> anyhow::Result<ProjectedProduct> {
        let deleted = matches!(item.get("deleted"), Some(AttributeValue::Bool(true)));
        let listing = if deleted {
            Listing::Deleted
        } else {
            Listing::OnSale {
                name: get_s(item, "name")?.to_owned(),
                price: get_n(item, "price")?,
                currency: get_s(item, "currency")?
                    .parse()
                    .map_err(anyhow::Error::msg)?,
            }
        };
        Ok(ProjectedProduct {
            product_id: get_s(item, "product_id")?.parse()?,
            version: get_n(item, "version")?,
            sku: get_s(item, "sku")?.to_owned(),
            listing,
        })
    };
    parse().map_err(|e| StoreError::Other(e.context("reading product item")))
}

fn cart_item(c: &Cart) -> StoreResult<Item> {
    let mut item = key(cart_pk(c.user_id), CART_SK);
    item.insert("kind".into(), s("cart"));
    item.insert("user_id".into(), s(c.user_id.to_string()));
    item.insert("items".into(), json(&c.items)?);
    item.insert("version".into(), n(c.version));
    Ok(item)
}

fn cart_from_item(item: &Item) -> StoreResult<Cart> {
    let parse = || -> anyhow::Result<Cart> {
        Ok(Cart {
            user_id: get_s(item, "user_id")?.parse()?,
            items: from_json::<Vec<CartItem>>(item, "items")?,
            version: get_n(item, "version")?,
        })
    };
    parse().map_err(|e| StoreError::Other(e.context("reading cart item")))
}

fn order_item(o: &Order) -> StoreResult<Item> {
    let mut item = key(order_pk(o.id), ORDER_SK);
    item.insert("kind".into(), s("order"));
    item.insert("order_id".into(), s(o.id.to_string()));
    item.insert("user_id".into(), s(o.user_id.to_string()));
    item.insert("status".into(), s(o.status.as_str()));
    item.insert("lines".into(), json(&o.lines)?);
    item.insert("total".into(), n(o.total));
    item.insert("currency".into(), s(o.currency.code()));
    item.insert("payment".into(), json(&o.payment)?);
    if let Some(payment_id) = &o.payment_id {
        item.insert("payment_id".into(), s(payment_id.as_str()));
    }
    item.insert("history".into(), json(&o.history)?);
    item.insert("version".into(), n(o.version));
    item.insert("correlation_id".into(), s(o.correlation_id.as_str()));
    item.insert("placed_at".into(), s(rfc3339(o.placed_at)?));
    item.insert("updated_at".into(), s(rfc3339(o.updated_at)?));
    item.insert("gsi2pk".into(), s(user_orders_pk(o.user_id)));
    item.insert(
        "gsi2sk".into(),
        s(user_orders_sk(o.placed_at, o.id).map_err(other)?),
    );
    // Sparse index: only open orders carry its keys, so a status change
    // that closes the order (a put without them) takes it out.
    if o.status.is_open() {
        item.insert("gsi1pk".into(), s(OPEN_PK));
        item.insert(
            "gsi1sk".into(),
            s(open_sk(o.placed_at, o.id).map_err(other)?),
        );
    }
    Ok(item)
}

fn order_from_item(item: &Item) -> StoreResult<Order> {
    let parse = || -> anyhow::Result<Order> {
        let correlation = get_s(item, "correlation_id")?;
        Ok(Order {
            id: get_s(item, "order_id")?.parse()?,
            user_id: get_s(item, "user_id")?.parse()?,
            status: get_s(item, "status")?.parse().map_err(anyhow::Error::msg)?,
            lines: from_json(item, "lines")?,
            total: get_n(item, "total")?,
            currency: get_s(item, "currency")?
                .parse()
                .map_err(anyhow::Error::msg)?,
            payment: from_json(item, "payment")?,
            payment_id: get_opt_s(item, "payment_id")?.map(str::to_owned),
            history: from_json(item, "history")?,
            version: get_n(item, "version")?,
            correlation_id: CorrelationId::from_header(correlation)
                .ok_or_else(|| anyhow::anyhow!("correlation_id {correlation:?} is malformed"))?,
            placed_at: parse_time(item, "placed_at")?,
            updated_at: parse_time(item, "updated_at")?,
        })
    };
    parse().map_err(|e| StoreError::Other(e.context("reading order item")))
}

fn idempotency_item(r: &IdempotencyRecord) -> Item {
    let mut item = key(checkout_idempotency_pk(r.user_id, &r.key), IDEMPOTENCY_SK);
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

/// The condition of a write of a versioned item (cart, order): the stored
/// one is still at `expected`, or, for 0, does not exist yet.
struct VersionCondition {
    expression: &'static str,
    names: Option<HashMap<String, String>>,
    values: Option<Item>,
}

fn version_condition(expected: u64) -> VersionCondition {
    if expected == 0 {
        VersionCondition {
            expression: "attribute_not_exists(pk)",
            names: None,
            values: None,
        }
    } else {
        VersionCondition {
            expression: "#version = :expected",
            names: Some(HashMap::from([(
                "#version".to_owned(),
                "version".to_owned(),
            )])),
            values: Some(HashMap::from([(":expected".to_owned(), n(expected))])),
        }
    }
}

fn versioned_put(table: &str, item: Item, expected: u64) -> StoreResult<Put> {
    let condition = version_condition(expected);
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition.expression)
        .set_expression_attribute_names(condition.names)
        .set_expression_attribute_values(condition.values)
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

/// What a cancelled checkout transaction means. A taken key means "already
/// done", whatever else failed. Any other failed condition (the cart moved
/// on, or an id collision), a conflicting concurrent transaction or
/// throttling means "read again and retry".
fn checkout_error<R>(err: SdkError<TransactWriteItemsError, R>) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match cancelled_conditions(&err) {
        Some(codes)
            if codes
                .get(CHECKOUT_IDEMPOTENCY_ACTION)
                .is_some_and(Option::is_some) =>
        {
            StoreError::KeyTaken
        }
        Some(codes) if codes.iter().any(Option::is_some) || transient_cancellation(&err) => {
            StoreError::Stale
        }
        _ => aws("placing order")(err),
    }
}

fn update_error<R>(err: SdkError<TransactWriteItemsError, R>) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if err.is_condition_failed() || transient_cancellation(&err) {
        StoreError::Stale
    } else {
        aws("updating order")(err)
    }
}

impl DynamoOrdersStore {
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

    /// One BatchGetItem request, with the keys it leaves unprocessed
    /// (throttling) asked for again a few times.
    async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(build_error)?;
        for round in 1..=BATCH_GET_ROUNDS {
            let mut out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(aws("reading products"))?;
            if let Some(items) = out.responses.as_mut().and_then(|r| r.remove(&self.table)) {
                found.extend(items);
            }
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => {
                    request = rest;
                    tokio::time::sleep(std::time::Duration::from_millis(20 << round)).await;
                }
                _ => return Ok(found),
            }
        }
        Err(StoreError::Other(anyhow::anyhow!(
            "reading products: keys still unprocessed after {BATCH_GET_ROUNDS} rounds"
        )))
    }
}

impl OrdersStore for DynamoOrdersStore {
    async fn product(&self, id: ProductId) -> StoreResult<Option<ProjectedProduct>> {
        self.get(product_pk(id), PRODUCT_SK)
            .await?
            .map(|item| product_from_item(&item))
            .transpose()
    }

    async fn products(
        &self,
        ids: &[ProductId],
    ) -> StoreResult<HashMap<ProductId, ProjectedProduct>> {
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        let mut products = HashMap::new();
        for chunk in unique.chunks(BATCH_GET_MAX) {
            let keys = chunk
                .iter()
                .map(|id| key(product_pk(*id), PRODUCT_SK))
                .collect();
            for item in self.batch_get(keys).await? {
                let product = product_from_item(&item)?;
                products.insert(product.product_id, product);
            }
        }
        Ok(products)
    }

    async fn put_product(&self, product: &ProjectedProduct) -> StoreResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(product_item(product)))
            // The highest catalog version wins, in whatever order events come.
            .condition_expression("attribute_not_exists(pk) OR #version < :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":version", n(product.version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.is_condition_failed() => Ok(false),
            Err(e) => Err(aws("storing product")(e)),
        }
    }

    async fn cart(&self, user_id: UserId) -> StoreResult<Cart> {
        match self.get(cart_pk(user_id), CART_SK).await? {
            Some(item) => cart_from_item(&item),
            None => Ok(Cart::empty(user_id)),
        }
    }

    async fn save_cart(&self, cart: &Cart, expected_version: u64) -> StoreResult<()> {
        let condition = version_condition(expected_version);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(cart_item(cart)?))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.is_condition_failed() => Err(StoreError::Stale),
            Err(e) => Err(aws("storing cart")(e)),
        }
    }

    async fn place_order(
        &self,
        write: PlaceOrder<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let PlaceOrder {
            order,
            cart,
            idempotency,
        } = write;
        let create = Put::builder()
            .table_name(&self.table)
            .set_item(Some(order_item(order)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        let emptied = Cart {
            user_id: cart.user_id,
            items: Vec::new(),
            version: cart.version + 1,
        };
        let empty_cart = versioned_put(&self.table, cart_item(&emptied)?, cart.version)?;
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
            .transact_items(TransactWriteItem::builder().put(create).build())
            .transact_items(TransactWriteItem::builder().put(empty_cart).build())
            .transact_items(TransactWriteItem::builder().put(remember).build())
            .transact_items(outbox_put(&self.table, event, now)?)
            .send()
            .await
            .map_err(checkout_error)?;
        Ok(())
    }

    async fn checkout_record(
        &self,
        user_id: UserId,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        self.get(checkout_idempotency_pk(user_id, key), IDEMPOTENCY_SK)
            .await?
            .map(|item| record_from_item(&item))
            .transpose()
    }

    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>> {
        self.get(order_pk(id), ORDER_SK)
            .await?
            .map(|item| order_from_item(&item))
            .transpose()
    }

    async fn update_order(
        &self,
        order: &Order,
        expected_version: u64,
        event: Option<&RawEnvelope>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        // Never a create: an order exists from checkout on.
        let replace = versioned_put(&self.table, order_item(order)?, expected_version.max(1))?;
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(replace).build());
        if let Some(event) = event {
            request = request.transact_items(outbox_put(&self.table, event, now)?);
        }
        request.send().await.map_err(update_error)?;
        Ok(())
    }

    async fn orders_of(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Order>> {
        let start = cursor
            .map(|c| cursor::user_orders_position(c, user_id))
            .transpose()
            .map_err(|_| StoreError::BadCursor)?
            .map(|key| key.into_iter().map(|(k, v)| (k, s(v))).collect());
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(USER_INDEX)
            .key_condition_expression("gsi2pk = :user")
            .expression_attribute_values(":user", s(user_orders_pk(user_id)))
            .scan_index_forward(false)
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit).unwrap_or(100))
            .send()
            .await
            .map_err(aws("reading the user's orders"))?;
        let items = out
            .items()
            .iter()
            .map(order_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = out.last_evaluated_key().and_then(|k| {
            let key: BTreeMap<String, String> = cursor::USER_ORDERS_KEY
                .iter()
                .map(|name| Some(((*name).to_owned(), get_s(k, name).ok()?.to_owned())))
                .collect::<Option<_>>()?;
            Some(cursor::encode(&key))
        });
        Ok(Page { items, next_cursor })
    }

    async fn open_orders(
        &self,
        placed_before: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OrderId>> {
        let cutoff = stamp(placed_before).map_err(other)?;
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let remaining = limit.saturating_sub(u32::try_from(ids.len()).unwrap_or(u32::MAX));
            if remaining == 0 {
                break;
            }
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OPEN_INDEX)
                .key_condition_expression("gsi1pk = :open AND gsi1sk < :cutoff")
                .expression_attribute_values(":open", s(OPEN_PK))
                .expression_attribute_values(":cutoff", s(cutoff.as_str()))
                .scan_index_forward(true)
                .set_exclusive_start_key(start)
                .limit(i32::try_from(remaining).unwrap_or(100))
                .send()
                .await
                .map_err(aws("listing open orders"))?;
            for item in out.items() {
                let pk = get_s(item, "pk").map_err(other)?;
                let id = order_id_of_pk(pk)
                    .ok_or_else(|| other(anyhow::anyhow!("open-orders index holds {pk:?}")))?;
                ids.push(id);
            }
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests;
