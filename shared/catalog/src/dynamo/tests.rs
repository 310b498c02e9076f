//! The adapter tested at the SDK's HTTP seam: the requests it sends and how
//! it reads DynamoDB's answers (the emulator tests run end to end).

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use contracts::events::ProductUpdated;
use contracts::{CorrelationId, Currency, EventEnvelope};
use time::macros::datetime;

use super::*;
use crate::model::ProductInput;

fn product() -> Product {
    let mut p = Product::create(
        ProductInput {
            sku: Sku::parse("MUG-001").expect("sku"),
            name: ProductName::parse("Café mug").expect("name"),
            description: ProductDescription::parse("Stoneware.").expect("description"),
            category: Category::parse("kitchen").expect("category"),
            price: Price::new(1250).expect("price"),
            currency: Currency::EUR,
        },
        datetime!(2026-11-21 10:00:00.123456 UTC),
    );
    p.images = vec!["products/x/images/a.png".into()];
    p
}

fn event(p: &Product) -> RawEnvelope {
    EventEnvelope::new(
        ProductUpdated {
            product_id: p.id,
            version: p.version,
            product: p.details(),
            updated_at: p.updated_at,
        },
        CorrelationId::new(),
        p.updated_at,
    )
    .into_raw()
    .expect("raw")
}

fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
    let mut e = TransactionCanceledException::builder().message("Transaction cancelled");
    for code in codes {
        e = e.cancellation_reasons(CancellationReason::builder().code(*code).build());
    }
    TransactWriteItemsError::TransactionCanceledException(e.build())
}

fn str_attr<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn capturing() -> (Client, Arc<Mutex<Option<TransactWriteItemsInput>>>) {
    let seen: Arc<Mutex<Option<TransactWriteItemsInput>>> = Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            *capture.lock().expect("lock") = Some(req.clone());
            true
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    (
        mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]),
        seen,
    )
}

fn failing(codes: &'static [&'static str]) -> DynamoCatalogStore {
    let rule = mock!(Client::transact_write_items).then_error(move || cancelled(codes));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    DynamoCatalogStore::new(client, "catalog".into())
}

#[test]
fn product_items_round_trip() {
    let p = product();
    let item = product_item(&p).expect("item");
    assert_eq!(
        str_attr(&item, "pk"),
        Some(format!("PRODUCT#{}", p.id).as_str())
    );
    assert_eq!(str_attr(&item, "sk"), Some("PRODUCT"));
    assert_eq!(product_from_item(&item).expect("parsed"), p);
    let mut broken = item.clone();
    broken.insert("price".into(), s("lots"));
    assert!(product_from_item(&broken).is_err());
}

#[tokio::test]
async fn a_create_is_product_sku_claim_and_event_in_one_transaction() {
    let (client, seen) = capturing();
    let store = DynamoCatalogStore::new(client, "catalog".into());
    let p = product();
    store
        .create(&p, &event(&p), OffsetDateTime::now_utc())
        .await
        .expect("created");
    let input = seen.lock().expect("lock").clone().expect("sent");
    let items = input.transact_items();
    assert_eq!(items.len(), 3);
    let put = items[0].put().expect("product");
    assert_eq!(put.table_name(), "catalog");
    assert_eq!(put.condition_expression(), Some("attribute_not_exists(pk)"));
    let claim = items[1].put().expect("claim");
    assert_eq!(str_attr(claim.item(), "pk"), Some("SKU#MUG-001"));
    assert_eq!(
        str_attr(claim.item(), "product_id"),
        Some(p.id.to_string().as_str())
    );
    assert_eq!(
        claim.condition_expression(),
        Some("attribute_not_exists(pk)")
    );
    let outbox = items[2].put().expect("outbox");
    assert_eq!(str_attr(outbox.item(), "kind"), Some("outbox"));
    assert_eq!(
        str_attr(outbox.item(), "event_type"),
        Some("product.updated")
    );
}

