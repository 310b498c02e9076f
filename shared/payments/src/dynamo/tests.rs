use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use contracts::events::WalletDeposited;
use contracts::{CorrelationId, Currency, EventEnvelope};
use time::Duration;
use time::macros::datetime;

use super::*;
use crate::model::EntryKind;

fn t0() -> OffsetDateTime {
    datetime!(2026-11-21 10:00:00.25 UTC)
}

fn account() -> Account {
    let mut a = Account::open(UserId::new(), Currency::USD, t0());
    a.balance = 1_000;
    a.version = 4;
    a
}

fn entry(a: &Account) -> LedgerEntry {
    LedgerEntry {
        id: TransactionId::new(),
        account_id: a.id.clone(),
        user_id: a.user_id,
        kind: EntryKind::Deposit,
        amount: 2_500,
        currency: a.currency,
        balance_after: 3_500,
        description: Description::parse("Top-up").expect("valid"),
        version: 5,
        created_at: t0() + Duration::seconds(1),
    }
}

fn record(a: &Account) -> IdempotencyRecord {
    IdempotencyRecord {
        user_id: a.user_id,
        key: IdempotencyKey::parse("key-1").expect("valid"),
        payload_hash: "h".into(),
        status: 201,
        body: "{\"id\":\"txn_1\"}".into(),
        // Stored as epoch seconds (the TTL attribute).
        expires_at: datetime!(2026-11-22 10:00 UTC),
    }
}

fn event(a: &Account, e: &LedgerEntry) -> RawEnvelope {
    EventEnvelope::new(
        WalletDeposited {
            account_id: a.id.to_string(),
            user_id: a.user_id,
            transaction_id: e.id.to_string(),
            amount: e.amount,
            currency: e.currency,
            balance_after: e.balance_after,
            description: e.description.as_str().to_owned(),
            deposited_at: e.created_at,
        },
        CorrelationId::new(),
        e.created_at,
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

fn value<'a>(
    values: Option<&'a HashMap<String, AttributeValue>>,
    name: &str,
) -> Option<&'a AttributeValue> {
    values.and_then(|v| v.get(name))
}

#[tokio::test]
async fn a_deposit_is_one_transaction_of_credit_entry_key_and_event() {
    let seen: Arc<Mutex<Option<TransactWriteItemsInput>>> = Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            *capture.lock().expect("lock") = Some(req.clone());
            true
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoPaymentsStore::new(client, "payments".into());
    let a = account();
    let e = entry(&a);
    let r = record(&a);
    let ev = event(&a, &e);

    store
        .record_deposit(
            DepositWrite {
                account: &a,
                entry: &e,
                idempotency: &r,
            },
            &ev,
            t0(),
        )
        .await
        .expect("recorded");

    let input = seen.lock().expect("lock").clone().expect("request sent");
    let items = input.transact_items();
    assert_eq!(items.len(), 4);

    let credit = items[0].update().expect("credit");
    assert_eq!(credit.table_name(), "payments");
    let user_pk = format!("USER#{}", a.user_id);
    assert_eq!(str_attr(credit.key(), "pk"), Some(user_pk.as_str()));
    assert_eq!(str_attr(credit.key(), "sk"), Some("ACCOUNT"));
    assert!(
        credit
            .update_expression()
            .contains("#balance = #balance + :amount")
    );
    assert!(
        credit
            .update_expression()
            .contains("#version = #version + :one")
    );
    assert_eq!(
        credit.condition_expression(),
        Some("attribute_exists(pk) AND #currency = :currency AND #version = :expected")
    );
    let values = credit.expression_attribute_values();
    assert_eq!(value(values, ":amount"), Some(&n(2_500)));
    assert_eq!(value(values, ":expected"), Some(&n(4)));
    assert_eq!(value(values, ":currency"), Some(&s("USD")));

    let append = items[1].put().expect("ledger entry");
    assert_eq!(str_attr(append.item(), "pk"), Some(user_pk.as_str()));
    let expected_sk = format!("TXN#2026-11-21T10:00:01.250000Z#{}", e.id);
    assert_eq!(str_attr(append.item(), "sk"), Some(expected_sk.as_str()));
    assert_eq!(append.item().get("balance_after"), Some(&n(3_500)));
    assert_eq!(
        append.condition_expression(),
        Some("attribute_not_exists(pk)")
    );

    let remember = items[2].put().expect("idempotency record");
    let key_pk = format!("IDEMPOTENCY#deposit#{}#key-1", a.user_id);
    assert_eq!(str_attr(remember.item(), "pk"), Some(key_pk.as_str()));
    assert_eq!(str_attr(remember.item(), "response"), Some(r.body.as_str()));
    assert_eq!(
        remember.item().get("expires_at"),
        Some(&n(datetime!(2026-11-22 10:00 UTC).unix_timestamp()))
    );
    assert_eq!(
        remember.condition_expression(),
        Some("attribute_not_exists(pk) OR expires_at < :now")
    );

    let outbox = items[3].put().expect("outbox");
    assert_eq!(str_attr(outbox.item(), "kind"), Some("outbox"));
    assert_eq!(
        str_attr(outbox.item(), "event_type"),
        Some("wallet.deposited")
    );
}

