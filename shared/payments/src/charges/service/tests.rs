use std::collections::HashMap;

use contracts::events::{PaymentFailed, PaymentRefunded, PaymentSucceeded};
use contracts::{Currency, EventEnvelope, RawEnvelope};
use time::macros::datetime;

use super::*;
use crate::charges::model::{OrderCharge, PaymentId, charge_idempotency_key};
use crate::charges::provider::{StripeProvider, WalletProvider};
use crate::charges::stripe_api::{PaymentIntentRequest, Refund, RefundRequest, StripeError};
use crate::charges::webhook::{ChargeObject, IntentObject, StripeEvent, StripeEventKind};
use crate::memory::{InMemoryPaymentsStore, InMemoryStripe};
use crate::model::{DepositAmount, Description, EntryKind, IdempotencyKey};
use crate::service::{DepositCommand, deposit, open_account};
use crate::store::PaymentsStore;

fn t0() -> OffsetDateTime {
    datetime!(2026-11-21 10:00 UTC)
}

struct World {
    store: InMemoryPaymentsStore,
    stripe: InMemoryStripe,
    wallet: WalletProvider<InMemoryPaymentsStore>,
    card: StripeProvider<InMemoryPaymentsStore, InMemoryStripe>,
}

impl World {
    fn new() -> Self {
        let store = InMemoryPaymentsStore::new();
        let stripe = InMemoryStripe::new();
        Self {
            wallet: WalletProvider::new(store.clone()),
            card: StripeProvider::new(store.clone(), stripe.clone()),
            store,
            stripe,
        }
    }

    /// A user whose wallet (in USD) holds `balance`.
    async fn user_with(&self, balance: i64) -> UserId {
        let user = UserId::new();
        open_account(&self.store, user, Currency::USD, CorrelationId::new(), t0())
            .await
            .expect("opens");
        if balance > 0 {
            self.deposit(user, balance).await;
        }
        user
    }

    async fn deposit(&self, user: UserId, amount: i64) {
        deposit(
            &self.store,
            DepositCommand {
                user_id: user,
                key: IdempotencyKey::parse(&format!("k-{}", uuid::Uuid::new_v4().simple()))
                    .expect("key"),
                amount: DepositAmount::new(amount, Currency::USD).expect("amount"),
                currency: Currency::USD,
                description: Description::default(),
            },
            CorrelationId::new(),
            t0(),
        )
        .await
        .expect("deposited");
    }

    async fn charge(&self, order: &OrderCharge) -> Result<Recorded, ChargeError> {
        charge_order(&self.store, &self.wallet, &self.card, order, t0()).await
    }

    async fn cancel(&self, order: &OrderCharge) -> Result<RefundOutcome, ChargeError> {
        refund_order(
            &self.store,
            &self.wallet,
            &self.card,
            order.order_id,
            order.user_id,
            &CorrelationId::new(),
            t0(),
        )
        .await
    }

    async fn webhook(&self, event: &StripeEvent) -> WebhookOutcome {
        handle_stripe_event(&self.store, &self.stripe, event, t0())
            .await
            .expect("handled")
    }

    async fn balance(&self, user: UserId) -> i64 {
        self.store
            .account(user)
            .await
            .expect("read")
            .expect("account")
            .balance
    }

    async fn record(&self, order: &OrderCharge) -> ChargeRecord {
        self.store
            .charge(order.order_id)
            .await
            .expect("read")
            .expect("recorded")
    }

    /// Payment events of one order, in order.
    fn events(&self, order: &OrderCharge) -> Vec<RawEnvelope> {
        self.store
            .outbox()
            .into_iter()
            .filter(|e| {
                e.event_type.starts_with("payment.") && e.subject == order.order_id.to_string()
            })
            .collect()
    }

    fn event_types(&self, order: &OrderCharge) -> Vec<String> {
        self.events(order)
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }

    fn failure_reason(&self, order: &OrderCharge) -> String {
        let failed: Vec<EventEnvelope<PaymentFailed>> = self
            .events(order)
            .into_iter()
            .filter(|e| e.event_type == "payment.failed")
            .map(|e| e.decode().expect("payment.failed"))
            .collect();
        assert_eq!(failed.len(), 1, "exactly one payment.failed");
        failed[0].data.reason.clone()
    }

    /// The balance equals the sum of the ledger, and every entry's
    /// balance_after follows from the one before.
    fn assert_ledger_consistent(&self, user: UserId, balance: i64) {
        let entries = self.store.ledger_entries(user);
        let mut running = 0;
        for e in &entries {
            running += e.amount;
            assert_eq!(e.balance_after, running, "{entries:#?}");
            assert!(e.balance_after >= 0, "never below zero: {entries:#?}");
        }
        assert_eq!(running, balance);
    }
}

