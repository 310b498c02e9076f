//! DynamoDB adapter (the payments table: string keys `pk`/`sk`, TTL
//! attribute `expires_at`, stream relayed by the outbox relay).
//!
//! | item           | pk                   | sk        |
//! |----------------|----------------------|-----------|
//! | invoice        | `INVOICE#<id>`       | `INVOICE` |
//! | receipt parts  | `RECEIPT#<order id>` | `PARTS`   |
//! | outbox event   | `OUTBOX#<event id>`  | `OUTBOX`  |

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use contracts::RawEnvelope;
use contracts::events::PaymentKind;
use platform::dynamo::{Item, cancelled_conditions, get_n, get_opt_s, get_s, n, s};
use platform::outbox::outbox_put;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::model::{Invoice, InvoiceId};
use crate::store::{InvoiceStore, ReceiptPart, ReceiptParts, StoreError, StoreResult};

pub const INVOICE_SK: &str = "INVOICE";
pub const PARTS_SK: &str = "PARTS";
/// A part whose partner never comes (the order was cancelled after the
/// payment and refunded) is forgotten after this long.
pub const PARTS_RETENTION: Duration = Duration::days(30);

pub fn invoice_pk(id: &InvoiceId) -> String {
    format!("INVOICE#{id}")
}

pub fn parts_pk(order_id: contracts::OrderId) -> String {
    format!("RECEIPT#{order_id}")
}

#[derive(Clone)]
pub struct DynamoInvoiceStore {
    client: Client,
    table: String,
}

impl DynamoInvoiceStore {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
    [("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))]
        .into_iter()
        .collect()
}

fn method_str(m: PaymentKind) -> &'static str {
    match m {
        PaymentKind::Wallet => "wallet",
        PaymentKind::Card => "card",
    }
}

fn method_from(raw: &str) -> anyhow::Result<PaymentKind> {
    match raw {
        "wallet" => Ok(PaymentKind::Wallet),
        "card" => Ok(PaymentKind::Card),
        other => anyhow::bail!("unknown payment method {other:?}"),
    }
}

pub fn invoice_item(i: &Invoice) -> anyhow::Result<Item> {
    let mut item = key(invoice_pk(&i.id), INVOICE_SK);
    item.insert("kind".into(), s("invoice"));
    item.insert("invoice_id".into(), s(i.id.as_str()));
    item.insert("user_id".into(), s(i.user_id.to_string()));
    item.insert("order_id".into(), s(i.order_id.to_string()));
    item.insert("payment_id".into(), s(&i.payment_id));
    item.insert("amount".into(), n(i.amount));
    item.insert("currency".into(), s(i.currency.code()));
    item.insert("method".into(), s(method_str(i.method)));
    item.insert("document_key".into(), s(&i.document_key));
    item.insert(
        "created_at".into(),
        s(i.created_at
            .format(&Rfc3339)
            .context("formatting created_at")?),
    );
    Ok(item)
}

fn invoice_from_item(item: &Item) -> anyhow::Result<Invoice> {
    Ok(Invoice {
        id: get_s(item, "invoice_id")?.parse()?,
        user_id: get_s(item, "user_id")?.parse()?,
        order_id: get_s(item, "order_id")?.parse()?,
        payment_id: get_s(item, "payment_id")?.to_owned(),
        amount: get_n(item, "amount")?,
        currency: get_s(item, "currency")?
            .parse()
            .map_err(anyhow::Error::msg)?,
        method: method_from(get_s(item, "method")?)?,
        document_key: get_s(item, "document_key")?.to_owned(),
        created_at: OffsetDateTime::parse(get_s(item, "created_at")?, &Rfc3339)?,
    })
}

fn parts_from_item(item: &Item) -> anyhow::Result<ReceiptParts> {
    Ok(ReceiptParts {
        payment: get_opt_s(item, "payment")?
            .map(serde_json::from_str)
            .transpose()
            .context("reading the payment part")?,
        order: get_opt_s(item, "order")?
            .map(serde_json::from_str)
            .transpose()
            .context("reading the order part")?,
    })
}

impl InvoiceStore for DynamoInvoiceStore {
    async fn add_receipt_part(
        &self,
        part: &ReceiptPart,
        now: OffsetDateTime,
    ) -> StoreResult<ReceiptParts> {
        let (attribute, json) = match part {
            ReceiptPart::Payment(p) => ("payment", serde_json::to_string(p)),
            ReceiptPart::Order(o) => ("order", serde_json::to_string(o)),
        };
        let json = json.context("encoding the receipt part")?;
        // One item per order, updated in place: DynamoDB applies updates to
        // an item one at a time, so the second of two parts written at once
        // returns both.
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(parts_pk(part.order_id()), PARTS_SK)))
            .update_expression(
                "SET #part = if_not_exists(#part, :part), kind = :kind, expires_at = :expires",
            )
            .expression_attribute_names("#part", attribute)
            .expression_attribute_values(":part", s(json))
            .expression_attribute_values(":kind", s("receipt_parts"))
            .expression_attribute_values(":expires", n((now + PARTS_RETENTION).unix_timestamp()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| {
                StoreError::Other(anyhow::anyhow!(
                    "recording a receipt part: {}",
                    DisplayErrorContext(e)
                ))
            })?;
        let item = out
            .attributes
            .ok_or_else(|| anyhow::anyhow!("the receipt parts update returned no item"))?;
        Ok(parts_from_item(&item)?)
    }

    async fn invoice(&self, id: &InvoiceId) -> StoreResult<Option<Invoice>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(invoice_pk(id), INVOICE_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                StoreError::Other(anyhow::anyhow!(
                    "reading an invoice: {}",
                    DisplayErrorContext(e)
                ))
            })?;
        Ok(out
            .item
            .map(|item| invoice_from_item(&item).context("reading an invoice item"))
            .transpose()?)
    }

    async fn create_invoice(
        &self,
        invoice: &Invoice,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(invoice_item(invoice)?))
            // One invoice per payment: the id is derived from the payment,
            // so this condition is the idempotency rule.
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .context("building the invoice put")?;
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
                Err(StoreError::InvoiceExists)
            }
            Err(e) => Err(StoreError::Other(anyhow::anyhow!(
                "creating an invoice: {}",
                DisplayErrorContext(e)
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
