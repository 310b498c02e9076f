use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use contracts::events::PaymentMethod;
use contracts::{CorrelationId, Currency, UserId};
use time::macros::datetime;

use super::*;
use crate::charges::model::{FailureReason, OrderCharge};
use crate::model::{Description, EntryKind, TransactionId};

fn t0() -> OffsetDateTime {
    datetime!(2026-11-21 10:00:00.25 UTC)
}

fn account() -> Account {
    let mut a = Account::open(UserId::new(), Currency::USD, t0());
    a.balance = 5_000;
    a.version = 7;
    a
}

fn order(a: &Account, method: PaymentMethod) -> OrderCharge {
    OrderCharge {
        order_id: OrderId::new(),
        user_id: a.user_id,
        amount: 1_200,
        currency: Currency::USD,
        method,
        correlation_id: CorrelationId::new(),
    }
}

fn entry(a: &Account, amount: i64, kind: EntryKind) -> LedgerEntry {
    LedgerEntry {
        id: TransactionId::new(),
        account_id: a.id.clone(),
        user_id: a.user_id,
        kind,
        amount,
        currency: a.currency,
        balance_after: a.balance + amount,
        description: Description::parse("Order x").expect("valid"),
        version: a.version + 1,
        created_at: t0() + Duration::seconds(1),
    }
}

fn event() -> RawEnvelope {
    let a = account();
    let o = order(&a, PaymentMethod::Wallet);
    crate::charges::provider::succeeded_event(
        &ChargeRecord::succeeded(&o, "txn_1".into(), t0()),
        &o.correlation_id,
    )
    .expect("event")
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

fn capturing_store() -> (
    DynamoPaymentsStore,
    Arc<Mutex<Vec<TransactWriteItemsInput>>>,
) {
    let seen: Arc<Mutex<Vec<TransactWriteItemsInput>>> = Arc::default();
    let capture = seen.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            capture.lock().expect("lock").push(req.clone());
            true
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    (DynamoPaymentsStore::new(client, "payments".into()), seen)
}

fn failing_store(codes: &'static [&'static str]) -> DynamoPaymentsStore {
    let rule = mock!(Client::transact_write_items).then_error(move || cancelled(codes));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    DynamoPaymentsStore::new(client, "payments".into())
}

#[tokio::test]
async fn a_wallet_charge_is_one_transaction_of_debit_entry_charge_tombstone_check_and_event() {
    let (store, seen) = capturing_store();
    let a = account();
    let o = order(&a, PaymentMethod::Wallet);
    let e = entry(&a, -1_200, EntryKind::Charge);
    let record = ChargeRecord::succeeded(&o, e.id.to_string(), e.created_at);

    store
        .record_wallet_charge(
            WalletChargeWrite {
                account: &a,
                entry: &e,
                record: &record,
            },
            &event(),
            t0(),
        )
        .await
        .expect("recorded");

    let input = seen.lock().expect("lock")[0].clone();
    let items = input.transact_items();
    assert_eq!(items.len(), 5);
    let debit = items[0].update().expect("debit");
    assert_eq!(str_attr(debit.key(), "sk"), Some("ACCOUNT"));
    assert_eq!(
        debit.condition_expression(),
        Some(
            "attribute_exists(pk) AND #currency = :currency AND #version = :expected AND #balance >= :debit"
        )
    );
    let values = debit.expression_attribute_values().expect("values");
    assert_eq!(values.get(":amount"), Some(&n(-1_200)));
    assert_eq!(values.get(":debit"), Some(&n(1_200)));
    assert_eq!(values.get(":expected"), Some(&n(7)));

    let ledger = items[1].put().expect("ledger");
    assert_eq!(str_attr(ledger.item(), "entry_type"), Some("charge"));
    assert_eq!(ledger.item().get("amount"), Some(&n(-1_200)));

    let charge = items[2].put().expect("charge");
    let pk = format!("CHARGE#{}", o.order_id);
    assert_eq!(str_attr(charge.item(), "pk"), Some(pk.as_str()));
    assert_eq!(str_attr(charge.item(), "sk"), Some("CHARGE"));
    assert_eq!(str_attr(charge.item(), "status"), Some("succeeded"));
    assert_eq!(str_attr(charge.item(), "method"), Some("wallet"));
    assert_eq!(
        charge.condition_expression(),
        Some("attribute_not_exists(pk)")
    );

    let check = items[3].condition_check().expect("tombstone check");
    let pk = format!("CANCELLED#{}", o.order_id);
    assert_eq!(str_attr(check.key(), "pk"), Some(pk.as_str()));
    assert_eq!(check.condition_expression(), "attribute_not_exists(pk)");

    let outbox = items[4].put().expect("outbox");
    assert_eq!(
        str_attr(outbox.item(), "event_type"),
        Some("payment.succeeded")
    );
}