fn wallet_order(user: UserId, amount: i64) -> OrderCharge {
    OrderCharge {
        order_id: OrderId::new(),
        user_id: user,
        amount,
        currency: Currency::USD,
        method: PaymentMethod::Wallet,
        correlation_id: CorrelationId::new(),
    }
}

fn card_order(payment_method: &str, amount: i64) -> OrderCharge {
    OrderCharge {
        order_id: OrderId::new(),
        user_id: UserId::new(),
        amount,
        currency: Currency::EUR,
        method: PaymentMethod::Card {
            payment_method: payment_method.into(),
        },
        correlation_id: CorrelationId::new(),
    }
}

// ------------------------------------------------------------------ wallet

#[tokio::test]
async fn a_wallet_order_is_debited_recorded_and_announced() {
    let w = World::new();
    let user = w.user_with(5_000).await;
    let order = wallet_order(user, 1_200);

    let recorded = w.charge(&order).await.expect("charged");

    assert!(recorded.fresh);
    assert_eq!(w.balance(user).await, 3_800);
    let ledger = w.store.ledger_entries(user);
    let debit = ledger.last().expect("entry");
    assert_eq!(debit.kind, EntryKind::Charge);
    assert_eq!(debit.amount, -1_200);
    assert_eq!(debit.balance_after, 3_800);
    assert_eq!(
        debit.description.as_str(),
        format!("Order {}", order.order_id)
    );
    w.assert_ledger_consistent(user, 3_800);

    let record = w.record(&order).await;
    assert_eq!(record, recorded.record);
    assert_eq!(record.status, ChargeStatus::Succeeded);
    assert_eq!(record.payment_id, PaymentId::for_order(order.order_id));
    assert_eq!(
        record.provider_reference.as_deref(),
        Some(debit.id.as_str())
    );

    let events = w.events(&order);
    assert_eq!(events.len(), 1);
    let event: EventEnvelope<PaymentSucceeded> = events[0].clone().decode().expect("succeeded");
    assert_eq!(event.correlation_id, order.correlation_id);
    assert_eq!(event.data.payment_id, record.payment_id.to_string());
    assert_eq!(event.data.order_id, order.order_id);
    assert_eq!(event.data.user_id, user);
    assert_eq!(event.data.amount, 1_200);
    assert_eq!(event.data.currency, Currency::USD);
    assert_eq!(event.data.method, PaymentKind::Wallet);
    assert_eq!(event.data.provider_reference, debit.id.to_string());
}

#[tokio::test]
async fn a_redelivered_charge_debits_once_and_announces_once() {
    let w = World::new();
    let user = w.user_with(5_000).await;
    let order = wallet_order(user, 1_000);

    w.charge(&order).await.expect("first");
    let again = w.charge(&order).await.expect("redelivery");
    assert!(!again.fresh);
    // Concurrent duplicates too.
    let results = futures::future::join_all((0..8).map(|_| w.charge(&order))).await;
    assert!(results.iter().all(|r| matches!(r, Ok(rec) if !rec.fresh)));

    assert_eq!(w.balance(user).await, 4_000);
    assert_eq!(w.event_types(&order), vec!["payment.succeeded"]);
    w.assert_ledger_consistent(user, 4_000);
}

#[tokio::test]
async fn concurrent_first_deliveries_of_one_order_debit_once() {
    let w = World::new();
    let user = w.user_with(5_000).await;
    let order = wallet_order(user, 1_000);

    let results = futures::future::join_all((0..10).map(|_| w.charge(&order))).await;

    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Ok(rec) if rec.fresh))
            .count(),
        1,
        "{results:?}"
    );
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(w.balance(user).await, 4_000);
    assert_eq!(w.event_types(&order), vec!["payment.succeeded"]);
}

#[tokio::test]
async fn a_short_wallet_fails_the_payment_and_keeps_the_balance() {
    let w = World::new();
    let user = w.user_with(500).await;
    let order = wallet_order(user, 1_200);

    let recorded = w.charge(&order).await.expect("handled");

    assert_eq!(recorded.record.status, ChargeStatus::Failed);
    assert_eq!(
        recorded.record.failure_reason,
        Some(FailureReason::InsufficientFunds)
    );
    assert_eq!(w.balance(user).await, 500);
    assert_eq!(w.failure_reason(&order), "insufficient_funds");
    // A later deposit does not resurrect a failed order on redelivery.
    w.deposit(user, 5_000).await;
    assert!(!w.charge(&order).await.expect("redelivery").fresh);
    assert_eq!(w.balance(user).await, 5_500);
    assert_eq!(w.event_types(&order), vec!["payment.failed"]);
}

