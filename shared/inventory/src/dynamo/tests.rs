use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::types::error::{
    ConditionalCheckFailedException, TransactionCanceledException,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use contracts::events::{
    InventoryLowStock, InventoryReserved, OrderLine, OrderPayment, PaymentMethod, ShortLine,
};
use contracts::{CorrelationId, Currency, EventEnvelope, ProductId, UserId};
use time::macros::datetime;

use super::*;
use crate::model::{ReservationStatus, StockStatus};
use crate::store::Bucket;

fn t0() -> OffsetDateTime {
    datetime!(2026-11-21 10:00:00.5 UTC)
}

fn sku(code: &str) -> Sku {
    Sku::parse(code).expect("valid sku")
}

fn stock() -> Stock {
    let mut st = Stock::new(sku("MUG-001"), ProductId::new(), 5, t0());
    st.available = 12;
    st.reserved = 3;
    st.sold = 40;
    st.version = 7;
    st
}

fn reservation(status: ReservationStatus) -> Reservation {
    Reservation {
        order_id: OrderId::new(),
        user_id: UserId::new(),
        status,
        lines: vec![OrderLine {
            product_id: ProductId::new(),
            sku: "MUG-001".into(),
            name: "Café mug".into(),
            unit_price: 1250,
            quantity: 2,
        }],
        short_lines: vec![ShortLine {
            product_id: ProductId::new(),
            sku: "TEA-010".into(),
            requested: 3,
            available: 1,
        }],
        created_at: t0(),
        updated_at: t0(),
    }
}

fn reserved_event(r: &Reservation) -> RawEnvelope {
    EventEnvelope::new(
        InventoryReserved {
            order_id: r.order_id,
            user_id: r.user_id,
            lines: r.lines.clone(),
            payment: OrderPayment {
                amount: 2500,
                currency: Currency::EUR,
                method: PaymentMethod::Wallet,
            },
            reserved_at: t0(),
        },
        CorrelationId::new(),
        t0(),
    )
    .into_raw()
    .expect("raw")
}

fn low_stock_event() -> RawEnvelope {
    EventEnvelope::new(
        InventoryLowStock {
            product_id: ProductId::new(),
            sku: "MUG-001".into(),
            available: 5,
            threshold: 5,
            detected_at: t0(),
        },
        CorrelationId::new(),
        t0(),
    )
    .into_raw()
    .expect("raw")
}

fn cancelled_with(codes: &[&str]) -> TransactWriteItemsError {
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

fn value<'a>(
    values: Option<&'a HashMap<String, AttributeValue>>,
    name: &str,
) -> Option<&'a AttributeValue> {
    values.and_then(|v| v.get(name))
}

/// A store whose transactions are captured and answered with `codes` (or
/// succeed when `codes` is empty).
fn capturing(
    codes: &'static [&'static str],
) -> (
    DynamoInventoryStore,
    Arc<Mutex<Option<TransactWriteItemsInput>>>,
) {
    let seen: Arc<Mutex<Option<TransactWriteItemsInput>>> = Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::transact_write_items).match_requests(move |req| {
        *capture.lock().expect("lock") = Some(req.clone());
        true
    });
    let rule = if codes.is_empty() {
        rule.then_output(|| TransactWriteItemsOutput::builder().build())
    } else {
        rule.then_error(move || cancelled_with(codes))
    };
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    (DynamoInventoryStore::new(client, "inventory".into()), seen)
}

fn lines() -> Vec<ReserveLine> {
    vec![
        ReserveLine {
            sku: sku("MUG-001"),
            quantity: 2,
            threshold: 5,
            guard: StockGuard::Crossing { available: 6 },
        },
        ReserveLine {
            sku: sku("TEA-010"),
            quantity: 3,
            threshold: 1,
            guard: StockGuard::NotCrossing,
        },
    ]
}

#[test]
fn items_round_trip() {
    let st = stock();
    assert_eq!(
        stock_from_item(&stock_item(&st).expect("item")).expect("read"),
        st
    );
    let item = stock_item(&st).expect("item");
    assert_eq!(str_attr(&item, "pk"), Some("SKU#MUG-001"));
    assert_eq!(str_attr(&item, "sk"), Some("STOCK"));
    assert_eq!(str_attr(&item, "status"), Some("active"));

    let r = reservation(ReservationStatus::Failed);
    let item = reservation_item(&r).expect("item");
    let pk = format!("RESERVATION#{}", r.order_id);
    assert_eq!(str_attr(&item, "pk"), Some(pk.as_str()));
    assert_eq!(str_attr(&item, "status"), Some("failed"));
    assert_eq!(reservation_from_item(&item).expect("read"), r);
}