#[tokio::test]
async fn create_cancellations_tell_a_taken_sku_from_the_rest() {
    let p = product();
    let now = OffsetDateTime::now_utc();
    let taken = failing(&["None", "ConditionalCheckFailed", "None"])
        .create(&p, &event(&p), now)
        .await;
    assert!(matches!(taken, Err(StoreError::SkuTaken)), "{taken:?}");
    let collision = failing(&["ConditionalCheckFailed", "None", "None"])
        .create(&p, &event(&p), now)
        .await;
    assert!(matches!(collision, Err(StoreError::Stale)), "{collision:?}");
}

#[tokio::test]
async fn a_sku_change_moves_the_claim_in_the_same_transaction() {
    let (client, seen) = capturing();
    let store = DynamoCatalogStore::new(client, "catalog".into());
    let previous = product();
    let next = previous.revised(OffsetDateTime::now_utc(), |p| {
        p.sku = Sku::parse("MUG-002").expect("sku")
    });
    store
        .replace(&previous, &next, &event(&next), OffsetDateTime::now_utc())
        .await
        .expect("replaced");
    let input = seen.lock().expect("lock").clone().expect("sent");
    let items = input.transact_items();
    assert_eq!(items.len(), 4);
    let put = items[0].put().expect("product");
    assert_eq!(put.condition_expression(), Some("#version = :expected"));
    assert_eq!(
        put.expression_attribute_values()
            .and_then(|v| v.get(":expected")),
        Some(&n(1))
    );
    assert_eq!(put.item().get("version"), Some(&n(2)));
    let release = items[1].delete().expect("release");
    assert_eq!(str_attr(release.key(), "pk"), Some("SKU#MUG-001"));
    assert_eq!(release.condition_expression(), Some("product_id = :id"));
    let take = items[2].put().expect("take");
    assert_eq!(str_attr(take.item(), "pk"), Some("SKU#MUG-002"));
    assert!(items[3].put().is_some());
}

#[tokio::test]
async fn replace_cancellations_map_to_stale_or_taken() {
    let previous = product();
    let now = OffsetDateTime::now_utc();
    let moved = previous.revised(now, |p| p.sku = Sku::parse("MUG-002").expect("sku"));
    let same_sku = previous.revised(now, |p| p.price = Price::new(1).expect("price"));
    let cases: [(&'static [&'static str], &Product, &str); 5] = [
        (
            &["None", "None", "ConditionalCheckFailed", "None"],
            &moved,
            "taken",
        ),
        (
            &["ConditionalCheckFailed", "None", "None", "None"],
            &moved,
            "stale",
        ),
        (
            &[
                "ConditionalCheckFailed",
                "None",
                "ConditionalCheckFailed",
                "None",
            ],
            &moved,
            "stale",
        ),
        (&["TransactionConflict", "None"], &same_sku, "stale"),
        (&["ConditionalCheckFailed", "None"], &same_sku, "stale"),
    ];
    for (codes, next, expected) in cases {
        let result = failing(codes)
            .replace(&previous, next, &event(next), now)
            .await;
        let got = match result {
            Err(StoreError::SkuTaken) => "taken",
            Err(StoreError::Stale) => "stale",
            other => panic!("{codes:?}: {other:?}"),
        };
        assert_eq!(got, expected, "{codes:?}");
    }
}

#[tokio::test]
async fn reads_are_consistent_and_parse_the_item() {
    let p = product();
    let item = product_item(&p).expect("item");
    let rule = mock!(Client::get_item)
        .match_requests(|req| req.consistent_read() == Some(true))
        .then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(item.clone()))
                .build()
        });
    let missing = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule, &missing]);
    let store = DynamoCatalogStore::new(client, "catalog".into());
    assert_eq!(store.product(p.id).await.expect("read"), Some(p));
    assert_eq!(store.product(ProductId::new()).await.expect("read"), None);
}
