use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::types::error::{
    ConditionalCheckFailedException, TransactionCanceledException,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use contracts::events::{CancelReason, OrderLine, OrderPlaced, PaymentMethod};
use contracts::{Currency, EventEnvelope};
use time::macros::datetime;

use super::*;
use crate::model::{CartItem, OrderStatus, PricedLines, Quantity};

fn t0() -> OffsetDateTime {
    datetime!(2026-11-21 10:00:00.25 UTC)
}

fn order() -> Order {
    Order::place(
        OrderId::new(),
        UserId::new(),
        PricedLines {
            lines: vec![OrderLine {
                product_id: ProductId::new(),
                sku: "LAMP-1".into(),
                name: "Lamp".into(),
                unit_price: 1_250,
                quantity: 2,
            }],
            total: 2_500,
            currency: Currency::EUR,
        },
        PaymentMethod::Card {
            payment_method: "pm_card_visa".into(),
        },
        CorrelationId::new(),
        t0(),
    )
}

fn cart_of(order: &Order) -> Cart {
    Cart {
        user_id: order.user_id,
        items: vec![CartItem {
            product_id: order.lines[0].product_id,
            quantity: Quantity::new(2).expect("quantity"),
            added_at: t0(),
        }],
        version: 7,
    }
}

fn record(order: &Order) -> IdempotencyRecord {
    IdempotencyRecord {
        user_id: order.user_id,
        key: IdempotencyKey::parse("key-1").expect("valid"),
        payload_hash: "h".into(),
        status: 202,
        body: "{\"id\":\"o\"}".into(),
        expires_at: datetime!(2026-11-22 10:00 UTC),
    }
}

fn placed(order: &Order) -> RawEnvelope {
    EventEnvelope::new(
        OrderPlaced {
            order_id: order.id,
            user_id: order.user_id,
            lines: order.lines.clone(),
            payment: contracts::events::OrderPayment {
                amount: order.total,
                currency: order.currency,
                method: order.payment.clone(),
            },
            placed_at: order.placed_at,
        },
        CorrelationId::new(),
        order.placed_at,
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

fn store_capturing_transaction() -> (
    DynamoOrdersStore,
    Arc<Mutex<Option<TransactWriteItemsInput>>>,
) {
    let seen: Arc<Mutex<Option<TransactWriteItemsInput>>> = Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            *capture.lock().expect("lock") = Some(req.clone());
            true
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    (DynamoOrdersStore::new(client, "orders".into()), seen)
}

#[tokio::test]
async fn a_checkout_is_one_transaction_of_order_cart_key_and_event() {
    let (store, seen) = store_capturing_transaction();
    let o = order();
    let c = cart_of(&o);
    let r = record(&o);

    store
        .place_order(
            PlaceOrder {
                order: &o,
                cart: &c,
                idempotency: &r,
            },
            &placed(&o),
            t0(),
        )
        .await
        .expect("placed");

    let input = seen.lock().expect("lock").clone().expect("request sent");
    let items = input.transact_items();
    assert_eq!(items.len(), 4);

    let create = items[0].put().expect("order");
    assert_eq!(create.table_name(), "orders");
    let item = create.item();
    assert_eq!(
        str_attr(item, "pk"),
        Some(format!("ORDER#{}", o.id).as_str())
    );
    assert_eq!(str_attr(item, "sk"), Some("ORDER"));
    assert_eq!(str_attr(item, "status"), Some("pending"));
    assert_eq!(str_attr(item, "gsi1pk"), Some("OPEN"));
    assert_eq!(
        str_attr(item, "gsi1sk"),
        Some(format!("2026-11-21T10:00:00.250000Z#{}", o.id).as_str())
    );
    assert_eq!(
        str_attr(item, "gsi2pk"),
        Some(format!("USER#{}", o.user_id).as_str())
    );
    assert_eq!(
        str_attr(item, "gsi2sk"),
        Some(format!("ORDER#2026-11-21T10:00:00.250000Z#{}", o.id).as_str())
    );
    assert_eq!(
        create.condition_expression(),
        Some("attribute_not_exists(pk)")
    );

    let empty = items[1].put().expect("cart");
    assert_eq!(
        str_attr(empty.item(), "pk"),
        Some(format!("CART#{}", o.user_id).as_str())
    );
    assert_eq!(str_attr(empty.item(), "items"), Some("[]"));
    assert_eq!(empty.item().get("version"), Some(&n(8)));
    assert_eq!(empty.condition_expression(), Some("#version = :expected"));
    assert_eq!(
        empty
            .expression_attribute_values()
            .and_then(|v| v.get(":expected")),
        Some(&n(7))
    );

    let remember = items[2].put().expect("idempotency record");
    assert_eq!(
        str_attr(remember.item(), "pk"),
        Some(format!("IDEMPOTENCY#checkout#{}#key-1", o.user_id).as_str())
    );
    assert_eq!(
        remember.condition_expression(),
        Some("attribute_not_exists(pk) OR expires_at < :now")
    );

    let outbox = items[3].put().expect("outbox");
    assert_eq!(str_attr(outbox.item(), "event_type"), Some("order.placed"));
}

async fn checkout_outcome(codes: &'static [&'static str]) -> StoreResult<()> {
    let rule = mock!(Client::transact_write_items).then_error(move || cancelled(codes));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoOrdersStore::new(client, "orders".into());
    let o = order();
    store
        .place_order(
            PlaceOrder {
                order: &o,
                cart: &cart_of(&o),
                idempotency: &record(&o),
            },
            &placed(&o),
            t0(),
        )
        .await
}

#[tokio::test]
async fn checkout_cancellations_say_which_condition_failed() {
    assert!(matches!(
        checkout_outcome(&["None", "None", "ConditionalCheckFailed", "None"]).await,
        Err(StoreError::KeyTaken)
    ));
    // A taken key means "done", even when the cart moved on as well.
    assert!(matches!(
        checkout_outcome(&[
            "None",
            "ConditionalCheckFailed",
            "ConditionalCheckFailed",
            "None"
        ])
        .await,
        Err(StoreError::KeyTaken)
    ));
    assert!(matches!(
        checkout_outcome(&["None", "ConditionalCheckFailed", "None", "None"]).await,
        Err(StoreError::Stale)
    ));
    assert!(matches!(
        checkout_outcome(&["TransactionConflict", "None", "None", "None"]).await,
        Err(StoreError::Stale)
    ));
    assert!(matches!(
        checkout_outcome(&["ValidationError", "None", "None", "None"]).await,
        Err(StoreError::Other(_))
    ));
}

#[tokio::test]
async fn a_status_change_is_conditioned_on_the_version_and_leaves_the_open_index() {
    let (store, seen) = store_capturing_transaction();
    let o = order();
    let cancelled = o
        .transition(OrderStatus::Cancelled, Some(CancelReason::TimedOut), t0())
        .expect("legal");
    let event = placed(&o);

    store
        .update_order(&cancelled, o.version, Some(&event), t0())
        .await
        .expect("updated");

    let input = seen.lock().expect("lock").clone().expect("request sent");
    let items = input.transact_items();
    assert_eq!(items.len(), 2, "the change and its event, together");
    let replace = items[0].put().expect("order");
    assert_eq!(replace.condition_expression(), Some("#version = :expected"));
    assert_eq!(
        replace
            .expression_attribute_values()
            .and_then(|v| v.get(":expected")),
        Some(&n(o.version))
    );
    assert_eq!(replace.item().get("version"), Some(&n(o.version + 1)));
    assert_eq!(str_attr(replace.item(), "status"), Some("cancelled"));
    assert!(!replace.item().contains_key("gsi1pk"));
    assert!(!replace.item().contains_key("gsi1sk"));
    assert!(
        replace.item().contains_key("gsi2pk"),
        "still listed for its user"
    );
    assert!(items[1].put().is_some());
}

#[tokio::test]
async fn a_change_without_an_event_is_written_alone_and_a_lost_race_is_stale() {
    let (store, seen) = store_capturing_transaction();
    let o = order();
    let reserved = o
        .transition(OrderStatus::Reserved, None, t0())
        .expect("legal");
    store
        .update_order(&reserved, o.version, None, t0())
        .await
        .expect("updated");
    let input = seen.lock().expect("lock").clone().expect("request sent");
    assert_eq!(input.transact_items().len(), 1);
    let item = input.transact_items()[0]
        .put()
        .expect("order")
        .item()
        .clone();
    assert_eq!(str_attr(&item, "gsi1pk"), Some("OPEN"), "still open");

    let lost: [&'static [&'static str]; 2] =
        [&["ConditionalCheckFailed"], &["TransactionConflict"]];
    for codes in lost {
        let rule = mock!(Client::transact_write_items).then_error(move || cancelled(codes));
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let store = DynamoOrdersStore::new(client, "orders".into());
        assert!(matches!(
            store.update_order(&reserved, o.version, None, t0()).await,
            Err(StoreError::Stale)
        ));
    }
}

fn condition_failed() -> PutItemError {
    PutItemError::ConditionalCheckFailedException(
        ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .build(),
    )
}

#[tokio::test]
async fn an_older_product_version_is_not_stored() {
    let rule = mock!(Client::put_item).then_error(condition_failed);
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoOrdersStore::new(client, "orders".into());
    let product = ProjectedProduct {
        product_id: ProductId::new(),
        version: 3,
        sku: "S".into(),
        listing: Listing::Deleted,
    };
    assert!(!store.put_product(&product).await.expect("answered"));

    let seen: Arc<Mutex<Option<aws_sdk_dynamodb::operation::put_item::PutItemInput>>> =
        Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::put_item)
        .match_requests(move |req| {
            *capture.lock().expect("lock") = Some(req.clone());
            true
        })
        .then_output(|| PutItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoOrdersStore::new(client, "orders".into());
    assert!(store.put_product(&product).await.expect("stored"));
    let input = seen.lock().expect("lock").clone().expect("request sent");
    assert_eq!(
        input.condition_expression(),
        Some("attribute_not_exists(pk) OR #version < :version")
    );
    assert_eq!(
        input
            .expression_attribute_values()
            .and_then(|v| v.get(":version")),
        Some(&n(3))
    );
}

#[tokio::test]
async fn a_lost_cart_race_is_stale() {
    let rule = mock!(Client::put_item).then_error(condition_failed);
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoOrdersStore::new(client, "orders".into());
    let o = order();
    assert!(matches!(
        store.save_cart(&cart_of(&o), 6).await,
        Err(StoreError::Stale)
    ));
}

#[tokio::test]
async fn products_left_unprocessed_are_asked_for_again() {
    let p1 = ProjectedProduct {
        product_id: ProductId::new(),
        version: 1,
        sku: "A".into(),
        listing: Listing::OnSale {
            name: "A".into(),
            price: 5,
            currency: Currency::USD,
        },
    };
    let p2 = ProjectedProduct {
        product_id: ProductId::new(),
        sku: "B".into(),
        ..p1.clone()
    };
    let (i1, i2) = (product_item(&p1), product_item(&p2));
    let second_key = key(product_pk(p2.product_id), PRODUCT_SK);
    let requests: Arc<Mutex<Vec<BatchGetItemInput>>> = Arc::default();
    let capture = requests.clone();
    let capture2 = requests.clone();
    let first = mock!(Client::batch_get_item)
        .match_requests(move |req| {
            capture.lock().expect("lock").push(req.clone());
            true
        })
        .then_output(move || {
            BatchGetItemOutput::builder()
                .responses("orders", vec![i1.clone()])
                .unprocessed_keys(
                    "orders",
                    KeysAndAttributes::builder()
                        .keys(second_key.clone())
                        .build()
                        .expect("keys"),
                )
                .build()
        });
    let second = mock!(Client::batch_get_item)
        .match_requests(move |req| {
            capture2.lock().expect("lock").push(req.clone());
            true
        })
        .then_output(move || {
            BatchGetItemOutput::builder()
                .responses("orders", vec![i2.clone()])
                .build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&first, &second]);
    let store = DynamoOrdersStore::new(client, "orders".into());

    let found = store
        .products(&[p1.product_id, p2.product_id, p1.product_id])
        .await
        .expect("read");

    assert_eq!(found.len(), 2);
    assert_eq!(found.get(&p2.product_id), Some(&p2));
    let requests = requests.lock().expect("lock");
    assert_eq!(requests.len(), 2);
    let asked = |i: usize| {
        requests[i]
            .request_items()
            .and_then(|r| r.get("orders"))
            .map(|k| k.keys().len())
    };
    assert_eq!(asked(0), Some(2), "duplicates asked for once");
    assert_eq!(asked(1), Some(1));
}

#[tokio::test]
async fn open_orders_are_read_from_the_index_oldest_first_across_pages() {
    let (a, b) = (OrderId::new(), OrderId::new());
    let index_key = |id: OrderId| -> Item {
        [
            ("pk".to_owned(), s(order_pk(id))),
            ("sk".to_owned(), s(ORDER_SK)),
            ("gsi1pk".to_owned(), s(OPEN_PK)),
            ("gsi1sk".to_owned(), s(format!("x#{id}"))),
        ]
        .into_iter()
        .collect()
    };
    let (ka, kb) = (index_key(a), index_key(b));
    let last = ka.clone();
    let queries: Arc<Mutex<Vec<QueryInput>>> = Arc::default();
    let (c1, c2) = (queries.clone(), queries.clone());
    let page1 = mock!(Client::query)
        .match_requests(move |req| {
            c1.lock().expect("lock").push(req.clone());
            true
        })
        .then_output(move || {
            QueryOutput::builder()
                .items(ka.clone())
                .set_last_evaluated_key(Some(last.clone()))
                .build()
        });
    let page2 = mock!(Client::query)
        .match_requests(move |req| {
            c2.lock().expect("lock").push(req.clone());
            true
        })
        .then_output(move || QueryOutput::builder().items(kb.clone()).build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&page1, &page2]);
    let store = DynamoOrdersStore::new(client, "orders".into());

    let ids = store.open_orders(t0(), 10).await.expect("listed");

    assert_eq!(ids, vec![a, b]);
    let queries = queries.lock().expect("lock");
    assert_eq!(queries[0].index_name(), Some("gsi1"));
    assert_eq!(
        queries[0].key_condition_expression(),
        Some("gsi1pk = :open AND gsi1sk < :cutoff")
    );
    assert_eq!(
        queries[0]
            .expression_attribute_values()
            .and_then(|v| v.get(":cutoff")),
        Some(&s("2026-11-21T10:00:00.250000Z"))
    );
    assert_eq!(queries[0].scan_index_forward(), Some(true));
    assert_eq!(queries[0].limit(), Some(10));
    assert_eq!(queries[1].limit(), Some(9), "only what is still missing");
    assert!(queries[1].exclusive_start_key().is_some());
}

