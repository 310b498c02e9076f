//! The read model adapter tested at the SDK's HTTP seam.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use contracts::Currency;
use time::macros::datetime;

use super::*;

fn listing() -> Listing {
    Listing {
        product_id: ProductId::new(),
        version: 3,
        sku: "MUG-001".into(),
        name: "Café mug".into(),
        summary: "Stoneware.".into(),
        category: "kitchen".into(),
        price: 1250,
        currency: Currency::EUR,
        updated_at: datetime!(2026-11-21 10:00:00.5 UTC),
        name_words: vec!["cafe".into(), "mug".into()],
        text_words: vec!["stoneware".into()],
    }
}

fn str_attr<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn condition_failed() -> PutItemError {
    PutItemError::ConditionalCheckFailedException(
        ConditionalCheckFailedException::builder()
            .message("no")
            .build(),
    )
}

#[test]
fn rows_round_trip_and_tombstones_stay_out_of_the_price_index() {
    let l = listing();
    let visible = Row {
        product_id: l.product_id,
        version: 3,
        listing: Some(l.clone()),
        expires_at: None,
    };
    let item = row_item("TOK#mug", &visible).expect("item");
    assert_eq!(str_attr(&item, "pk"), Some("TOK#mug"));
    assert_eq!(
        str_attr(&item, "sk"),
        Some(l.product_id.to_string().as_str())
    );
    assert_eq!(
        str_attr(&item, "price_key"),
        Some(format!("000000001250#{}", l.product_id).as_str())
    );
    assert!(!item.contains_key("expires_at"));
    assert_eq!(listing_from_item(&item).expect("parsed"), Some(l.clone()));

    let tombstone = Row {
        listing: None,
        expires_at: Some(datetime!(2026-11-23 10:00 UTC)),
        ..visible
    };
    let item = row_item("TOK#mug", &tombstone).expect("item");
    assert!(!item.contains_key("price_key"));
    assert_eq!(item.get("hidden"), Some(&AttributeValue::Bool(true)));
    assert!(item.contains_key("expires_at"));
    assert_eq!(listing_from_item(&item).expect("parsed"), None);
}

#[tokio::test]
async fn rows_are_written_only_over_older_versions() {
    let seen: Arc<Mutex<Option<PutItemInput>>> = Arc::default();
    let capture = seen.clone();
    let ok = mock!(Client::put_item)
        .match_requests(move |req| {
            *capture.lock().expect("lock") = Some(req.clone());
            true
        })
        .then_output(|| PutItemOutput::builder().build());
    let newer_there = mock!(Client::put_item).then_error(condition_failed);
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&ok, &newer_there]);
    let store = DynamoSearchStore::new(client, "search".into());
    let l = listing();
    let row = Row {
        product_id: l.product_id,
        version: 3,
        listing: Some(l),
        expires_at: None,
    };
    assert!(store.put_row("ALL", &row).await.expect("written"));
    let input = seen.lock().expect("lock").clone().expect("sent");
    assert_eq!(
        input.condition_expression(),
        Some("attribute_not_exists(pk) OR #version <= :version")
    );
    assert_eq!(
        input
            .expression_attribute_values()
            .and_then(|v| v.get(":version")),
        Some(&n(3))
    );
    assert!(!store.put_row("ALL", &row).await.expect("answered"));
}

#[tokio::test]
async fn claims_compare_and_swap_the_state_read() {
    let seen: Arc<Mutex<Vec<PutItemInput>>> = Arc::default();
    let ok = || {
        let capture = seen.clone();
        mock!(Client::put_item)
            .match_requests(move |req| {
                capture.lock().expect("lock").push(req.clone());
                true
            })
            .then_output(|| PutItemOutput::builder().build())
    };
    let (first, second) = (ok(), ok());
    let lost = mock!(Client::put_item).then_error(condition_failed);
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&first, &second, &lost]
    );
    let store = DynamoSearchStore::new(client, "search".into());
    let state = IndexState {
        product_id: ProductId::new(),
        version: 2,
        deleted: false,
        complete: false,
        partitions: vec!["ALL".into(), "CAT#kitchen".into()],
        stale_partitions: vec![],
    };
    assert!(store.claim(&state, None).await.expect("claimed"));
    assert!(store.claim(&state, Some((1, true))).await.expect("claimed"));
    assert!(
        !store
            .claim(&state, Some((1, true)))
            .await
            .expect("answered")
    );
    let sent = seen.lock().expect("lock").clone();
    assert_eq!(
        sent[0].condition_expression(),
        Some("attribute_not_exists(pk)")
    );
    assert_eq!(
        sent[1].condition_expression(),
        Some("#version = :version AND #complete = :complete")
    );
    let values = sent[1].expression_attribute_values().expect("values");
    assert_eq!(values.get(":version"), Some(&n(1)));
    assert_eq!(values.get(":complete"), Some(&AttributeValue::Bool(true)));
    let item = sent[1].item().expect("item");
    assert_eq!(state_from_item(item).expect("parsed"), state);
}