#[tokio::test]
async fn an_exact_balance_is_spent_to_zero() {
    let w = World::new();
    let user = w.user_with(1_200).await;
    let order = wallet_order(user, 1_200);
    assert_eq!(
        w.charge(&order).await.expect("charged").record.status,
        ChargeStatus::Succeeded
    );
    assert_eq!(w.balance(user).await, 0);
}

#[tokio::test]
async fn no_wallet_and_another_currency_fail_with_their_reasons() {
    let w = World::new();
    let order = wallet_order(UserId::new(), 100);
    w.charge(&order).await.expect("handled");
    assert_eq!(w.failure_reason(&order), "no_wallet");

    let user = w.user_with(5_000).await;
    let mut order = wallet_order(user, 100);
    order.currency = Currency::EUR;
    w.charge(&order).await.expect("handled");
    assert_eq!(w.failure_reason(&order), "currency_mismatch");
    assert_eq!(w.balance(user).await, 5_000);
}

#[tokio::test]
async fn a_non_positive_amount_is_a_poison_message() {
    let w = World::new();
    let user = w.user_with(5_000).await;
    for amount in [0, -100] {
        let result = w.charge(&wallet_order(user, amount)).await;
        assert!(
            matches!(result, Err(ChargeError::Permanent(_))),
            "{result:?}"
        );
    }
    assert_eq!(w.balance(user).await, 5_000);
}

#[tokio::test]
async fn concurrent_orders_never_take_the_wallet_below_zero() {
    let w = World::new();
    let user = w.user_with(1_000).await;
    let orders: Vec<OrderCharge> = (0..20).map(|_| wallet_order(user, 300)).collect();

    let results = futures::future::join_all(orders.iter().map(|o| w.charge(o))).await;

    let records: Vec<ChargeRecord> = results
        .into_iter()
        .map(|r| r.expect("every order gets an outcome").record)
        .collect();
    let paid = records
        .iter()
        .filter(|r| r.status == ChargeStatus::Succeeded)
        .count();
    assert_eq!(paid, 3, "1000 pays for exactly three orders of 300");
    assert!(
        records
            .iter()
            .filter(|r| r.status == ChargeStatus::Failed)
            .all(|r| r.failure_reason == Some(FailureReason::InsufficientFunds))
    );
    assert_eq!(w.balance(user).await, 100);
    w.assert_ledger_consistent(user, 100);
    for order in &orders {
        assert_eq!(w.events(order).len(), 1, "one event per order");
    }
}

#[tokio::test]
async fn concurrent_orders_and_deposits_keep_balance_and_ledger_in_step() {
    let w = World::new();
    let user = w.user_with(600).await;
    let orders: Vec<OrderCharge> = (0..12).map(|_| wallet_order(user, 250)).collect();

    let charges = futures::future::join_all(orders.iter().map(|o| w.charge(o)));
    let deposits = futures::future::join_all((0..6).map(|_| w.deposit(user, 200)));
    let (results, _) = tokio::join!(charges, deposits);

    let paid = results
        .iter()
        .filter(|r| matches!(r, Ok(rec) if rec.record.status == ChargeStatus::Succeeded))
        .count() as i64;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let balance = w.balance(user).await;
    assert_eq!(balance, 600 + 6 * 200 - paid * 250);
    assert!(balance >= 0);
    assert!(paid >= 2, "at least the first 600 pays for two orders");
    w.assert_ledger_consistent(user, balance);
}

// ------------------------------------------------------------------ refunds and the cancel/charge race