async fn wallet_charge_outcome(codes: &'static [&'static str]) -> ChargeStoreResult<()> {
    let store = failing_store(codes);
    let a = account();
    let o = order(&a, PaymentMethod::Wallet);
    let e = entry(&a, -1_200, EntryKind::Charge);
    let record = ChargeRecord::succeeded(&o, e.id.to_string(), e.created_at);
    store
        .record_wallet_charge(
            WalletChargeWrite {
                account: &a,
                entry: &e,
                record: &record,
            },
            &event(),
            t0(),
        )
        .await
}

#[tokio::test]
async fn wallet_charge_cancellations_say_what_happened() {
    const CCF: &str = "ConditionalCheckFailed";
    assert!(matches!(
        wallet_charge_outcome(&["None", "None", CCF, "None", "None"]).await,
        Err(ChargeStoreError::AlreadyRecorded)
    ));
    // A recorded charge wins over everything else.
    assert!(matches!(
        wallet_charge_outcome(&[CCF, "None", CCF, CCF, "None"]).await,
        Err(ChargeStoreError::AlreadyRecorded)
    ));
    assert!(matches!(
        wallet_charge_outcome(&[CCF, "None", "None", CCF, "None"]).await,
        Err(ChargeStoreError::Cancelled)
    ));
    // Balance short or version moved: read again.
    assert!(matches!(
        wallet_charge_outcome(&[CCF, "None", "None", "None", "None"]).await,
        Err(ChargeStoreError::Stale)
    ));
    assert!(matches!(
        wallet_charge_outcome(&["TransactionConflict", "None", "None", "None", "None"]).await,
        Err(ChargeStoreError::Stale)
    ));
    assert!(matches!(
        wallet_charge_outcome(&["ValidationError", "None", "None", "None", "None"]).await,
        Err(ChargeStoreError::Other(_))
    ));
}

#[tokio::test]
async fn a_card_charge_records_the_intent_pointer_and_checks_the_tombstone() {
    let (store, seen) = capturing_store();
    let a = account();
    let o = order(
        &a,
        PaymentMethod::Card {
            payment_method: "pm_card_visa".into(),
        },
    );
    let record = ChargeRecord::succeeded(&o, "pi_123".into(), t0());

    store
        .record_charge(
            ChargeWrite {
                record: &record,
                unless_cancelled: true,
            },
            &event(),
            t0(),
        )
        .await
        .expect("recorded");
    let failure = ChargeRecord::failed(&o, FailureReason::CardDeclined, None, t0());
    store
        .record_charge(
            ChargeWrite {
                record: &failure,
                unless_cancelled: false,
            },
            &event(),
            t0(),
        )
        .await
        .expect("recorded");

    let inputs = seen.lock().expect("lock").clone();
    let items = inputs[0].transact_items();
    assert_eq!(items.len(), 4);
    assert!(items[0].put().is_some());
    assert!(items[1].condition_check().is_some());
    let pointer = items[2].put().expect("pointer");
    assert_eq!(str_attr(pointer.item(), "pk"), Some("STRIPE_PI#pi_123"));
    let order_id = o.order_id.to_string();
    assert_eq!(
        str_attr(pointer.item(), "order_id"),
        Some(order_id.as_str())
    );
    // A failure without an intent: the record and its event only.
    assert_eq!(inputs[1].transact_items().len(), 2);
}

