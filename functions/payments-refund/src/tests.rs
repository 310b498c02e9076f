use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{CancelReason, PaymentMethod, PaymentRefunded};
use contracts::{CorrelationId, Currency, OrderId, RawEnvelope, UserId};
use payments::charges::model::{ChargeStatus, FailureReason, OrderCharge};
use payments::charges::service::charge_order;
use payments::memory::{InMemoryPaymentsStore, InMemoryStripe};
use payments::model::{DepositAmount, Description, IdempotencyKey};
use payments::service::{DepositCommand, deposit, open_account};
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

struct World {
    store: InMemoryPaymentsStore,
    stripe: InMemoryStripe,
    handler: RefundOrders<InMemoryPaymentsStore, InMemoryStripe>,
}

impl World {
    fn new() -> Self {
        let store = InMemoryPaymentsStore::new();
        let stripe = InMemoryStripe::new();
        Self {
            handler: RefundOrders::new(store.clone(), stripe.clone()),
            store,
            stripe,
        }
    }

    async fn wallet_holding(&self, amount: i64) -> UserId {
        let user = UserId::new();
        open_account(
            &self.store,
            user,
            Currency::USD,
            CorrelationId::new(),
            now(),
        )
        .await
        .expect("opened");
        deposit(
            &self.store,
            DepositCommand {
                user_id: user,
                key: IdempotencyKey::parse("top-up").expect("key"),
                amount: DepositAmount::new(amount, Currency::USD).expect("amount"),
                currency: Currency::USD,
                description: Description::default(),
            },
            CorrelationId::new(),
            now(),
        )
        .await
        .expect("deposited");
        user
    }

    /// Charges the order as the charge consumer would.
    async fn charge(&self, order: &OrderCharge) {
        let wallet = payments::charges::provider::WalletProvider::new(self.store.clone());
        let card = payments::charges::provider::StripeProvider::new(
            self.store.clone(),
            self.stripe.clone(),
        );
        charge_order(&self.store, &wallet, &card, order, now())
            .await
            .expect("charge handled");
    }

    async fn balance(&self, user: UserId) -> i64 {
        self.store
            .account(user)
            .await
            .expect("read")
            .expect("account")
            .balance
    }

    fn payment_events(&self, order: OrderId) -> Vec<RawEnvelope> {
        self.store
            .outbox()
            .into_iter()
            .filter(|e| e.event_type.starts_with("payment.") && e.subject == order.to_string())
            .collect()
    }
}

fn order(user: UserId, method: PaymentMethod) -> OrderCharge {
    OrderCharge {
        order_id: OrderId::new(),
        user_id: user,
        amount: 2_000,
        currency: Currency::USD,
        method,
        correlation_id: CorrelationId::new(),
    }
}

fn cancelled(order: &OrderCharge) -> EventEnvelope<OrderCancelled> {
    EventEnvelope::new(
        OrderCancelled {
            order_id: order.order_id,
            user_id: order.user_id,
            reason: CancelReason::CustomerRequest,
            lines: vec![],
            cancelled_at: now(),
        },
        CorrelationId::new(),
        now(),
    )
}

fn sqs(messages: &[(&str, String)]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|(id, body)| {
            let mut m = SqsMessage::default();
            m.message_id = Some((*id).to_owned());
            m.body = Some(body.clone());
            m
        })
        .collect();
    event
}

#[tokio::test]
async fn a_cancelled_wallet_order_gets_its_money_back_once() {
    let w = World::new();
    let user = w.wallet_holding(5_000).await;
    let paid = order(user, PaymentMethod::Wallet);
    w.charge(&paid).await;
    assert_eq!(w.balance(user).await, 3_000);
    let event = cancelled(&paid);

    w.handler.handle(event.clone()).await.expect("refunded");
    w.handler.handle(event.clone()).await.expect("duplicate");
    w.handler
        .handle(cancelled(&paid))
        .await
        .expect("re-published");

    assert_eq!(w.balance(user).await, 5_000);
    let events = w.payment_events(paid.order_id);
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, vec!["payment.succeeded", "payment.refunded"]);
    let refunded: EventEnvelope<PaymentRefunded> = events[1].clone().decode().expect("refunded");
    assert_eq!(refunded.correlation_id, event.correlation_id);
    assert_eq!(refunded.data.amount, 2_000);
}

#[tokio::test]
async fn a_cancelled_card_order_is_refunded_at_stripe_once() {
    let w = World::new();
    let paid = order(
        UserId::new(),
        PaymentMethod::Card {
            payment_method: "pm_card_visa".into(),
        },
    );
    w.charge(&paid).await;
    let consumer = Consumer::new(
        RefundOrders::new(w.store.clone(), w.stripe.clone()),
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency: 4,
        },
    );
    let body = serde_json::to_string(&cancelled(&paid)).expect("json");
    let twin = serde_json::to_string(&cancelled(&paid)).expect("json");
    w.stripe.fail_next(1);

    let first = consumer
        .process_batch(
            sqs(&[("m1", body.clone())]),
            now() + Duration::seconds(30),
            "req",
        )
        .await;
    assert_eq!(first.failed_ids(), vec!["m1"], "Stripe down: retried later");
    let retry = consumer
        .process_batch(
            sqs(&[("m1", body), ("m2", twin), ("m3", "garbage".into())]),
            now() + Duration::seconds(30),
            "req",
        )
        .await;

    assert_eq!(retry.failed_ids(), vec!["m3"]);
    assert_eq!(w.stripe.refunds_made(), 1);
    let record = w
        .store
        .charge(paid.order_id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(record.status, ChargeStatus::Refunded);
    assert_eq!(w.payment_events(paid.order_id).len(), 2);
}

#[tokio::test]
async fn a_cancellation_before_the_charge_refuses_the_charge() {
    let w = World::new();
    let user = w.wallet_holding(5_000).await;
    let late = order(user, PaymentMethod::Wallet);

    w.handler
        .handle(cancelled(&late))
        .await
        .expect("tombstoned");
    w.charge(&late).await;

    assert_eq!(w.balance(user).await, 5_000);
    let record = w
        .store
        .charge(late.order_id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(record.status, ChargeStatus::Failed);
    assert_eq!(record.failure_reason, Some(FailureReason::OrderCancelled));
    let types: Vec<String> = w
        .payment_events(late.order_id)
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, vec!["payment.failed"]);
    // A redelivered cancellation now finds a failed payment: nothing to do.
    w.handler.handle(cancelled(&late)).await.expect("again");
    assert_eq!(w.payment_events(late.order_id).len(), 1);
}

#[test]
fn config_needs_the_table() {
    assert_eq!(
        Config::from_env(&Env::from_pairs(&[("TABLE_NAME", "payments")])),
        Ok(Config {
            table_name: "payments".into()
        })
    );
    assert!(Config::from_env(&Env::from_pairs(&[])).is_err());
}