#[tokio::test]
async fn a_cancelled_wallet_order_is_refunded_once() {
    let w = World::new();
    let user = w.user_with(5_000).await;
    let order = wallet_order(user, 1_200);
    w.charge(&order).await.expect("charged");

    let outcome = w.cancel(&order).await.expect("refunded");

    let RefundOutcome::Refunded(recorded) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(recorded.fresh);
    assert_eq!(recorded.record.status, ChargeStatus::Refunded);
    assert_eq!(w.balance(user).await, 5_000);
    let refund = w.store.ledger_entries(user).last().cloned().expect("entry");
    assert_eq!(refund.kind, EntryKind::Refund);
    assert_eq!(refund.amount, 1_200);
    assert_eq!(
        recorded.record.refund_reference.as_deref(),
        Some(refund.id.as_str())
    );
    w.assert_ledger_consistent(user, 5_000);
    let events = w.events(&order);
    assert_eq!(
        w.event_types(&order),
        vec!["payment.succeeded", "payment.refunded"]
    );
    let refunded: EventEnvelope<PaymentRefunded> = events[1].clone().decode().expect("refunded");
    assert_eq!(refunded.data.amount, 1_200);
    assert_eq!(refunded.data.method, PaymentKind::Wallet);
    assert_eq!(refunded.data.provider_reference, refund.id.to_string());
    assert_eq!(
        refunded.data.payment_id,
        PaymentId::for_order(order.order_id).to_string()
    );

    // Redelivered, and duplicated concurrently: nothing more.
    assert!(matches!(
        w.cancel(&order).await,
        Ok(RefundOutcome::AlreadyRefunded(_))
    ));
    let again = futures::future::join_all((0..5).map(|_| w.cancel(&order))).await;
    assert!(again.iter().all(Result::is_ok));
    assert_eq!(w.balance(user).await, 5_000);
    assert_eq!(w.event_types(&order).len(), 2);
}

#[tokio::test]
async fn concurrent_first_cancellations_refund_once() {
    let w = World::new();
    let user = w.user_with(5_000).await;
    let order = wallet_order(user, 1_200);
    w.charge(&order).await.expect("charged");

    let results = futures::future::join_all((0..6).map(|_| w.cancel(&order))).await;

    let fresh = results
        .iter()
        .filter(|r| matches!(r, Ok(RefundOutcome::Refunded(rec)) if rec.fresh))
        .count();
    assert_eq!(fresh, 1, "{results:?}");
    assert_eq!(w.balance(user).await, 5_000);
    assert_eq!(
        w.event_types(&order),
        vec!["payment.succeeded", "payment.refunded"]
    );
}

#[tokio::test]
async fn a_failed_payment_has_nothing_to_refund() {
    let w = World::new();
    let user = w.user_with(100).await;
    let order = wallet_order(user, 1_200);
    w.charge(&order).await.expect("failed");

    assert!(matches!(
        w.cancel(&order).await,
        Ok(RefundOutcome::NotCharged(_))
    ));
    assert_eq!(w.balance(user).await, 100);
    assert_eq!(w.event_types(&order), vec!["payment.failed"]);
}

#[tokio::test]
async fn an_order_cancelled_before_its_charge_is_never_charged() {
    let w = World::new();
    let user = w.user_with(5_000).await;
    let order = wallet_order(user, 1_200);

    assert_eq!(
        w.cancel(&order).await.expect("tombstoned"),
        RefundOutcome::Tombstoned
    );
    assert_eq!(
        w.cancel(&order).await.expect("again"),
        RefundOutcome::Tombstoned
    );
    let late = w.charge(&order).await.expect("refused");

    assert_eq!(late.record.status, ChargeStatus::Failed);
    assert_eq!(w.failure_reason(&order), "order_cancelled");
    assert_eq!(w.balance(user).await, 5_000);
    assert_eq!(w.store.ledger_entries(user).len(), 1, "only the deposit");
    // The refund of the failed charge is nothing.
    assert!(matches!(
        w.cancel(&order).await,
        Ok(RefundOutcome::NotCharged(_))
    ));

    // A card order as well: Stripe is not even asked.
    let card = card_order("pm_card_visa", 900);
    w.cancel(&card).await.expect("tombstoned");
    w.charge(&card).await.expect("refused");
    assert_eq!(w.failure_reason(&card), "order_cancelled");
    assert_eq!(w.stripe.requests(), 0);
}

/// Charge and cancellation of one order race, the cancellation starting a
/// few scheduler turns later each time so that it lands before, inside and
/// after the charge's read-then-write: the money either never moves, or
/// moves and comes back, and the events tell the same story.
#[tokio::test]
async fn a_charge_racing_a_cancellation_never_keeps_the_money() {
    let w = World::new();
    let user = w.user_with(100_000).await;
    let (mut refunded, mut refused) = (0, 0);
    for delay in 0..24 {
        let order = wallet_order(user, 1_000);
        let late_cancel = async {
            for _ in 0..delay {
                tokio::task::yield_now().await;
            }
            w.cancel(&order).await
        };
        let (charged, cancelled) = tokio::join!(w.charge(&order), late_cancel);
        charged.expect("charge handled");
        cancelled.expect("cancel handled");
        let record = w.record(&order).await;
        match record.status {
            ChargeStatus::Refunded => {
                refunded += 1;
                assert_eq!(
                    w.event_types(&order),
                    vec!["payment.succeeded", "payment.refunded"]
                );
            }
            ChargeStatus::Failed => {
                refused += 1;
                assert_eq!(record.failure_reason, Some(FailureReason::OrderCancelled));
                assert_eq!(w.event_types(&order), vec!["payment.failed"]);
            }
            ChargeStatus::Succeeded => panic!("a cancelled order kept its money: {record:?}"),
        }
    }
    // The single-threaded test runtime makes the interleavings repeatable:
    // both ways of winning the race are exercised.
    assert!(
        refunded > 0 && refused > 0,
        "refunded {refunded}, refused {refused}"
    );
    assert_eq!(w.balance(user).await, 100_000, "every charge came back");
    w.assert_ledger_consistent(user, 100_000);
}

