use std::collections::BTreeSet;

use contracts::events::WalletDeposited;
use contracts::{CorrelationId, EventEnvelope, Role, UserId};
use http_kit::Caller;
use payments::memory::InMemoryPaymentsStore;
use payments::service::open_account;

use super::*;

async fn store_with_wallet(currency: Currency) -> (InMemoryPaymentsStore, UserId) {
    let store = InMemoryPaymentsStore::new();
    let user = UserId::new();
    open_account(
        &store,
        user,
        currency,
        CorrelationId::new(),
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("account");
    (store, user)
}

fn ctx(user: UserId) -> HttpContext {
    HttpContext::new(
        "req",
        Some(Caller {
            user_id: user,
            roles: vec![Role::User],
        }),
    )
}

fn post(body: &str, key: Option<&str>) -> Request {
    let mut req = Request::new(Body::from(body.to_owned()));
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(key) = key {
        req.headers_mut().insert(
            IDEMPOTENCY_KEY_HEADER,
            HeaderValue::from_str(key).expect("header value"),
        );
    }
    req
}

async fn call(
    store: &InMemoryPaymentsStore,
    user: UserId,
    body: &str,
    key: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    handle(store, post(body, key), ctx(user)).await
}

fn json_body(response: &Response<Body>) -> serde_json::Value {
    serde_json::from_slice(response.body().as_ref()).expect("json body")
}

fn invalid_fields(err: ApiError) -> Vec<String> {
    match err {
        ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

async fn balance(store: &InMemoryPaymentsStore, user: UserId) -> i64 {
    store
        .account(user)
        .await
        .expect("read")
        .expect("account")
        .balance
}

fn deposited(store: &InMemoryPaymentsStore) -> Vec<EventEnvelope<WalletDeposited>> {
    store
        .outbox()
        .into_iter()
        .filter(|e| e.event_type == "wallet.deposited")
        .map(|e| e.decode().expect("wallet.deposited"))
        .collect()
}

const TOP_UP: &str = r#"{"amount":2500,"currency":"USD","description":"Top-up"}"#;

#[tokio::test]
async fn a_deposit_answers_201_and_credits_the_wallet() {
    let (store, user) = store_with_wallet(Currency::USD).await;
    let context = ctx(user);
    let correlation = context.correlation_id.clone();

    let response = handle(&store, post(TOP_UP, Some("key-1")), context)
        .await
        .expect("deposited");

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert!(response.headers().get(REPLAYED_HEADER).is_none());
    let body = json_body(&response);
    assert!(body["id"].as_str().is_some_and(|id| id.starts_with("txn_")));
    assert_eq!(body["type"], "deposit");
    assert_eq!(
        body["amount"],
        serde_json::json!({"amount": 2500, "currency": "USD"})
    );
    assert_eq!(
        body["balance_after"],
        serde_json::json!({"amount": 2500, "currency": "USD"})
    );
    assert_eq!(body["description"], "Top-up");
    assert!(body["created_at"].as_str().is_some());

    assert_eq!(balance(&store, user).await, 2500);
    let ledger = store.ledger_entries(user);
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].id.as_str(), body["id"]);

    let events = deposited(&store);
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.version, 1);
    assert_eq!(event.source, "payments");
    assert_eq!(event.correlation_id, correlation);
    assert_eq!(event.data.user_id, user);
    assert_eq!(event.data.transaction_id, ledger[0].id.as_str());
    assert_eq!(event.data.account_id, ledger[0].account_id.as_str());
    assert_eq!(event.subject, event.data.account_id);
    assert_eq!(event.data.amount, 2500);
    assert_eq!(event.data.currency, Currency::USD);
    assert_eq!(event.data.balance_after, 2500);
    assert_eq!(event.data.description, "Top-up");
}

