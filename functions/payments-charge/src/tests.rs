use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use consumer_kit::{Consumer, ConsumerSettings};
use contracts::events::{OrderLine, OrderPayment, PaymentFailed, PaymentMethod, PaymentSucceeded};
use contracts::{CorrelationId, Currency, OrderId, ProductId, RawEnvelope, UserId};
use payments::charges::model::{ChargeStatus, PaymentId};
use payments::memory::{InMemoryPaymentsStore, InMemoryStripe};
use payments::model::{DepositAmount, Description, IdempotencyKey};
use payments::service::{DepositCommand, deposit, open_account};
use platform::idempotency::InMemoryIdempotencyStore;
use time::Duration;

use super::*;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn wallet_holding(store: &InMemoryPaymentsStore, amount: i64) -> UserId {
    let user = UserId::new();
    open_account(store, user, Currency::USD, CorrelationId::new(), now())
        .await
        .expect("opened");
    deposit(
        store,
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

fn reserved(user: UserId, amount: i64, method: PaymentMethod) -> EventEnvelope<InventoryReserved> {
    EventEnvelope::new(
        InventoryReserved {
            order_id: OrderId::new(),
            user_id: user,
            lines: vec![OrderLine {
                product_id: ProductId::new(),
                sku: "SKU-1".into(),
                name: "Lamp".into(),
                unit_price: amount,
                quantity: 1,
            }],
            payment: OrderPayment {
                amount,
                currency: Currency::USD,
                method,
            },
            reserved_at: now(),
        },
        CorrelationId::new(),
        now(),
    )
}

/// The same order announced again under a new event id (a re-published
/// event): the consumer's event-id idempotency does not catch it.
fn republished(event: &EventEnvelope<InventoryReserved>) -> EventEnvelope<InventoryReserved> {
    EventEnvelope::new(event.data.clone(), event.correlation_id.clone(), now())
}

fn card(payment_method: &str) -> PaymentMethod {
    PaymentMethod::Card {
        payment_method: payment_method.into(),
    }
}

fn payment_events(store: &InMemoryPaymentsStore) -> Vec<RawEnvelope> {
    store
        .outbox()
        .into_iter()
        .filter(|e| e.event_type.starts_with("payment."))
        .collect()
}

async fn balance(store: &InMemoryPaymentsStore, user: UserId) -> i64 {
    store
        .account(user)
        .await
        .expect("read")
        .expect("account")
        .balance
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

fn consumer(
    store: &InMemoryPaymentsStore,
    stripe: &InMemoryStripe,
) -> Consumer<ChargeOrders<InMemoryPaymentsStore, InMemoryStripe>, InMemoryIdempotencyStore> {
    Consumer::new(
        ChargeOrders::new(store.clone(), stripe.clone()),
        InMemoryIdempotencyStore::new(),
        ConsumerSettings {
            name: CONSUMER_NAME.into(),
            idempotency_ttl: Duration::hours(1),
            concurrency: 4,
        },
    )
}

fn deadline() -> OffsetDateTime {
    now() + Duration::seconds(30)
}

#[tokio::test]
async fn a_wallet_order_is_paid_and_announced_in_its_flow() {
    let store = InMemoryPaymentsStore::new();
    let handler = ChargeOrders::new(store.clone(), InMemoryStripe::new());
    let user = wallet_holding(&store, 10_000).await;
    let event = reserved(user, 2_999, PaymentMethod::Wallet);

    handler.handle(event.clone()).await.expect("handled");

    assert_eq!(balance(&store, user).await, 7_001);
    let events = payment_events(&store);
    assert_eq!(events.len(), 1);
    let paid: EventEnvelope<PaymentSucceeded> = events[0].clone().decode().expect("succeeded");
    assert_eq!(paid.correlation_id, event.correlation_id);
    assert_eq!(paid.subject, event.data.order_id.to_string());
    assert_eq!(paid.data.order_id, event.data.order_id);
    assert_eq!(paid.data.amount, 2_999);
    assert_eq!(
        paid.data.payment_id,
        PaymentId::for_order(event.data.order_id).to_string()
    );
}

#[tokio::test]
async fn duplicates_and_republished_events_charge_once() {
    let store = InMemoryPaymentsStore::new();
    let stripe = InMemoryStripe::new();
    let consumer = consumer(&store, &stripe);
    let user = wallet_holding(&store, 10_000).await;
    let wallet = reserved(user, 1_000, PaymentMethod::Wallet);
    let by_card = reserved(UserId::new(), 1_500, card("pm_card_visa"));
    let body = |e: &EventEnvelope<InventoryReserved>| serde_json::to_string(e).expect("json");

    let out = consumer
        .process_batch(
            sqs(&[
                ("m1", body(&wallet)),
                ("m2", body(&by_card)),
                ("m3", body(&republished(&wallet))),
                ("m4", body(&republished(&by_card))),
            ]),
            deadline(),
            "req",
        )
        .await;
    assert!(out.batch_item_failures.is_empty(), "{:?}", out.failed_ids());
    let again = consumer
        .process_batch(
            sqs(&[("m1", body(&wallet)), ("m2", body(&by_card))]),
            deadline(),
            "req",
        )
        .await;
    assert!(again.batch_item_failures.is_empty());

    assert_eq!(balance(&store, user).await, 9_000);
    assert_eq!(stripe.intents_created(), 1);
    let succeeded = payment_events(&store)
        .iter()
        .filter(|e| e.event_type == "payment.succeeded")
        .count();
    assert_eq!(succeeded, 2, "one per order");
    assert_eq!(payment_events(&store).len(), 2);
}

#[tokio::test]
async fn declines_and_short_wallets_are_outcomes_not_failures() {
    let store = InMemoryPaymentsStore::new();
    let stripe = InMemoryStripe::new();
    let consumer = consumer(&store, &stripe);
    let user = wallet_holding(&store, 100).await;
    let short = reserved(user, 1_000, PaymentMethod::Wallet);
    let declined = reserved(UserId::new(), 1_000, card("pm_card_chargeDeclined"));

    let out = consumer
        .process_batch(
            sqs(&[
                ("m1", serde_json::to_string(&short).expect("json")),
                ("m2", serde_json::to_string(&declined).expect("json")),
            ]),
            deadline(),
            "req",
        )
        .await;

    assert!(out.batch_item_failures.is_empty(), "{:?}", out.failed_ids());
    let mut reasons: Vec<String> = payment_events(&store)
        .into_iter()
        .map(|e| {
            e.decode::<PaymentFailed>()
                .expect("payment.failed")
                .data
                .reason
        })
        .collect();
    reasons.sort();
    assert_eq!(reasons, vec!["card_declined", "insufficient_funds"]);
    assert_eq!(balance(&store, user).await, 100);
}

#[tokio::test]
async fn a_stripe_outage_fails_the_record_for_a_retry_that_charges_once() {
    let store = InMemoryPaymentsStore::new();
    let stripe = InMemoryStripe::new();
    let consumer = consumer(&store, &stripe);
    let event = reserved(UserId::new(), 1_000, card("pm_card_visa"));
    let body = serde_json::to_string(&event).expect("json");
    stripe.fail_next(1);

    let out = consumer
        .process_batch(sqs(&[("m1", body.clone())]), deadline(), "req")
        .await;
    assert_eq!(out.failed_ids(), vec!["m1"]);
    assert!(payment_events(&store).is_empty());

    let retry = consumer
        .process_batch(sqs(&[("m1", body)]), deadline(), "req")
        .await;
    assert!(retry.batch_item_failures.is_empty());
    assert_eq!(stripe.intents_created(), 1);
    let record = store
        .charge(event.data.order_id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(record.status, ChargeStatus::Succeeded);
}

#[tokio::test]
async fn poison_messages_fail_alone() {
    let store = InMemoryPaymentsStore::new();
    let consumer = consumer(&store, &InMemoryStripe::new());
    let user = wallet_holding(&store, 10_000).await;
    let good = reserved(user, 500, PaymentMethod::Wallet);
    let zero = reserved(user, 0, PaymentMethod::Wallet);
    let wrong_type = serde_json::to_string(&EventEnvelope::new(
        contracts::events::PaymentAccountCreated {
            account_id: "acct_1".into(),
            user_id: user,
            currency: Currency::USD,
            created_at: now(),
        },
        CorrelationId::new(),
        now(),
    ))
    .expect("json");

    let out = consumer
        .process_batch(
            sqs(&[
                ("m1", "not json".into()),
                ("m2", serde_json::to_string(&zero).expect("json")),
                ("m3", wrong_type),
                ("m4", serde_json::to_string(&good).expect("json")),
            ]),
            deadline(),
            "req",
        )
        .await;

    let mut failed = out.failed_ids();
    failed.sort();
    assert_eq!(failed, vec!["m1", "m2", "m3"]);
    assert_eq!(balance(&store, user).await, 9_500);
    let zero_result = ChargeOrders::new(store.clone(), InMemoryStripe::new())
        .handle(zero)
        .await;
    assert!(
        matches!(zero_result, Err(HandlerError::Permanent(_))),
        "{zero_result:?}"
    );
}

#[test]
fn config_needs_the_table() {
    assert_eq!(
        Config::from_env(&Env::from_pairs(&[("TABLE_NAME", "payments")])),
        Ok(Config {
            table_name: "payments".into()
        })
    );
    assert_eq!(
        Config::from_env(&Env::from_pairs(&[])),
        Err(ConfigError::Missing("TABLE_NAME"))
    );
}