#[tokio::test]
async fn a_users_orders_page_newest_first_from_the_index() {
    let o = order();
    let item = order_item(&o).expect("item");
    let last: Item = cursor::USER_ORDERS_KEY
        .iter()
        .map(|name| ((*name).to_owned(), item[*name].clone()))
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
                .set_last_evaluated_key(Some(last.clone()))
                .build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let store = DynamoOrdersStore::new(client, "orders".into());

    let page = store.orders_of(o.user_id, None, 1).await.expect("page");
    assert_eq!(page.items, vec![o.clone()]);
    let next = page.next_cursor.expect("cursor");
    let input = seen.lock().expect("lock").clone().expect("query sent");
    assert_eq!(input.index_name(), Some("gsi2"));
    assert_eq!(input.scan_index_forward(), Some(false));
    assert!(input.exclusive_start_key().is_none());

    // The cursor continues exactly where the page ended.
    store
        .orders_of(o.user_id, Some(&next), 1)
        .await
        .expect("next page");
    let input = seen.lock().expect("lock").clone().expect("query sent");
    let start = input.exclusive_start_key().expect("start key");
    assert_eq!(
        str_attr(start, "gsi2sk"),
        Some(format!("ORDER#2026-11-21T10:00:00.250000Z#{}", o.id).as_str())
    );
    assert_eq!(rule.num_calls(), 2);

    // Someone else's cursor is refused before any query.
    assert!(matches!(
        store.orders_of(UserId::new(), Some(&next), 1).await,
        Err(StoreError::BadCursor)
    ));
    assert_eq!(rule.num_calls(), 2);
}