#[tokio::test]
async fn invalid_requests_are_400_naming_the_field() {
    let (store, user) = store_with_wallet(Currency::USD).await;
    let long = "x".repeat(141);
    let long_key = "k".repeat(65);
    let cases: Vec<(String, Option<&str>, &str)> = vec![
        (
            r#"{"amount":-100,"currency":"USD"}"#.into(),
            Some("k"),
            "amount",
        ),
        (
            r#"{"amount":0,"currency":"USD"}"#.into(),
            Some("k"),
            "amount",
        ),
        (
            r#"{"amount":100000001,"currency":"USD"}"#.into(),
            Some("k"),
            "amount",
        ),
        (
            r#"{"amount":99999999999999999999,"currency":"USD"}"#.into(),
            Some("k"),
            "amount",
        ),
        (
            r#"{"amount":10.5,"currency":"USD"}"#.into(),
            Some("k"),
            "amount",
        ),
        (
            r#"{"amount":10.0,"currency":"USD"}"#.into(),
            Some("k"),
            "amount",
        ),
        (
            r#"{"amount":"10","currency":"USD"}"#.into(),
            Some("k"),
            "amount",
        ),
        (r#"{"currency":"USD"}"#.into(), Some("k"), "amount"),
        (
            r#"{"amount":100,"currency":"XXX"}"#.into(),
            Some("k"),
            "currency",
        ),
        (
            r#"{"amount":100,"currency":"usd"}"#.into(),
            Some("k"),
            "currency",
        ),
        (
            r#"{"amount":100,"currency":840}"#.into(),
            Some("k"),
            "currency",
        ),
        (r#"{"amount":100}"#.into(), Some("k"), "currency"),
        (
            r#"{"amount":100,"currency":"EUR"}"#.into(),
            Some("k"),
            "currency",
        ),
        (TOP_UP.into(), None, "Idempotency-Key"),
        (TOP_UP.into(), Some("has space"), "Idempotency-Key"),
        (TOP_UP.into(), Some(""), "Idempotency-Key"),
        (TOP_UP.into(), Some(long_key.as_str()), "Idempotency-Key"),
        (
            format!(r#"{{"amount":100,"currency":"USD","description":"{long}"}}"#),
            Some("k"),
            "description",
        ),
        (
            r#"{"amount":100,"currency":"USD","description":"a\u0007b"}"#.into(),
            Some("k"),
            "description",
        ),
        (
            r#"{"amount":100,"currency":"USD","description":42}"#.into(),
            Some("k"),
            "description",
        ),
    ];
    for (body, key, field) in cases {
        let err = call(&store, user, &body, key)
            .await
            .expect_err(&format!("{body} with key {key:?} must be refused"));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            invalid_fields(err),
            vec![field.to_owned()],
            "{body} {key:?}"
        );
    }
    assert_eq!(balance(&store, user).await, 0, "nothing was credited");
    assert!(deposited(&store).is_empty());
}

#[tokio::test]
async fn every_problem_is_listed_at_once() {
    let (store, user) = store_with_wallet(Currency::USD).await;
    let err = call(
        &store,
        user,
        r#"{"amount":"ten","currency":"DOLLARS","description":"\u0000"}"#,
        None,
    )
    .await
    .expect_err("invalid");
    assert_eq!(
        invalid_fields(err),
        vec!["amount", "currency", "description", "Idempotency-Key"]
    );
}

#[tokio::test]
async fn a_wrong_currency_says_which_one_is_expected() {
    let (store, user) = store_with_wallet(Currency::USD).await;
    let err = call(
        &store,
        user,
        r#"{"amount":100,"currency":"EUR"}"#,
        Some("k"),
    )
    .await
    .expect_err("wrong currency");
    let response = err.into_response("req");
    let body = json_body(&response);
    assert_eq!(body["errors"][0]["field"], "currency");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("USD")),
        "{body}"
    );
}

