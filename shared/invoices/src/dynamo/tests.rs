use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use contracts::events::{InvoiceGenerated, PaymentSucceeded};
use contracts::{CorrelationId, Currency, EventEnvelope, OrderId, UserId};
use time::macros::datetime;

use super::*;
use crate::model::document_key;

fn now() -> OffsetDateTime {
    datetime!(2026-11-21 10:06 UTC)
}

fn invoice() -> Invoice {
    let id = InvoiceId::for_payment("pay_1");
    let user = UserId::new();
    Invoice {
        document_key: document_key(user, &id),
        id,
        user_id: user,
        order_id: OrderId::new(),
        payment_id: "pay_1".into(),
        amount: 4_200,
        currency: Currency::EUR,
        method: PaymentKind::Card,
        created_at: now(),
    }
}

fn event(i: &Invoice) -> RawEnvelope {
    EventEnvelope::new(
        InvoiceGenerated {
            invoice_id: i.id.to_string(),
            order_id: i.order_id,
            user_id: i.user_id,
            payment_id: i.payment_id.clone(),
            amount: i.amount,
            currency: i.currency,
            document_key: i.document_key.clone(),
            generated_at: now(),
        },
        CorrelationId::new(),
        now(),
    )
    .into_raw()
    .expect("raw")
}

fn payment() -> PaymentSucceeded {
    PaymentSucceeded {
        payment_id: "pay_1".into(),
        order_id: OrderId::new(),
        user_id: UserId::new(),
        amount: 4_200,
        currency: Currency::EUR,
        method: PaymentKind::Wallet,
        provider_reference: "txn_1".into(),
        succeeded_at: now(),
    }
}

#[tokio::test]
async fn an_invoice_is_created_only_if_absent_with_its_event_in_one_transaction() {
    let seen: Arc<Mutex<Option<TransactWriteItemsInput>>> = Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            *capture.lock().expect("lock") = Some(req.clone());
            true
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoInvoiceStore::new(client, "payments".into());
    let i = invoice();

    store
        .create_invoice(&i, &event(&i), now())
        .await
        .expect("created");

    let input = seen.lock().expect("lock").clone().expect("sent");
    let items = input.transact_items();
    assert_eq!(items.len(), 2);
    let put = items[0].put().expect("invoice put");
    assert_eq!(put.table_name(), "payments");
    assert_eq!(put.condition_expression(), Some("attribute_not_exists(pk)"));
    let item = put.item();
    assert_eq!(item["pk"], s(format!("INVOICE#{}", i.id)));
    assert_eq!(item["sk"], s("INVOICE"));
    assert_eq!(item["user_id"], s(i.user_id.to_string()));
    assert_eq!(item["order_id"], s(i.order_id.to_string()));
    assert_eq!(item["document_key"], s(&i.document_key));
    assert_eq!(item["amount"], n(4_200));
    let outbox = items[1].put().expect("outbox");
    assert_eq!(outbox.item()["event_type"], s("invoice.generated"));

    // The item reads back as the same invoice.
    assert_eq!(invoice_from_item(item).expect("parses"), i);
}

#[tokio::test]
async fn a_taken_invoice_id_is_reported_as_existing() {
    let rule = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .cancellation_reasons(
                    CancellationReason::builder()
                        .code("ConditionalCheckFailed")
                        .build(),
                )
                .cancellation_reasons(CancellationReason::builder().code("None").build())
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoInvoiceStore::new(client, "payments".into());
    let i = invoice();
    let result = store.create_invoice(&i, &event(&i), now()).await;
    assert!(
        matches!(result, Err(StoreError::InvoiceExists)),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_receipt_part_is_set_if_absent_and_the_whole_item_returned() {
    let p = payment();
    let stored = serde_json::to_string(&p).expect("json");
    let seen: Arc<Mutex<Option<UpdateItemInput>>> = Arc::default();
    let capture = seen.clone();
    let returned = stored.clone();
    let rule = mock!(Client::update_item)
        .match_requests(move |req| {
            *capture.lock().expect("lock") = Some(req.clone());
            true
        })
        .then_output(move || {
            UpdateItemOutput::builder()
                .attributes("payment", s(returned.clone()))
                .attributes("kind", s("receipt_parts"))
                .build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoInvoiceStore::new(client, "payments".into());

    let parts = store
        .add_receipt_part(&ReceiptPart::Payment(p.clone()), now())
        .await
        .expect("recorded");
    assert_eq!(parts.payment, Some(p.clone()));
    assert_eq!(parts.order, None);

    let input = seen.lock().expect("lock").clone().expect("sent");
    let key = input.key().expect("key");
    assert_eq!(key["pk"], s(format!("RECEIPT#{}", p.order_id)));
    assert_eq!(key["sk"], s("PARTS"));
    assert!(
        input
            .update_expression()
            .expect("expression")
            .contains("#part = if_not_exists(#part, :part)")
    );
    assert_eq!(
        input.expression_attribute_names().expect("names")["#part"],
        "payment"
    );
    let values = input.expression_attribute_values().expect("values");
    assert_eq!(values[":part"], s(stored));
    assert_eq!(
        values[":expires"],
        n((now() + PARTS_RETENTION).unix_timestamp())
    );
    assert_eq!(input.return_values(), Some(&ReturnValue::AllNew));
}

#[tokio::test]
async fn an_unknown_invoice_reads_as_none() {
    let rule = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoInvoiceStore::new(client, "payments".into());
    assert_eq!(
        store
            .invoice(&InvoiceId::for_payment("x"))
            .await
            .expect("read"),
        None
    );
}