#[tokio::test]
async fn a_reservation_is_one_transaction_of_record_guarded_stock_and_events() {
    let (store, seen) = capturing(&[]);
    let r = reservation(ReservationStatus::Reserved);
    let events = [reserved_event(&r), low_stock_event()];
    store
        .reserve(&r, &lines(), &events, t0())
        .await
        .expect("reserved");

    let input = seen.lock().expect("lock").clone().expect("request sent");
    let items = input.transact_items();
    assert_eq!(items.len(), 5);

    let record = items[0].put().expect("record");
    assert_eq!(record.table_name(), "inventory");
    assert_eq!(str_attr(record.item(), "status"), Some("reserved"));
    assert_eq!(
        record.condition_expression(),
        Some("attribute_not_exists(pk)")
    );

    let crossing = items[1].update().expect("crossing line");
    assert_eq!(str_attr(crossing.key(), "pk"), Some("SKU#MUG-001"));
    assert!(
        crossing
            .update_expression()
            .contains("#available = #available - :quantity, #reserved = #reserved + :quantity")
    );
    let condition = crossing.condition_expression().expect("condition");
    assert!(condition.contains("#status = :active"), "{condition}");
    assert!(condition.contains("#available >= :quantity"), "{condition}");
    assert!(
        condition.ends_with("AND #available = :expected"),
        "{condition}"
    );
    let values = crossing.expression_attribute_values();
    assert_eq!(value(values, ":expected"), Some(&n(6)));
    assert_eq!(value(values, ":quantity"), Some(&n(2)));
    assert_eq!(value(values, ":threshold"), Some(&n(5)));
    assert_eq!(value(values, ":active"), Some(&s("active")));

    let steady = items[2].update().expect("non-crossing line");
    assert_eq!(str_attr(steady.key(), "pk"), Some("SKU#TEA-010"));
    let condition = steady.condition_expression().expect("condition");
    assert!(
        condition.ends_with("AND (#available <= :threshold OR #available > :crossing_limit)"),
        "{condition}"
    );
    assert_eq!(
        value(steady.expression_attribute_values(), ":crossing_limit"),
        Some(&n(4))
    );

    let kinds: Vec<_> = items[3..]
        .iter()
        .map(|i| str_attr(i.put().expect("outbox").item(), "event_type"))
        .collect();
    assert_eq!(
        kinds,
        vec![Some("inventory.reserved"), Some("inventory.low_stock")]
    );
}

async fn reserve_outcome(codes: &'static [&'static str]) -> StoreResult<()> {
    let (store, _) = capturing(codes);
    let r = reservation(ReservationStatus::Reserved);
    store
        .reserve(&r, &lines(), &[reserved_event(&r)], t0())
        .await
}

#[tokio::test]
async fn cancellation_reasons_of_a_reservation_say_what_happened() {
    const CCF: &str = "ConditionalCheckFailed";
    assert!(matches!(
        reserve_outcome(&[CCF, "None", "None", "None"]).await,
        Err(StoreError::ReservationExists)
    ));
    // An existing record means "handled", even if stock moved as well.
    assert!(matches!(
        reserve_outcome(&[CCF, CCF, "None", "None"]).await,
        Err(StoreError::ReservationExists)
    ));
    assert!(matches!(
        reserve_outcome(&["None", "None", CCF, "None"]).await,
        Err(StoreError::StockChanged)
    ));
    assert!(matches!(
        reserve_outcome(&["None", "TransactionConflict", "None", "None"]).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        reserve_outcome(&["None", "None", "ThrottlingError", "None"]).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        reserve_outcome(&["ValidationError", "None", "None", "None"]).await,
        Err(StoreError::Other(_))
    ));
}

