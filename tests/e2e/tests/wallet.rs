//! Payments and wallet through the gateway: the account opened on
//! registration, deposits with Idempotency-Key, the ledger.

use std::time::Duration;

use e2e::{Stack, stack};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Deposits, retrying on 409 "busy" with the same key as a client would.
async fn deposit_until_done(st: &Stack, token: &str, key: &str, body: Value) -> e2e::Reply {
    for _ in 0..20 {
        let r = st.deposit(token, Some(key), body.clone()).await;
        if r.status != StatusCode::CONFLICT {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("deposit {key} kept conflicting");
}

fn balance(wallet: &Value) -> i64 {
    wallet["balance"]["amount"].as_i64().unwrap_or(-1)
}

async fn ledger_sum(st: &Stack, token: &str) -> (i64, usize) {
    let (mut sum, mut count, mut cursor) = (0, 0, None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/wallet/transactions?limit=100&cursor={c}"),
            None => "/wallet/transactions?limit=100".to_owned(),
        };
        let page = st.call(Method::GET, &path, Some(token), None).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        for item in page.body["items"].as_array().into_iter().flatten() {
            sum += item["amount"]["amount"]
                .as_i64()
                .or_else(|| item["amount"].as_i64())
                .unwrap_or(0);
            count += 1;
        }
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            return (sum, count);
        }
    }
}

#[tokio::test]
async fn registration_opens_a_wallet_and_deposits_replay_by_key() {
    let st = stack().await;
    let (user, wallet) = st.user_with_wallet().await;
    assert_eq!(balance(&wallet), 0);
    assert_eq!(wallet["balance"]["currency"], "USD");

    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"amount": 2500, "currency": "USD", "description": "Top-up"});
    let first = st
        .deposit(&user.access_token, Some(&key), body.clone())
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);

    let replay = st.deposit(&user.access_token, Some(&key), body).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(
        replay.body, first.body,
        "a replay returns the original result"
    );
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));

    let other = st
        .deposit(
            &user.access_token,
            Some(&key),
            json!({"amount": 1, "currency": "USD"}),
        )
        .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        other.body
    );

    let wallet = st
        .call(Method::GET, "/wallet", Some(&user.access_token), None)
        .await;
    assert_eq!(balance(&wallet.body), 2500, "credited once");
    assert_eq!(ledger_sum(&st, &user.access_token).await, (2500, 1));
}

#[tokio::test]
async fn invalid_deposits_are_rejected_with_details() {
    let st = stack().await;
    let (user, _) = st.user_with_wallet().await;
    let cases = [
        json!({"amount": -5, "currency": "USD"}),
        json!({"amount": 0, "currency": "USD"}),
        json!({"amount": 100_000_000_000_i64, "currency": "USD"}),
        json!({"amount": 10.5, "currency": "USD"}),
        json!({"amount": "10", "currency": "USD"}),
        json!({"amount": 100, "currency": "EUR"}),
        json!({"amount": 100, "currency": "XXX"}),
        json!({"currency": "USD"}),
    ];
    for body in cases {
        let key = uuid::Uuid::new_v4().to_string();
        let r = st
            .deposit(&user.access_token, Some(&key), body.clone())
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body} -> {:?}", r.body);
        assert!(!r.error_fields().is_empty(), "{body} has field details");
    }
    let no_key = st
        .deposit(
            &user.access_token,
            None,
            json!({"amount": 100, "currency": "USD"}),
        )
        .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);

    let anonymous = st
        .send(
            st.http
                .post(format!("{}/wallet/deposit", st.api))
                .header("idempotency-key", "k1")
                .json(&json!({"amount": 100, "currency": "USD"})),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let wallet = st
        .call(Method::GET, "/wallet", Some(&user.access_token), None)
        .await;
    assert_eq!(balance(&wallet.body), 0, "nothing was credited");
}

#[tokio::test]
async fn fifty_concurrent_deposits_keep_the_balance_equal_to_the_ledger() {
    let st = stack().await;
    let (user, _) = st.user_with_wallet().await;
    let keys: Vec<String> = (0..50).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let replies = futures::future::join_all(keys.iter().map(|k| {
        deposit_until_done(
            &st,
            &user.access_token,
            k,
            json!({"amount": 100, "currency": "USD"}),
        )
    }))
    .await;
    assert!(replies.iter().all(|r| r.status == StatusCode::CREATED));
    // Client retries of a few of them with the same keys change nothing.
    for k in keys.iter().take(5) {
        let r = deposit_until_done(
            &st,
            &user.access_token,
            k,
            json!({"amount": 100, "currency": "USD"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let wallet = st
        .call(Method::GET, "/wallet", Some(&user.access_token), None)
        .await;
    assert_eq!(balance(&wallet.body), 5000);
    assert_eq!(ledger_sum(&st, &user.access_token).await, (5000, 50));
}

#[tokio::test]
async fn concurrent_requests_with_one_key_credit_once() {
    let st = stack().await;
    let (user, _) = st.user_with_wallet().await;
    let key = uuid::Uuid::new_v4().to_string();
    let replies = futures::future::join_all((0..10).map(|_| {
        deposit_until_done(
            &st,
            &user.access_token,
            &key,
            json!({"amount": 700, "currency": "USD"}),
        )
    }))
    .await;
    assert!(replies.iter().all(|r| r.status == StatusCode::CREATED));
    let wallet = st
        .call(Method::GET, "/wallet", Some(&user.access_token), None)
        .await;
    assert_eq!(balance(&wallet.body), 700);
}

#[tokio::test]
async fn each_user_sees_only_their_own_wallet() {
    let st = stack().await;
    let (alice, alice_wallet) = st.user_with_wallet().await;
    let (bob, bob_wallet) = st.user_with_wallet().await;
    assert_ne!(alice_wallet["account_id"], bob_wallet["account_id"]);
    let key = uuid::Uuid::new_v4().to_string();
    let r = st
        .deposit(
            &alice.access_token,
            Some(&key),
            json!({"amount": 300, "currency": "USD"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let bob_now = st
        .call(Method::GET, "/wallet", Some(&bob.access_token), None)
        .await;
    assert_eq!(balance(&bob_now.body), 0);
    assert_eq!(ledger_sum(&st, &bob.access_token).await, (0, 0));
    // The same Idempotency-Key used by another user is a different request.
    let bob_same_key = st
        .deposit(
            &bob.access_token,
            Some(&key),
            json!({"amount": 300, "currency": "USD"}),
        )
        .await;
    assert_eq!(bob_same_key.status, StatusCode::CREATED);
    assert!(bob_same_key.header("idempotent-replayed").is_none());
}