// ------------------------------------------------------------------ Stripe

#[tokio::test]
async fn a_card_order_is_charged_at_stripe_and_recorded() {
    let w = World::new();
    let order = card_order("pm_card_visa", 2_500);

    let recorded = w.charge(&order).await.expect("charged");

    assert!(recorded.fresh);
    let record = w.record(&order).await;
    assert_eq!(record.status, ChargeStatus::Succeeded);
    assert_eq!(record.method, PaymentKind::Card);
    let intent = record.provider_reference.clone().expect("intent");
    assert_eq!(
        w.store.order_of_stripe_intent(&intent).await.expect("read"),
        Some(order.order_id)
    );
    let metadata: HashMap<String, String> = w.stripe.metadata(&intent).into_iter().collect();
    assert_eq!(metadata["order_id"], order.order_id.to_string());
    assert_eq!(metadata["user_id"], order.user_id.to_string());
    assert_eq!(metadata["correlation_id"], order.correlation_id.to_string());
    let event: EventEnvelope<PaymentSucceeded> =
        w.events(&order)[0].clone().decode().expect("succeeded");
    assert_eq!(event.data.method, PaymentKind::Card);
    assert_eq!(event.data.provider_reference, intent);
    assert_eq!(event.data.currency, Currency::EUR);

    // A redelivery does not even reach Stripe.
    let requests = w.stripe.requests();
    assert!(!w.charge(&order).await.expect("redelivery").fresh);
    assert_eq!(w.stripe.requests(), requests);
    assert_eq!(w.stripe.intents_created(), 1);
    assert_eq!(w.event_types(&order), vec!["payment.succeeded"]);
}

#[tokio::test]
async fn declined_and_unusable_cards_fail_with_their_reasons() {
    let w = World::new();
    for (method, reason) in [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_chargeCustomerFail", "card_declined"),
        ("pm_card_authenticationRequired", "authentication_required"),
        ("pm_does_not_exist", "invalid_payment_method"),
    ] {
        let order = card_order(method, 1_000);
        let recorded = w.charge(&order).await.expect("handled");
        assert_eq!(recorded.record.status, ChargeStatus::Failed, "{method}");
        assert_eq!(w.failure_reason(&order), reason, "{method}");
        // Nothing to give back on cancellation.
        assert!(matches!(
            w.cancel(&order).await,
            Ok(RefundOutcome::NotCharged(_))
        ));
    }
    assert_eq!(w.stripe.refunds_made(), 0);
}

#[tokio::test]
async fn a_stripe_outage_is_retried_with_the_same_key_and_charges_once() {
    let w = World::new();
    let order = card_order("pm_card_visa", 1_000);
    w.stripe.fail_next(2);

    for _ in 0..2 {
        let result = w.charge(&order).await;
        assert!(
            matches!(result, Err(ChargeError::Retryable(_))),
            "{result:?}"
        );
    }
    assert!(
        w.store
            .charge(order.order_id)
            .await
            .expect("read")
            .is_none()
    );
    assert!(w.events(&order).is_empty());

    w.charge(&order).await.expect("charged");
    assert_eq!(w.stripe.intents_created(), 1);
    assert_eq!(w.event_types(&order), vec!["payment.succeeded"]);
}

/// Stripe answered, then the consumer died before recording: the retry asks
/// Stripe again with the same key and gets the same PaymentIntent.
#[tokio::test]
async fn a_charge_retried_after_a_lost_answer_is_the_same_payment() {
    let w = World::new();
    let order = card_order("pm_card_visa", 1_000);
    let lost = w
        .stripe
        .create_payment_intent(&PaymentIntentRequest {
            amount: order.amount,
            currency: order.currency,
            payment_method: "pm_card_visa".into(),
            idempotency_key: charge_idempotency_key(order.order_id),
            metadata: vec![],
        })
        .await
        .expect("charged at Stripe");

    w.charge(&order).await.expect("recorded");

    assert_eq!(w.stripe.intents_created(), 1);
    assert_eq!(w.record(&order).await.provider_reference, Some(lost.id));
}

