use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use contracts::events::WalletDeposited;
use contracts::{EventEnvelope, RawEnvelope};
use time::macros::datetime;

use super::*;
use crate::memory::InMemoryPaymentsStore;
use crate::model::Description;
use crate::store::StoreResult;

fn t0() -> OffsetDateTime {
    datetime!(2026-11-21 10:00 UTC)
}

async fn opened(store: &InMemoryPaymentsStore, currency: Currency) -> UserId {
    let user = UserId::new();
    let opening = open_account(store, user, currency, CorrelationId::new(), t0())
        .await
        .expect("opens");
    assert!(matches!(opening, AccountOpening::Opened(_)));
    user
}

fn command(user: UserId, key: &str, amount: i64, description: &str) -> DepositCommand {
    DepositCommand {
        user_id: user,
        key: IdempotencyKey::parse(key).expect("key"),
        amount: DepositAmount::new(amount, Currency::USD).expect("amount"),
        currency: Currency::USD,
        description: Description::parse(description).expect("description"),
    }
}

fn deposited_events(store: &InMemoryPaymentsStore) -> Vec<EventEnvelope<WalletDeposited>> {
    store
        .outbox()
        .into_iter()
        .filter(|e| e.event_type == "wallet.deposited")
        .map(|e| e.decode().expect("a wallet.deposited event"))
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

#[tokio::test]
async fn opening_twice_keeps_one_account_and_one_event() {
    let store = InMemoryPaymentsStore::new();
    let user = opened(&store, Currency::USD).await;
    let again = open_account(&store, user, Currency::EUR, CorrelationId::new(), t0())
        .await
        .expect("second call succeeds");
    assert_eq!(again, AccountOpening::AlreadyOpen);
    assert_eq!(store.account_count(), 1);
    let outbox = store.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].event_type, "payment_account.created");
    let account = store.account(user).await.expect("read").expect("exists");
    assert_eq!(account.currency, Currency::USD, "the first account stays");
    assert_eq!(account.balance, 0);
    assert_eq!(outbox[0].subject, account.id.to_string());
    assert_eq!(outbox[0].data["user_id"], user.to_string());
    assert_eq!(outbox[0].data["currency"], "USD");
}

#[tokio::test]
async fn a_deposit_credits_records_and_announces() {
    let store = InMemoryPaymentsStore::new();
    let user = opened(&store, Currency::USD).await;
    let correlation = CorrelationId::new();

    let receipt = deposit(
        &store,
        command(user, "k1", 2_500, " Top-up "),
        correlation.clone(),
        t0(),
    )
    .await
    .expect("deposited");

    assert_eq!(receipt.status, 201);
    assert!(!receipt.replayed);
    assert_eq!(balance(&store, user).await, 2_500);
    let ledger = store.ledger_entries(user);
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].balance_after, 2_500);
    assert_eq!(ledger[0].description.as_str(), "Top-up");
    let body: serde_json::Value = serde_json::from_str(&receipt.body).expect("json");
    assert_eq!(body["id"], ledger[0].id.as_str());
    assert_eq!(
        body["amount"],
        serde_json::json!({"amount": 2500, "currency": "USD"})
    );

    let events = deposited_events(&store);
    assert_eq!(events.len(), 1);
    let event = &events[0];
    let account = store.account(user).await.expect("read").expect("account");
    assert_eq!(event.correlation_id, correlation);
    assert_eq!(event.subject, account.id.to_string());
    assert_eq!(event.data.account_id, account.id.to_string());
    assert_eq!(event.data.user_id, user);
    assert_eq!(event.data.transaction_id, ledger[0].id.to_string());
    assert_eq!(event.data.amount, 2_500);
    assert_eq!(event.data.currency, Currency::USD);
    assert_eq!(event.data.balance_after, 2_500);
    assert_eq!(event.data.description, "Top-up");
    assert_eq!(event.data.deposited_at, ledger[0].created_at);
}