#[tokio::test]
async fn a_transition_moves_the_record_and_the_stock_together() {
    let (store, seen) = capturing(&[]);
    let r = reservation(ReservationStatus::Committed);
    let moves = [StockMove {
        sku: sku("MUG-001"),
        quantity: 2,
        from: Bucket::Sold,
        to: Bucket::Available,
    }];
    store
        .transition(
            Transition {
                order_id: r.order_id,
                from: ReservationStatus::Committed,
                to: ReservationStatus::Released,
                moves: &moves,
            },
            &[reserved_event(&r)],
            t0(),
        )
        .await
        .expect("moved");
    let input = seen.lock().expect("lock").clone().expect("request sent");
    let items = input.transact_items();
    assert_eq!(items.len(), 3);

    let record = items[0].update().expect("record");
    assert_eq!(record.condition_expression(), Some("#status = :from"));
    let values = record.expression_attribute_values();
    assert_eq!(value(values, ":from"), Some(&s("committed")));
    assert_eq!(value(values, ":to"), Some(&s("released")));

    let mv = items[1].update().expect("stock move");
    assert_eq!(
        mv.condition_expression(),
        Some("attribute_exists(pk) AND #from >= :quantity")
    );
    let names = mv.expression_attribute_names().expect("names");
    assert_eq!(names.get("#from").map(String::as_str), Some("sold"));
    assert_eq!(names.get("#to").map(String::as_str), Some("available"));
    assert!(items[2].put().is_some(), "the event rides along");
}

async fn transition_outcome(codes: &'static [&'static str]) -> StoreResult<()> {
    let (store, _) = capturing(codes);
    let r = reservation(ReservationStatus::Reserved);
    let moves = [StockMove {
        sku: sku("MUG-001"),
        quantity: 2,
        from: Bucket::Reserved,
        to: Bucket::Sold,
    }];
    store
        .transition(
            Transition {
                order_id: r.order_id,
                from: ReservationStatus::Reserved,
                to: ReservationStatus::Committed,
                moves: &moves,
            },
            &[],
            t0(),
        )
        .await
}

#[tokio::test]
async fn cancellation_reasons_of_a_transition_say_what_happened() {
    assert!(matches!(
        transition_outcome(&["ConditionalCheckFailed", "None"]).await,
        Err(StoreError::ReservationChanged)
    ));
    assert!(matches!(
        transition_outcome(&["None", "ConditionalCheckFailed"]).await,
        Err(StoreError::StockChanged)
    ));
    assert!(matches!(
        transition_outcome(&["TransactionConflict", "None"]).await,
        Err(StoreError::Conflict)
    ));
}

#[tokio::test]
async fn an_admin_update_is_conditioned_on_the_version_read() {
    let (store, seen) = capturing(&[]);
    let before = stock();
    let after = Stock {
        available: 4,
        version: before.version + 1,
        ..before.clone()
    };
    store
        .update_stock(&before, &after, &[low_stock_event()], t0())
        .await
        .expect("updated");
    let input = seen.lock().expect("lock").clone().expect("request sent");
    let items = input.transact_items();
    assert_eq!(items.len(), 2);
    let put = items[0].put().expect("stock");
    assert_eq!(put.item().get("available"), Some(&n(4)));
    assert_eq!(put.item().get("version"), Some(&n(8)));
    assert_eq!(put.condition_expression(), Some("#version = :expected"));
    assert_eq!(
        value(put.expression_attribute_values(), ":expected"),
        Some(&n(7))
    );
    assert_eq!(
        str_attr(items[1].put().expect("outbox").item(), "event_type"),
        Some("inventory.low_stock")
    );

    let (store, _) = capturing(&["ConditionalCheckFailed", "None"]);
    assert!(matches!(
        store
            .update_stock(&before, &after, &[low_stock_event()], t0())
            .await,
        Err(StoreError::Stale)
    ));
}

#[tokio::test]
async fn an_existing_stock_record_is_reported_not_overwritten() {
    let rule = mock!(Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoInventoryStore::new(client, "inventory".into());
    assert!(matches!(
        store.create_stock(&stock()).await,
        Err(StoreError::StockExists)
    ));
}

#[tokio::test]
async fn stocks_are_read_consistently_and_missing_skus_left_out() {
    let st = stock();
    let item = stock_item(&st).expect("item");
    let found = mock!(Client::get_item)
        .match_requests(|req| {
            req.consistent_read() == Some(true)
                && req
                    .key()
                    .and_then(|k| k.get("pk"))
                    .is_some_and(|pk| pk == &s("SKU#MUG-001"))
        })
        .then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(item.clone()))
                .build()
        });
    let missing = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&found, &missing]);
    let store = DynamoInventoryStore::new(client, "inventory".into());
    let stocks = store
        .stocks(&[sku("MUG-001"), sku("GHOST")])
        .await
        .expect("read");
    assert_eq!(stocks.len(), 1);
    assert_eq!(stocks.get(&sku("MUG-001")), Some(&st));
    assert_eq!(stocks[&sku("MUG-001")].status, StockStatus::Active);
}