/// Runs `on_charge` after Stripe charged and before the answer reaches the
/// provider: a cancellation landing in that window.
struct CancelDuringCharge {
    stripe: InMemoryStripe,
    store: InMemoryPaymentsStore,
    order: OrderCharge,
}

impl StripeApi for CancelDuringCharge {
    async fn create_payment_intent(
        &self,
        request: &PaymentIntentRequest,
    ) -> Result<crate::charges::stripe_api::PaymentIntent, StripeError> {
        let answer = self.stripe.create_payment_intent(request).await;
        let wallet = WalletProvider::new(self.store.clone());
        let card = StripeProvider::new(self.store.clone(), self.stripe.clone());
        let outcome = refund_order(
            &self.store,
            &wallet,
            &card,
            self.order.order_id,
            self.order.user_id,
            &CorrelationId::new(),
            t0(),
        )
        .await
        .expect("cancel handled");
        assert_eq!(outcome, RefundOutcome::Tombstoned);
        answer
    }

    async fn refund(&self, request: &RefundRequest) -> Result<Refund, StripeError> {
        self.stripe.refund(request).await
    }
}

#[tokio::test]
async fn a_cancellation_during_the_stripe_call_refunds_at_once() {
    let w = World::new();
    let order = card_order("pm_card_visa", 3_000);
    let racing = StripeProvider::new(
        w.store.clone(),
        CancelDuringCharge {
            stripe: w.stripe.clone(),
            store: w.store.clone(),
            order: order.clone(),
        },
    );

    let recorded = charge_order(&w.store, &w.wallet, &racing, &order, t0())
        .await
        .expect("handled");

    assert!(recorded.fresh);
    assert_eq!(recorded.record.status, ChargeStatus::Refunded);
    assert!(recorded.record.refund_reference.is_some());
    assert_eq!(w.stripe.intents_created(), 1);
    assert_eq!(w.stripe.refunds_made(), 1, "the money went back at once");
    assert_eq!(
        w.event_types(&order),
        vec!["payment.refunded"],
        "never announced as succeeded"
    );
    // Redeliveries of either event change nothing.
    assert!(!w.charge(&order).await.expect("redelivery").fresh);
    assert!(matches!(
        w.cancel(&order).await,
        Ok(RefundOutcome::AlreadyRefunded(_))
    ));
    assert_eq!(w.stripe.refunds_made(), 1);
    assert_eq!(w.event_types(&order), vec!["payment.refunded"]);
}

#[tokio::test]
async fn a_cancelled_card_order_is_refunded_at_stripe_once() {
    let w = World::new();
    let order = card_order("pm_card_visa", 3_000);
    w.charge(&order).await.expect("charged");
    w.stripe.fail_next(1);

    assert!(matches!(
        w.cancel(&order).await,
        Err(ChargeError::Retryable(_))
    ));
    let outcome = w.cancel(&order).await.expect("refunded");
    assert!(matches!(outcome, RefundOutcome::Refunded(ref r) if r.fresh));
    assert!(matches!(
        w.cancel(&order).await,
        Ok(RefundOutcome::AlreadyRefunded(_))
    ));

    assert_eq!(w.stripe.refunds_made(), 1);
    let record = w.record(&order).await;
    assert_eq!(record.status, ChargeStatus::Refunded);
    let refunded: EventEnvelope<PaymentRefunded> =
        w.events(&order)[1].clone().decode().expect("refunded");
    assert_eq!(
        Some(refunded.data.provider_reference),
        record.refund_reference
    );
    assert_eq!(refunded.data.method, PaymentKind::Card);
}

#[tokio::test]
async fn a_refund_made_at_stripe_already_is_recorded_not_repeated() {
    let w = World::new();
    let order = card_order("pm_card_visa", 3_000);
    w.charge(&order).await.expect("charged");
    let intent = w.record(&order).await.provider_reference.expect("intent");
    // Refunded from the dashboard (another key), before its webhook came.
    w.stripe
        .refund(&RefundRequest {
            payment_intent: intent.clone(),
            idempotency_key: "dashboard".into(),
            metadata: vec![],
        })
        .await
        .expect("refunded");

    let outcome = w.cancel(&order).await.expect("recorded");

    assert!(matches!(outcome, RefundOutcome::Refunded(ref r) if r.fresh));
    assert_eq!(w.stripe.refunds_made(), 1);
    assert_eq!(w.record(&order).await.status, ChargeStatus::Refunded);
    assert_eq!(
        w.event_types(&order),
        vec!["payment.succeeded", "payment.refunded"]
    );
}

