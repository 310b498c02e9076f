//! Notifications through the deployed stack: the welcome e-mail and the
//! Discord alert on registration, the deposit e-mail and Discord alert, the
//! delivery history, opt-out, and what happens when Discord misbehaves.
//! Discord is the harness's local receiver (`e2e::discord`), which tests
//! script per message through a token in the user's name or the deposit's
//! description.

use std::time::Duration;

use contracts::events::{UserRegistered, WalletDeposited};
use contracts::{CorrelationId, Currency, Email, EventEnvelope, PersonName, UserId};
use e2e::{Stack, TestUser, attr, eventually, send_to_queue, stack};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
/// A retried message comes back after the queue's visibility timeout (30 s
/// on the local stack), a DLQ'd one after `maxReceiveCount` of them.
const RETRY_WAIT: Duration = Duration::from_secs(120);
const DLQ_WAIT: Duration = Duration::from_secs(180);

fn token() -> String {
    format!("T{}", uuid::Uuid::new_v4().simple())
}

/// The caller's delivery history, newest first (first page of 100).
async fn inbox(st: &Stack, user: &TestUser) -> Vec<Value> {
    let r = st
        .call(
            Method::GET,
            "/notifications/me?limit=100",
            Some(&user.access_token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

/// Waits for the history entry of `template` on `channel`.
async fn delivery(st: &Stack, user: &TestUser, channel: &str, template: &str) -> Value {
    eventually(
        &format!("a {channel} {template} delivery in the history"),
        RETRY_WAIT,
        || async {
            inbox(st, user)
                .await
                .into_iter()
                .find(|d| d["channel"] == channel && d["template"] == template)
        },
    )
    .await
}

async fn deposit(st: &Stack, user: &TestUser, amount: i64, description: &str) {
    let r = st
        .deposit(
            &user.access_token,
            Some(&token()),
            json!({"amount": amount, "currency": "USD", "description": description}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}

/// The deposit confirmations SES sent to the user.
async fn deposit_mails(st: &Stack, user: &TestUser) -> Vec<Value> {
    st.emails_to(&user.email)
        .await
        .into_iter()
        .filter(|m| {
            m["Subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Deposit received"))
        })
        .collect()
}

/// Waits long enough for a redelivery to have happened if one were coming.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(40)).await;
}

#[tokio::test]
async fn a_registration_sends_the_welcome_email_and_a_discord_message() {
    let st = stack().await;
    let name = format!("Ada {}", token());
    let user = st.new_user_named(&name).await;

    let discord = eventually("the registration on Discord", WAIT, || async {
        st.discord.received(&name).into_iter().next()
    })
    .await;
    assert_eq!(discord.content(), format!("New member: {name}"));
    assert_eq!(discord.body["username"], "Serverless Commerce");
    assert!(
        discord.body["allowed_mentions"].is_object(),
        "{:?}",
        discord.body
    );

    let welcome = delivery(&st, &user, "email", "welcome").await;
    assert_eq!(welcome["status"], "sent");
    let alert = delivery(&st, &user, "discord", "registration_discord").await;
    assert_eq!(alert["status"], "sent");
    let mails = st.emails_to(&user.email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["Subject"], format!("Welcome, {name}!"));
}

#[tokio::test]
async fn a_deposit_sends_a_confirmation_email_and_a_discord_message() {
    let st = stack().await;
    let (user, _) = st.user_with_wallet().await;
    let note = token();
    deposit(&st, &user, 12_345, &note).await;

    let discord = eventually("the deposit on Discord", WAIT, || async {
        st.discord.received(&note).into_iter().next()
    })
    .await;
    assert!(
        discord.content().contains("123.45 USD") && discord.content().contains("Test User"),
        "{}",
        discord.content()
    );
    let email = delivery(&st, &user, "email", "deposit_confirmation").await;
    assert_eq!(email["status"], "sent");
    assert_eq!(
        delivery(&st, &user, "discord", "deposit_discord").await["status"],
        "sent"
    );
    let mails = eventually("the deposit mail in SES", WAIT, || async {
        let mails = deposit_mails(&st, &user).await;
        (!mails.is_empty()).then_some(mails)
    })
    .await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["Subject"], "Deposit received: 123.45 USD");
}

#[tokio::test]
async fn discord_failing_once_is_retried_and_delivered_once() {
    let st = stack().await;
    let (user, _) = st.user_with_wallet().await;
    let note = token();
    st.discord.script(&note, &[500], 204);
    deposit(&st, &user, 500, &note).await;

    let sent = delivery(&st, &user, "discord", "deposit_discord").await;
    assert_eq!(sent["status"], "sent");
    settle().await;
    let calls = st.discord.received(&note);
    assert_eq!(
        calls.iter().map(|c| c.answered).collect::<Vec<_>>(),
        [500, 204],
        "one failed call, one retry, nothing after"
    );
    let history: Vec<Value> = inbox(&st, &user)
        .await
        .into_iter()
        .filter(|d| d["template"] == "deposit_discord")
        .collect();
    assert_eq!(history.len(), 1, "{history:?}");
    let attempts = st.attempts(&user.id, "discord").await;
    assert_eq!(
        attempts.len(),
        1,
        "the failed attempt is logged: {attempts:?}"
    );
    assert_eq!(attr(&attempts[0], "status"), "retrying");
    assert!(attr(&attempts[0], "provider_response").contains("500"));
}

#[tokio::test]
async fn discord_refusing_a_message_is_logged_failed_and_not_retried() {
    let st = stack().await;
    let (user, _) = st.user_with_wallet().await;
    let note = token();
    st.discord.script(&note, &[], 400);
    deposit(&st, &user, 700, &note).await;

    let failed = delivery(&st, &user, "discord", "deposit_discord").await;
    assert_eq!(failed["status"], "failed");
    settle().await;
    assert_eq!(st.discord.received(&note).len(), 1, "no retry storm");
    let logged = st.deliveries(&user.id, "discord").await;
    let entry = logged
        .iter()
        .find(|i| attr(i, "template") == "deposit_discord")
        .expect("logged");
    assert!(
        attr(entry, "provider_response").contains("400"),
        "the provider's answer is kept: {entry:?}"
    );
    // The e-mail of the same deposit is unaffected.
    assert_eq!(
        delivery(&st, &user, "email", "deposit_confirmation").await["status"],
        "sent"
    );
}

#[tokio::test]
async fn discord_down_for_good_sends_the_message_to_the_dlq() {
    let st = stack().await;
    let (user, _) = st.user_with_wallet().await;
    let note = token();
    st.discord.script(&note, &[], 500);
    deposit(&st, &user, 900, &note).await;

    eventually("the deposit in the deposit-discord DLQ", DLQ_WAIT, || {
        st.dlq_holds("DepositDiscordDLQUrl", &note)
    })
    .await;
    let calls = st.discord.received(&note);
    assert!(
        !calls.is_empty() && calls.iter().all(|c| c.answered == 500),
        "{calls:?}"
    );
    assert!(
        st.deliveries(&user.id, "discord")
            .await
            .iter()
            .all(|i| attr(i, "template") != "deposit_discord"),
        "a retryable failure is not logged as a delivery outcome"
    );
    let attempts = st.attempts(&user.id, "discord").await;
    assert!(
        !attempts.is_empty() && attempts.iter().all(|a| attr(a, "status") == "retrying"),
        "every attempt is logged: {attempts:?}"
    );
}

#[tokio::test]
async fn opting_out_is_honoured_by_every_consumer() {
    let st = stack().await;
    let (user, _) = st.user_with_wallet().await;
    let r = st
        .call(
            Method::PUT,
            "/notifications/preferences",
            Some(&user.access_token),
            Some(json!({"email": false, "discord": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"email": false, "discord": false, "sms": true, "push": true})
    );

    let note = token();
    deposit(&st, &user, 100, &note).await;
    let email = delivery(&st, &user, "email", "deposit_confirmation").await;
    let alert = delivery(&st, &user, "discord", "deposit_discord").await;
    assert_eq!(email["status"], "skipped");
    assert_eq!(alert["status"], "skipped");
    assert!(st.discord.received(&note).is_empty());
    let mails = deposit_mails(&st, &user).await;
    assert!(mails.is_empty(), "no deposit mail: {mails:?}");

    // Turning a channel back on takes effect for the next event.
    let r = st
        .call(
            Method::PUT,
            "/notifications/preferences",
            Some(&user.access_token),
            Some(json!({"discord": true})),
        )
        .await;
    assert_eq!(r.body["discord"], true);
    assert_eq!(r.body["email"], false);
    let again = token();
    deposit(&st, &user, 200, &again).await;
    eventually("the second deposit on Discord", WAIT, || async {
        st.discord.received(&again).into_iter().next()
    })
    .await;
}

#[tokio::test]
async fn preferences_and_history_reject_bad_input() {
    let st = stack().await;
    let user = st.new_user().await;
    let put = |body: Value| {
        st.call(
            Method::PUT,
            "/notifications/preferences",
            Some(&user.access_token),
            Some(body),
        )
    };
    let r = put(json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_fields(), ["body"]);
    let r = put(json!({"email": "no", "pigeon": false})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["email", "pigeon"]);
    let r = put(json!(["email"])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);

    for path in [
        "/notifications/me?limit=0",
        "/notifications/me?limit=abc",
        "/notifications/me?cursor=not-a-cursor",
    ] {
        let r = st
            .call(Method::GET, path, Some(&user.access_token), None)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {:?}", r.body);
    }
    for (method, path) in [
        (Method::GET, "/notifications/me"),
        (Method::PUT, "/notifications/preferences"),
    ] {
        let r = st
            .call(method, path, None, Some(json!({"email": true})))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn the_history_is_paginated_and_private() {
    let st = stack().await;
    let (user, _) = st.user_with_wallet().await;
    for i in 0..2 {
        deposit(&st, &user, 100 + i, &token()).await;
    }
    // welcome + registration alert + 2 x (deposit e-mail + deposit alert)
    eventually("six deliveries", RETRY_WAIT, || async {
        (inbox(&st, &user).await.len() == 6).then_some(())
    })
    .await;

    let mut seen = Vec::new();
    let mut path = "/notifications/me?limit=4".to_owned();
    loop {
        let page = st
            .call(Method::GET, &path, Some(&user.access_token), None)
            .await;
        assert_eq!(page.status, StatusCode::OK);
        seen.extend(page.body["items"].as_array().cloned().unwrap_or_default());
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/notifications/me?limit=4&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    let times: Vec<&str> = seen
        .iter()
        .map(|d| d["created_at"].as_str().unwrap_or_default())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");

    let other = st.new_user().await;
    let theirs = inbox(&st, &other).await;
    assert!(
        theirs
            .iter()
            .all(|d| d["template"] != "deposit_confirmation"),
        "another user's history holds only their own: {theirs:?}"
    );
}

/// A synthetic user's `user.registered` (named after `note`, for the
/// contacts projection and the registration alert) and a `wallet.deposited`
/// described by `note`: (registered, deposited, user id, e-mail address).
fn synthetic_deposit(note: &str) -> (String, String, String, String) {
    let now = time::OffsetDateTime::now_utc();
    let user_id = UserId::new();
    let email = Email::parse(&format!("syn-{note}@e2e.example.com")).expect("email");
    let registered = EventEnvelope::new(
        UserRegistered {
            user_id,
            email: email.clone(),
            name: PersonName::parse(&format!("Syn {note}")).expect("name"),
            registered_at: now,
        },
        CorrelationId::new(),
        now,
    );
    let deposited = EventEnvelope::new(
        WalletDeposited {
            account_id: format!("acc_{note}"),
            user_id,
            transaction_id: format!("txn_{note}"),
            amount: 4200,
            currency: Currency::USD,
            balance_after: 4200,
            description: note.to_owned(),
            deposited_at: now,
        },
        CorrelationId::new(),
        now,
    );
    (
        serde_json::to_string(&registered).expect("json"),
        serde_json::to_string(&deposited).expect("json"),
        user_id.to_string(),
        email.to_string(),
    )
}

#[tokio::test]
async fn every_notification_consumer_has_one_effect_per_event() {
    let st = stack().await;
    let note = token();
    let (registered, deposited, user_id, recipient) = synthetic_deposit(&note);

    // The contacts projection first: the deposit e-mail needs the address.
    send_to_queue(&st, "NotificationsContactsQueueUrl", &registered).await;
    send_to_queue(&st, "NotificationsContactsQueueUrl", &registered).await;
    for queue in [
        "RegistrationDiscordQueueUrl",
        "RegistrationDiscordQueueUrl",
        "DepositEmailQueueUrl",
        "DepositEmailQueueUrl",
        "DepositDiscordQueueUrl",
        "DepositDiscordQueueUrl",
    ] {
        let body = if queue.starts_with("Registration") {
            &registered
        } else {
            &deposited
        };
        send_to_queue(&st, queue, body).await;
    }

    eventually("three deliveries logged", RETRY_WAIT, || async {
        let email = st.deliveries(&user_id, "email").await.len();
        let discord = st.deliveries(&user_id, "discord").await.len();
        (email == 1 && discord == 2).then_some(())
    })
    .await;
    settle().await;
    assert_eq!(st.deliveries(&user_id, "email").await.len(), 1);
    assert_eq!(st.deliveries(&user_id, "discord").await.len(), 2);
    let alerts: Vec<String> = st
        .discord
        .received(&note)
        .iter()
        .map(|r| r.content().to_owned())
        .collect();
    assert_eq!(
        alerts.len(),
        2,
        "one registration and one deposit alert: {alerts:?}"
    );
    assert!(
        alerts.contains(&format!("New member: Syn {note}")),
        "{alerts:?}"
    );
    assert_eq!(
        st.emails_to(&recipient).await.len(),
        1,
        "one deposit e-mail"
    );
}

#[tokio::test]
async fn poison_ends_in_each_notification_consumers_dlq() {
    let st = stack().await;
    let marker = format!("poison-{}", token());
    let queues = [
        (
            "NotificationsContactsQueueUrl",
            "NotificationsContactsDLQUrl",
        ),
        ("RegistrationDiscordQueueUrl", "RegistrationDiscordDLQUrl"),
        ("DepositEmailQueueUrl", "DepositEmailDLQUrl"),
        ("DepositDiscordQueueUrl", "DepositDiscordDLQUrl"),
    ];
    for (queue, _) in queues {
        send_to_queue(
            &st,
            queue,
            &format!("{{\"not\": \"an event\", \"marker\": \"{marker}\"}}"),
        )
        .await;
    }
    for (_, dlq) in queues {
        eventually(&format!("the poison in {dlq}"), DLQ_WAIT, || {
            st.dlq_holds(dlq, &marker)
        })
        .await;
    }
}