#[tokio::test]
async fn the_largest_deposit_is_accepted_and_yen_have_no_cents() {
    let (store, user) = store_with_wallet(Currency::USD).await;
    let ok = call(
        &store,
        user,
        r#"{"amount":100000000,"currency":"USD"}"#,
        Some("max"),
    )
    .await
    .expect("one million dollars");
    assert_eq!(ok.status(), StatusCode::CREATED);

    let (store, user) = store_with_wallet(Currency::JPY).await;
    let err = call(
        &store,
        user,
        r#"{"amount":1000001,"currency":"JPY"}"#,
        Some("k"),
    )
    .await
    .expect_err("over one million yen");
    assert_eq!(invalid_fields(err), vec!["amount"]);
}

#[tokio::test]
async fn anonymous_callers_and_missing_wallets_are_refused() {
    let (store, _) = store_with_wallet(Currency::USD).await;
    let err = handle(
        &store,
        post(TOP_UP, Some("k")),
        HttpContext::new("req", None),
    )
    .await
    .expect_err("401");
    assert_eq!(err.status(), StatusCode::UNAUTHORIZED);

    let newcomer = UserId::new();
    let err = call(&store, newcomer, TOP_UP, Some("k"))
        .await
        .expect_err("no wallet yet");
    assert_eq!(err.status(), StatusCode::CONFLICT);
    let body = json_body(&err.into_response("req"));
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("not ready")),
        "{body}"
    );
}

#[tokio::test]
async fn a_replay_returns_the_original_answer_and_credits_once() {
    let (store, user) = store_with_wallet(Currency::USD).await;
    let first = call(&store, user, TOP_UP, Some("key-1"))
        .await
        .expect("first");
    // Same content, other formatting and field order: still the same request.
    let again = r#"{ "description": "Top-up", "currency": "USD", "amount": 2500 }"#;
    let second = call(&store, user, again, Some("key-1"))
        .await
        .expect("replay");

    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()[REPLAYED_HEADER], "true");
    assert_eq!(second.body().as_ref(), first.body().as_ref());
    assert_eq!(balance(&store, user).await, 2500);
    assert_eq!(store.ledger_entries(user).len(), 1);
    assert_eq!(deposited(&store).len(), 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let (store, user) = store_with_wallet(Currency::USD).await;
    call(&store, user, TOP_UP, Some("key-1"))
        .await
        .expect("first");
    let err = call(
        &store,
        user,
        r#"{"amount":9999,"currency":"USD","description":"Top-up"}"#,
        Some("key-1"),
    )
    .await
    .expect_err("reused key");
    assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json_body(&err.into_response("req"));
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Idempotency-Key")),
        "{body}"
    );
    assert_eq!(balance(&store, user).await, 2500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_deposits_all_count() {
    let (store, user) = store_with_wallet(Currency::USD).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let key = format!("key-{i}");
                call(
                    &store,
                    user,
                    r#"{"amount":125,"currency":"USD"}"#,
                    Some(&key),
                )
                .await
            })
        })
        .collect();
    for task in tasks {
        let response = task.await.expect("task").expect("deposited");
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let ledger = store.ledger_entries(user);
    let wallet = balance(&store, user).await;
    assert_eq!(wallet, 50 * 125);
    assert_eq!(ledger.iter().map(|e| e.amount).sum::<i64>(), wallet);
    let balances_after: BTreeSet<i64> = ledger.iter().map(|e| e.balance_after).collect();
    assert_eq!(balances_after, (1..=50).map(|i| i * 125).collect());
    assert_eq!(deposited(&store).len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_request_credit_once() {
    let (store, user) = store_with_wallet(Currency::USD).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { call(&store, user, TOP_UP, Some("same-key")).await })
        })
        .collect();
    let mut bodies = Vec::new();
    let mut replayed = 0;
    for task in tasks {
        let response = task.await.expect("task").expect("answered");
        assert_eq!(response.status(), StatusCode::CREATED);
        if response.headers().contains_key(REPLAYED_HEADER) {
            replayed += 1;
        }
        bodies.push(response.body().as_ref().to_vec());
    }
    assert_eq!(replayed, 19);
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    assert_eq!(balance(&store, user).await, 2500);
    assert_eq!(store.ledger_entries(user).len(), 1);
    assert_eq!(deposited(&store).len(), 1);
}