#[tokio::test]
async fn charge_and_cancellation_conditions_are_told_apart() {
    const CCF: &str = "ConditionalCheckFailed";
    let a = account();
    let o = order(
        &a,
        PaymentMethod::Card {
            payment_method: "pm_card_visa".into(),
        },
    );
    let record = ChargeRecord::succeeded(&o, "pi_1".into(), t0());
    let write = ChargeWrite {
        record: &record,
        unless_cancelled: true,
    };
    assert!(matches!(
        failing_store(&[CCF, "None", "None", "None"])
            .record_charge(write, &event(), t0())
            .await,
        Err(ChargeStoreError::AlreadyRecorded)
    ));
    assert!(matches!(
        failing_store(&["None", CCF, "None", "None"])
            .record_charge(write, &event(), t0())
            .await,
        Err(ChargeStoreError::Cancelled)
    ));

    let tombstone = Cancellation {
        order_id: o.order_id,
        user_id: o.user_id,
        cancelled_at: t0(),
    };
    // The charge got in first: refund it instead.
    assert!(matches!(
        failing_store(&[CCF, CCF])
            .record_cancellation(&tombstone)
            .await,
        Err(ChargeStoreError::AlreadyRecorded)
    ));
    assert!(matches!(
        failing_store(&["None", CCF])
            .record_cancellation(&tombstone)
            .await,
        Err(ChargeStoreError::AlreadyRecorded)
    ));
    // Tombstoned before: fine, the first one stays.
    assert!(
        failing_store(&[CCF, "None"])
            .record_cancellation(&tombstone)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn refunds_only_apply_to_succeeded_charges() {
    const CCF: &str = "ConditionalCheckFailed";
    let (store, seen) = capturing_store();
    let a = account();
    let o = order(&a, PaymentMethod::Wallet);
    let charge = ChargeRecord::succeeded(&o, "txn_1".into(), t0());
    let e = entry(&a, 1_200, EntryKind::Refund);
    let refunded = charge.clone().refunded(e.id.to_string(), e.created_at);
    let write = WalletRefundWrite {
        account: &a,
        entry: &e,
        record: &refunded,
    };

    store
        .record_wallet_refund(write, &event(), t0())
        .await
        .expect("recorded");

    let input = seen.lock().expect("lock")[0].clone();
    let items = input.transact_items();
    assert_eq!(items.len(), 4);
    let credit = items[0].update().expect("credit");
    assert!(
        !credit
            .condition_expression()
            .unwrap_or_default()
            .contains(":debit")
    );
    let status = items[2].update().expect("charge status");
    assert_eq!(
        status.condition_expression(),
        Some("attribute_exists(pk) AND #status = :succeeded")
    );
    let values = status.expression_attribute_values().expect("values");
    assert_eq!(values.get(":refunded"), Some(&s("refunded")));
    assert_eq!(values.get(":reference"), Some(&s(e.id.as_str())));

    assert!(matches!(
        failing_store(&[CCF, "None", CCF, "None"])
            .record_wallet_refund(write, &event(), t0())
            .await,
        Err(ChargeStoreError::NotRefundable)
    ));
    assert!(matches!(
        failing_store(&[CCF, "None", "None", "None"])
            .record_wallet_refund(write, &event(), t0())
            .await,
        Err(ChargeStoreError::Stale)
    ));
    assert!(matches!(
        failing_store(&[CCF, "None"])
            .record_refund(&refunded, &event(), t0())
            .await,
        Err(ChargeStoreError::NotRefundable)
    ));
}

#[test]
fn charge_items_round_trip() {
    let a = account();
    let o = order(
        &a,
        PaymentMethod::Card {
            payment_method: "pm_card_visa".into(),
        },
    );
    let succeeded = ChargeRecord::succeeded(&o, "pi_1".into(), t0());
    let refunded = succeeded
        .clone()
        .refunded("re_1".into(), t0() + Duration::minutes(5));
    let failed = ChargeRecord::failed(&o, FailureReason::InsufficientFunds, None, t0());
    for record in [succeeded, refunded, failed] {
        let item = charge_item(&record).expect("item");
        assert_eq!(charge_from_item(&item).expect("parse"), record);
    }
    let mut broken = charge_item(&ChargeRecord::succeeded(&o, "pi_1".into(), t0())).expect("item");
    broken.insert("status".into(), s("maybe"));
    assert!(matches!(
        charge_from_item(&broken),
        Err(ChargeStoreError::Other(_))
    ));
}