#[tokio::test]
async fn a_replay_answers_the_same_and_credits_once() {
    let store = InMemoryPaymentsStore::new();
    let user = opened(&store, Currency::USD).await;
    let first = deposit(
        &store,
        command(user, "k1", 700, "a"),
        CorrelationId::new(),
        t0(),
    )
    .await
    .expect("first");
    let later = t0() + Duration::hours(1);
    let second = deposit(
        &store,
        command(user, "k1", 700, "a"),
        CorrelationId::new(),
        later,
    )
    .await
    .expect("replay");
    assert!(second.replayed);
    assert_eq!(second.status, first.status);
    assert_eq!(second.body, first.body);
    assert_eq!(balance(&store, user).await, 700);
    assert_eq!(store.ledger_entries(user).len(), 1);
    assert_eq!(deposited_events(&store).len(), 1);
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused() {
    let store = InMemoryPaymentsStore::new();
    let user = opened(&store, Currency::USD).await;
    deposit(
        &store,
        command(user, "k1", 700, "a"),
        CorrelationId::new(),
        t0(),
    )
    .await
    .expect("first");
    for other in [command(user, "k1", 701, "a"), command(user, "k1", 700, "b")] {
        let result = deposit(&store, other, CorrelationId::new(), t0()).await;
        assert!(
            matches!(result, Err(PaymentsError::KeyReused)),
            "{result:?}"
        );
    }
    assert_eq!(balance(&store, user).await, 700);
}

#[tokio::test]
async fn keys_expire_after_a_day() {
    let store = InMemoryPaymentsStore::new();
    let user = opened(&store, Currency::USD).await;
    deposit(
        &store,
        command(user, "k1", 700, "a"),
        CorrelationId::new(),
        t0(),
    )
    .await
    .expect("first");
    let next_week = t0() + Duration::days(7);
    let again = deposit(
        &store,
        command(user, "k1", 900, "b"),
        CorrelationId::new(),
        next_week,
    )
    .await
    .expect("the expired key is free again");
    assert!(!again.replayed);
    assert_eq!(balance(&store, user).await, 1_600);
}

#[tokio::test]
async fn keys_belong_to_their_user() {
    let store = InMemoryPaymentsStore::new();
    let ada = opened(&store, Currency::USD).await;
    let bob = opened(&store, Currency::USD).await;
    deposit(
        &store,
        command(ada, "same", 100, ""),
        CorrelationId::new(),
        t0(),
    )
    .await
    .expect("ada");
    let bobs = deposit(
        &store,
        command(bob, "same", 300, ""),
        CorrelationId::new(),
        t0(),
    )
    .await
    .expect("bob");
    assert!(!bobs.replayed);
    assert_eq!(balance(&store, ada).await, 100);
    assert_eq!(balance(&store, bob).await, 300);
}

#[tokio::test]
async fn no_account_yet_or_another_currency_is_refused() {
    let store = InMemoryPaymentsStore::new();
    let stranger = UserId::new();
    let result = deposit(
        &store,
        command(stranger, "k", 1, ""),
        CorrelationId::new(),
        t0(),
    )
    .await;
    assert!(
        matches!(result, Err(PaymentsError::AccountNotReady)),
        "{result:?}"
    );

    let euro_user = opened(&store, Currency::EUR).await;
    let result = deposit(
        &store,
        command(euro_user, "k", 1, ""),
        CorrelationId::new(),
        t0(),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(PaymentsError::CurrencyMismatch {
                wallet: Currency::EUR,
                requested: Currency::USD
            })
        ),
        "{result:?}"
    );
    assert_eq!(deposited_events(&store).len(), 0);
}

#[tokio::test]
async fn ledger_time_follows_the_balance_even_when_clocks_go_back() {
    let store = InMemoryPaymentsStore::new();
    let user = opened(&store, Currency::USD).await;
    deposit(
        &store,
        command(user, "k1", 1, ""),
        CorrelationId::new(),
        t0(),
    )
    .await
    .expect("first");
    // A second invocation whose clock is an hour behind.
    deposit(
        &store,
        command(user, "k2", 2, ""),
        CorrelationId::new(),
        t0() - Duration::hours(1),
    )
    .await
    .expect("second");
    let page = transactions(&store, user, None, 10).await.expect("page");
    let balances: Vec<i64> = page.items.iter().map(|t| t.balance_after.amount).collect();
    assert_eq!(balances, vec![3, 1], "newest first");
    assert!(page.items[0].created_at > page.items[1].created_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deposits_each_see_an_exact_balance() {
    let store = InMemoryPaymentsStore::new();
    let user = opened(&store, Currency::USD).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                deposit(
                    &store,
                    command(user, &format!("k{i}"), 100, ""),
                    CorrelationId::new(),
                    t0(),
                )
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("deposited");
    }
    let ledger = store.ledger_entries(user);
    assert_eq!(ledger.len(), 50);
    assert_eq!(balance(&store, user).await, 5_000);
    assert_eq!(ledger.iter().map(|e| e.amount).sum::<i64>(), 5_000);
    // Every entry saw the balance exactly as it left it: 100, 200, ... 5000.
    let after: BTreeSet<i64> = ledger.iter().map(|e| e.balance_after).collect();
    assert_eq!(after, (1..=50).map(|i| i * 100).collect());
    // Time order (what the ledger shows) is balance order.
    let in_time_order: Vec<i64> = ledger.iter().map(|e| e.balance_after).collect();
    assert_eq!(in_time_order, (1..=50).map(|i| i * 100).collect::<Vec<_>>());
    assert_eq!(deposited_events(&store).len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_key_credit_once() {
    let store = InMemoryPaymentsStore::new();
    let user = opened(&store, Currency::USD).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                deposit(
                    &store,
                    command(user, "once", 100, "x"),
                    CorrelationId::new(),
                    t0(),
                )
                .await
            })
        })
        .collect();
    let mut receipts = Vec::new();
    for task in tasks {
        receipts.push(task.await.expect("task").expect("answered"));
    }
    assert_eq!(receipts.iter().filter(|r| !r.replayed).count(), 1);
    assert!(
        receipts
            .iter()
            .all(|r| r.body == receipts[0].body && r.status == 201)
    );
    assert_eq!(balance(&store, user).await, 100);
    assert_eq!(store.ledger_entries(user).len(), 1);
    assert_eq!(deposited_events(&store).len(), 1);
}