async fn deposit_outcome(codes: &'static [&'static str]) -> StoreResult<()> {
    let rule = mock!(Client::transact_write_items).then_error(move || cancelled(codes));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoPaymentsStore::new(client, "payments".into());
    let a = account();
    let e = entry(&a);
    let r = record(&a);
    store
        .record_deposit(
            DepositWrite {
                account: &a,
                entry: &e,
                idempotency: &r,
            },
            &event(&a, &e),
            t0(),
        )
        .await
}

#[tokio::test]
async fn cancellation_reasons_say_which_condition_failed() {
    assert!(matches!(
        deposit_outcome(&["None", "None", "ConditionalCheckFailed", "None"]).await,
        Err(StoreError::KeyTaken)
    ));
    // A taken key means "done", even when the account moved on as well.
    assert!(matches!(
        deposit_outcome(&[
            "ConditionalCheckFailed",
            "None",
            "ConditionalCheckFailed",
            "None"
        ])
        .await,
        Err(StoreError::KeyTaken)
    ));
    assert!(matches!(
        deposit_outcome(&["ConditionalCheckFailed", "None", "None", "None"]).await,
        Err(StoreError::Stale)
    ));
    assert!(matches!(
        deposit_outcome(&["TransactionConflict", "None", "None", "None"]).await,
        Err(StoreError::Stale)
    ));
    assert!(matches!(
        deposit_outcome(&["None", "ThrottlingError", "None", "None"]).await,
        Err(StoreError::Stale)
    ));
    assert!(matches!(
        deposit_outcome(&["ValidationError", "None", "None", "None"]).await,
        Err(StoreError::Other(_))
    ));
}

#[tokio::test]
async fn an_existing_account_is_reported_not_overwritten() {
    let rule = mock!(Client::transact_write_items)
        .then_error(|| cancelled(&["ConditionalCheckFailed", "None"]));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoPaymentsStore::new(client, "payments".into());
    let a = account();
    let e = entry(&a);
    let result = store.create_account(&a, &event(&a, &e), t0()).await;
    assert!(
        matches!(result, Err(StoreError::AccountExists)),
        "{result:?}"
    );
}

#[tokio::test]
async fn ledger_pages_newest_first_from_the_cursor() {
    let a = account();
    let e = entry(&a);
    let item = ledger_item(&e).expect("item");
    let last_key = key(user_pk(a.user_id), str_attr(&item, "sk").expect("sk"));
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
                .set_last_evaluated_key(Some(last_key.clone()))
                .build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoPaymentsStore::new(client, "payments".into());
    let pk = user_pk(a.user_id);
    let from = cursor::encode(&pk, "TXN#2026-12-01T00:00:00.000000Z#txn_z");

    let page = store.ledger(a.user_id, Some(&from), 1).await.expect("page");

    assert_eq!(page.items, vec![e.clone()]);
    let next = page.next_cursor.expect("cursor");
    assert_eq!(
        cursor::decode(&next, &pk, LEDGER_PREFIX).ok(),
        str_attr(&ledger_item(&e).expect("item"), "sk").map(str::to_owned)
    );
    let input = seen.lock().expect("lock").clone().expect("query sent");
    assert_eq!(input.scan_index_forward(), Some(false));
    assert_eq!(input.limit(), Some(1));
    assert_eq!(
        input.exclusive_start_key().and_then(|k| str_attr(k, "sk")),
        Some("TXN#2026-12-01T00:00:00.000000Z#txn_z")
    );
}

#[tokio::test]
async fn a_foreign_or_tampered_cursor_is_refused_before_any_query() {
    let rule = mock!(Client::query).then_output(|| QueryOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoPaymentsStore::new(client, "payments".into());
    let me = UserId::new();
    let someone_else = cursor::encode(&user_pk(UserId::new()), "TXN#x");
    for bad in ["garbage", someone_else.as_str()] {
        assert!(matches!(
            store.ledger(me, Some(bad), 10).await,
            Err(StoreError::BadCursor)
        ));
    }
    assert_eq!(rule.num_calls(), 0);
}

#[test]
fn items_round_trip() {
    let a = account();
    assert_eq!(
        account_from_item(&account_item(&a).expect("item")).expect("parse"),
        a
    );
    let e = entry(&a);
    assert_eq!(
        ledger_from_item(&ledger_item(&e).expect("item")).expect("parse"),
        e
    );
    let r = record(&a);
    assert_eq!(record_from_item(&idempotency_item(&r)).expect("parse"), r);
}

#[test]
fn malformed_items_are_errors_not_panics() {
    let mut item = account_item(&account()).expect("item");
    item.insert("balance".into(), s("lots"));
    assert!(matches!(
        account_from_item(&item),
        Err(StoreError::Other(_))
    ));
}