// ------------------------------------------------------------------ webhook

fn intent_object(order: &OrderCharge, intent_id: &str, failure: Option<&str>) -> IntentObject {
    IntentObject {
        id: intent_id.into(),
        amount: order.amount,
        currency: order.currency.code().to_ascii_lowercase(),
        payment_method: Some("pm_x".into()),
        metadata: [
            ("order_id".to_owned(), order.order_id.to_string()),
            ("user_id".to_owned(), order.user_id.to_string()),
            (
                "correlation_id".to_owned(),
                order.correlation_id.to_string(),
            ),
        ]
        .into_iter()
        .collect(),
        failure_code: failure.map(str::to_owned),
    }
}

fn stripe_event(id: &str, event_type: &str, kind: StripeEventKind) -> StripeEvent {
    StripeEvent {
        id: id.into(),
        event_type: event_type.into(),
        kind,
    }
}

fn succeeded(id: &str, intent: IntentObject) -> StripeEvent {
    stripe_event(
        id,
        "payment_intent.succeeded",
        StripeEventKind::PaymentIntentSucceeded(intent),
    )
}

#[tokio::test]
async fn the_webhook_after_the_consumer_adds_nothing() {
    let w = World::new();
    let order = card_order("pm_card_visa", 1_500);
    w.charge(&order).await.expect("charged");
    let intent = w.record(&order).await.provider_reference.expect("intent");

    let event = succeeded("evt_1", intent_object(&order, &intent, None));
    assert_eq!(w.webhook(&event).await, WebhookOutcome::Processed);
    assert_eq!(w.webhook(&event).await, WebhookOutcome::Duplicate);

    assert_eq!(w.event_types(&order), vec!["payment.succeeded"]);
}

#[tokio::test]
async fn the_webhook_before_the_consumer_records_the_payment_once() {
    let w = World::new();
    let order = card_order("pm_card_visa", 1_500);
    // The consumer's Stripe call went through, its answer was lost.
    let intent = w
        .stripe
        .create_payment_intent(&PaymentIntentRequest {
            amount: order.amount,
            currency: order.currency,
            payment_method: "pm_card_visa".into(),
            idempotency_key: charge_idempotency_key(order.order_id),
            metadata: vec![],
        })
        .await
        .expect("charged");

    let event = succeeded("evt_1", intent_object(&order, &intent.id, None));
    assert_eq!(w.webhook(&event).await, WebhookOutcome::Processed);
    let record = w.record(&order).await;
    assert_eq!(record.status, ChargeStatus::Succeeded);
    let announced: EventEnvelope<PaymentSucceeded> =
        w.events(&order)[0].clone().decode().expect("succeeded");
    assert_eq!(
        announced.correlation_id, order.correlation_id,
        "the flow's correlation id comes back through Stripe's metadata"
    );

    // The consumer's retry and a second delivery of the event (new id).
    assert!(!w.charge(&order).await.expect("retry").fresh);
    assert_eq!(
        w.webhook(&succeeded("evt_2", intent_object(&order, &intent.id, None)))
            .await,
        WebhookOutcome::Processed
    );
    assert_eq!(w.stripe.intents_created(), 1);
    assert_eq!(w.event_types(&order), vec!["payment.succeeded"]);
}

#[tokio::test]
async fn the_webhook_refunds_a_payment_for_a_cancelled_order() {
    let w = World::new();
    let order = card_order("pm_card_visa", 1_500);
    let intent = w
        .stripe
        .create_payment_intent(&PaymentIntentRequest {
            amount: order.amount,
            currency: order.currency,
            payment_method: "pm_card_visa".into(),
            idempotency_key: charge_idempotency_key(order.order_id),
            metadata: vec![],
        })
        .await
        .expect("charged");
    w.cancel(&order).await.expect("tombstoned");

    w.webhook(&succeeded("evt_1", intent_object(&order, &intent.id, None)))
        .await;

    assert_eq!(w.stripe.refunds_made(), 1);
    assert_eq!(w.record(&order).await.status, ChargeStatus::Refunded);
    assert_eq!(w.event_types(&order), vec!["payment.refunded"]);
}