#[test]
fn items_round_trip() {
    let mut o = order();
    assert_eq!(
        order_from_item(&order_item(&o).expect("item")).expect("parse"),
        o
    );
    o = o
        .transition(OrderStatus::Paid, None, t0())
        .and_then(|o| o.transition(OrderStatus::Confirmed, None, t0()))
        .expect("legal");
    o.payment_id = Some("pay_1".into());
    assert_eq!(
        order_from_item(&order_item(&o).expect("item")).expect("parse"),
        o
    );

    let c = cart_of(&o);
    assert_eq!(
        cart_from_item(&cart_item(&c).expect("item")).expect("parse"),
        c
    );

    for listing in [
        Listing::OnSale {
            name: "Lamp".into(),
            price: 1_999,
            currency: Currency::JPY,
        },
        Listing::Deleted,
    ] {
        let p = ProjectedProduct {
            product_id: ProductId::new(),
            version: 9,
            sku: "LAMP-1".into(),
            listing,
        };
        assert_eq!(product_from_item(&product_item(&p)).expect("parse"), p);
    }
    let r = record(&o);
    assert_eq!(record_from_item(&idempotency_item(&r)).expect("parse"), r);
}

#[test]
fn malformed_items_are_errors_not_panics() {
    let mut item = order_item(&order()).expect("item");
    item.insert("status".into(), s("lost"));
    assert!(matches!(order_from_item(&item), Err(StoreError::Other(_))));
    let mut item = order_item(&order()).expect("item");
    item.insert("history".into(), s("not json"));
    assert!(matches!(order_from_item(&item), Err(StoreError::Other(_))));
}