/// Delegates to the in-memory store but loses the first `stale` deposit
/// writes to an imaginary concurrent writer.
struct Contended {
    inner: InMemoryPaymentsStore,
    stale: usize,
    writes: AtomicUsize,
}

impl PaymentsStore for Contended {
    async fn create_account(
        &self,
        account: &Account,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.inner.create_account(account, event, now).await
    }
    async fn account(&self, user_id: UserId) -> StoreResult<Option<Account>> {
        self.inner.account(user_id).await
    }
    async fn record_deposit(
        &self,
        deposit: DepositWrite<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) < self.stale {
            return Err(StoreError::Stale);
        }
        self.inner.record_deposit(deposit, event, now).await
    }
    async fn idempotency_record(
        &self,
        user_id: UserId,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        self.inner.idempotency_record(user_id, key).await
    }
    async fn ledger(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<LedgerEntry>> {
        self.inner.ledger(user_id, cursor, limit).await
    }
}

#[tokio::test]
async fn lost_races_are_retried_then_given_up() {
    let inner = InMemoryPaymentsStore::new();
    let user = opened(&inner, Currency::USD).await;

    let contended = Contended {
        inner: inner.clone(),
        stale: 3,
        writes: AtomicUsize::new(0),
    };
    deposit(
        &contended,
        command(user, "k1", 100, ""),
        CorrelationId::new(),
        t0(),
    )
    .await
    .expect("succeeds on the fourth attempt");
    assert_eq!(contended.writes.load(Ordering::SeqCst), 4);

    let hopeless = Contended {
        inner: inner.clone(),
        stale: usize::MAX,
        writes: AtomicUsize::new(0),
    };
    let result = deposit(
        &hopeless,
        command(user, "k2", 100, ""),
        CorrelationId::new(),
        t0(),
    )
    .await;
    assert!(matches!(result, Err(PaymentsError::Busy)), "{result:?}");
    assert_eq!(
        hopeless.writes.load(Ordering::SeqCst),
        MAX_ATTEMPTS as usize
    );
    assert_eq!(balance(&inner, user).await, 100);
}

#[tokio::test]
async fn the_ledger_pages_newest_first() {
    let store = InMemoryPaymentsStore::new();
    let user = opened(&store, Currency::USD).await;
    for i in 1..=5 {
        deposit(
            &store,
            command(user, &format!("k{i}"), i, ""),
            CorrelationId::new(),
            t0(),
        )
        .await
        .expect("deposit");
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = transactions(&store, user, cursor.as_deref(), 2)
            .await
            .expect("page");
        seen.extend(page.items.iter().map(|t| t.amount.amount));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, vec![5, 4, 3, 2, 1]);
    let other = UserId::new();
    let first = transactions(&store, user, None, 2).await.expect("page");
    let foreign = transactions(&store, other, first.next_cursor.as_deref(), 2).await;
    assert!(
        matches!(foreign, Err(PaymentsError::BadCursor)),
        "{foreign:?}"
    );
}

#[tokio::test]
async fn wallet_reads_the_balance() {
    let store = InMemoryPaymentsStore::new();
    let stranger = wallet(&store, UserId::new()).await;
    assert!(matches!(stranger, Err(PaymentsError::AccountNotFound)));
    let user = opened(&store, Currency::USD).await;
    deposit(
        &store,
        command(user, "k1", 4_200, ""),
        CorrelationId::new(),
        t0(),
    )
    .await
    .expect("deposit");
    let view = wallet(&store, user).await.expect("wallet");
    assert_eq!(view.balance.amount, 4_200);
    assert_eq!(view.balance.currency, Currency::USD);
}