#[tokio::test]
async fn the_webhook_records_a_failure_the_consumer_missed() {
    let w = World::new();
    let order = card_order("pm_card_chargeDeclined", 1_500);
    let failed = stripe_event(
        "evt_1",
        "payment_intent.payment_failed",
        StripeEventKind::PaymentIntentFailed(intent_object(&order, "pi_9", Some("card_declined"))),
    );

    assert_eq!(w.webhook(&failed).await, WebhookOutcome::Processed);
    assert_eq!(w.failure_reason(&order), "card_declined");
    // The consumer then finds the outcome decided.
    assert!(!w.charge(&order).await.expect("handled").fresh);
    assert_eq!(w.event_types(&order), vec!["payment.failed"]);

    let auth = card_order("pm_card_authenticationRequired", 1_500);
    w.webhook(&stripe_event(
        "evt_2",
        "payment_intent.payment_failed",
        StripeEventKind::PaymentIntentFailed(intent_object(
            &auth,
            "pi_10",
            Some("payment_intent_authentication_failure"),
        )),
    ))
    .await;
    assert_eq!(w.failure_reason(&auth), "authentication_required");
}

#[tokio::test]
async fn a_refund_reported_by_stripe_is_recorded_once() {
    let w = World::new();
    let order = card_order("pm_card_visa", 1_500);
    w.charge(&order).await.expect("charged");
    let intent = w.record(&order).await.provider_reference.expect("intent");
    let refunded = |id: &str| {
        stripe_event(
            id,
            "charge.refunded",
            StripeEventKind::ChargeRefunded(ChargeObject {
                id: "ch_1".into(),
                payment_intent: Some(intent.clone()),
                refunded: true,
                latest_refund: Some("re_dash".into()),
            }),
        )
    };

    assert_eq!(
        w.webhook(&refunded("evt_1")).await,
        WebhookOutcome::Processed
    );
    assert_eq!(
        w.webhook(&refunded("evt_2")).await,
        WebhookOutcome::Processed
    );

    let record = w.record(&order).await;
    assert_eq!(record.status, ChargeStatus::Refunded);
    assert_eq!(record.refund_reference.as_deref(), Some("re_dash"));
    assert_eq!(
        w.event_types(&order),
        vec!["payment.succeeded", "payment.refunded"]
    );
    // A cancellation afterwards finds it refunded.
    assert!(matches!(
        w.cancel(&order).await,
        Ok(RefundOutcome::AlreadyRefunded(_))
    ));
    assert_eq!(w.stripe.refunds_made(), 0, "nothing refunded twice");
}

#[tokio::test]
async fn events_that_are_not_ours_are_acknowledged_and_ignored() {
    let w = World::new();
    let other = stripe_event("evt_1", "customer.created", StripeEventKind::Other);
    assert_eq!(w.webhook(&other).await, WebhookOutcome::Ignored);
    assert_eq!(w.webhook(&other).await, WebhookOutcome::Duplicate);

    let mut foreign = intent_object(&card_order("pm_card_visa", 1), "pi_x", None);
    foreign.metadata.clear();
    assert_eq!(
        w.webhook(&succeeded("evt_2", foreign)).await,
        WebhookOutcome::Ignored
    );
    let partial = stripe_event(
        "evt_3",
        "charge.refunded",
        StripeEventKind::ChargeRefunded(ChargeObject {
            id: "ch_1".into(),
            payment_intent: Some("pi_x".into()),
            refunded: false,
            latest_refund: None,
        }),
    );
    assert_eq!(w.webhook(&partial).await, WebhookOutcome::Ignored);
    let unknown_intent = stripe_event(
        "evt_4",
        "charge.refunded",
        StripeEventKind::ChargeRefunded(ChargeObject {
            id: "ch_1".into(),
            payment_intent: Some("pi_unknown".into()),
            refunded: true,
            latest_refund: None,
        }),
    );
    assert_eq!(w.webhook(&unknown_intent).await, WebhookOutcome::Ignored);
    assert!(w.store.outbox().is_empty());
}

#[tokio::test]
async fn money_taken_for_a_failed_order_is_given_back() {
    let w = World::new();
    let order = card_order("pm_card_authenticationRequired", 1_500);
    w.charge(&order)
        .await
        .expect("failed: authentication required");
    // The customer authenticated after all and Stripe charged the intent.
    // InMemoryStripe cannot complete 3-D Secure, so a succeeded intent for
    // the order is created under another key.
    let intent = w
        .stripe
        .create_payment_intent(&PaymentIntentRequest {
            amount: order.amount,
            currency: order.currency,
            payment_method: "pm_card_visa".into(),
            idempotency_key: "authenticated".into(),
            metadata: vec![],
        })
        .await
        .expect("charged");

    w.webhook(&succeeded("evt_1", intent_object(&order, &intent.id, None)))
        .await;

    assert_eq!(w.stripe.refunds_made(), 1);
    assert_eq!(w.event_types(&order), vec!["payment.failed"]);
}