#[tokio::test]
async fn price_pages_read_the_index_within_the_range_from_the_cursor() {
    let l = listing();
    let item = row_item(
        "CAT#kitchen",
        &Row {
            product_id: l.product_id,
            version: 3,
            listing: Some(l.clone()),
            expires_at: None,
        },
    )
    .expect("item");
    let last: HashMap<String, AttributeValue> = [
        ("pk".to_owned(), s("CAT#kitchen")),
        ("sk".to_owned(), s(l.product_id.to_string())),
        ("price_key".to_owned(), s(l.price_key())),
    ]
    .into_iter()
    .collect();
    let seen: Arc<Mutex<Option<QueryInput>>> = Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::query)
        .match_requests(move |req| {
            *capture.lock().expect("lock") = Some(req.clone());
            true
        })
        .then_output(move || {
            QueryOutput::builder()
                .items(item.clone())
                .scanned_count(1)
                .set_last_evaluated_key(Some(last.clone()))
                .build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoSearchStore::new(client, "search".into());
    let from = ProductId::new();
    let page = store
        .page(&PageRequest {
            partition: "CAT#kitchen".into(),
            order: Order::PriceDesc,
            price_range: Some((1000, 2000)),
            after: Some(RowKey {
                product_id: from,
                price_key: Some(format!("000000001900#{from}")),
            }),
            limit: 50,
        })
        .await
        .expect("page");
    assert_eq!(page.rows, vec![l.clone()]);
    assert_eq!(page.scanned, 1);
    assert_eq!(
        page.last,
        Some(RowKey {
            product_id: l.product_id,
            price_key: Some(l.price_key()),
        })
    );
    let input = seen.lock().expect("lock").clone().expect("sent");
    assert_eq!(input.index_name(), Some(PRICE_INDEX));
    assert_eq!(input.scan_index_forward(), Some(false));
    assert_eq!(input.limit(), Some(50));
    assert_eq!(
        input.key_condition_expression(),
        Some("pk = :p AND price_key BETWEEN :lo AND :hi")
    );
    let values = input.expression_attribute_values().expect("values");
    assert_eq!(values.get(":lo"), Some(&s("000000001000#")));
    assert_eq!(values.get(":hi"), Some(&s("000000002000#~")));
    let start = input.exclusive_start_key().expect("start");
    assert_eq!(str_attr(start, "sk"), Some(from.to_string().as_str()));
    assert_eq!(
        str_attr(start, "price_key"),
        Some(format!("000000001900#{from}").as_str())
    );
}

#[tokio::test]
async fn newest_pages_read_the_table_backwards_and_skip_tombstones() {
    let l = listing();
    let tomb = row_item(
        "ALL",
        &Row {
            product_id: ProductId::new(),
            version: 2,
            listing: None,
            expires_at: None,
        },
    )
    .expect("tombstone");
    let visible = row_item(
        "ALL",
        &Row {
            product_id: l.product_id,
            version: 3,
            listing: Some(l.clone()),
            expires_at: None,
        },
    )
    .expect("item");
    let seen: Arc<Mutex<Option<QueryInput>>> = Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::query)
        .match_requests(move |req| {
            *capture.lock().expect("lock") = Some(req.clone());
            true
        })
        .then_output(move || {
            QueryOutput::builder()
                .items(tomb.clone())
                .items(visible.clone())
                .scanned_count(2)
                .build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoSearchStore::new(client, "search".into());
    let page = store
        .page(&PageRequest {
            partition: "ALL".into(),
            order: Order::NewestFirst,
            price_range: None,
            after: None,
            limit: 200,
        })
        .await
        .expect("page");
    assert_eq!(page.rows, vec![l]);
    assert_eq!((page.scanned, page.last), (2, None));
    let input = seen.lock().expect("lock").clone().expect("sent");
    assert_eq!(input.index_name(), None);
    assert_eq!(input.scan_index_forward(), Some(false));
    assert_eq!(input.key_condition_expression(), Some("pk = :p"));
    assert!(input.exclusive_start_key().is_none());
}
