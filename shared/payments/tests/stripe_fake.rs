//! The Stripe provider against a running fake Stripe (localstripe, started by
//! `infra/fake-stripe`). Every test is skipped, saying why, unless
//! `FAKE_STRIPE_URL` names a fake that answers:
//!
//!     infra/fake-stripe        # prints http://127.0.0.1:8420
//!     FAKE_STRIPE_URL=http://127.0.0.1:8420 cargo test -p payments --test stripe_fake
//!
//! localstripe's test PaymentMethods: `pm_card_visa` succeeds,
//! `pm_card_chargeCustomerFail` is declined when charged; it does not know
//! Stripe's `pm_card_chargeDeclined` (404) and ignores `Idempotency-Key`.

use std::time::Duration;

use contracts::events::{PaymentMethod, PaymentSucceeded};
use contracts::{CorrelationId, Currency, EventEnvelope, OrderId, UserId};
use payments::charges::model::{ChargeStatus, FailureReason, OrderCharge};
use payments::charges::provider::{StripeProvider, WalletProvider};
use payments::charges::service::{RefundOutcome, charge_order, refund_order};
use payments::charges::signature;
use payments::charges::store::ChargesStore;
use payments::charges::stripe::StripeClient;
use payments::charges::stripe_api::{
    IntentStatus, PaymentIntentRequest, RefundRequest, StripeApi, StripeError,
};
use payments::charges::webhook::{StripeEventKind, parse_event};
use payments::memory::InMemoryPaymentsStore;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET_KEY: &str = "sk_test_local";

/// The fake's base URL, or `None` (with the reason printed) to skip.
async fn fake_stripe(test: &str) -> Option<String> {
    let Ok(url) = std::env::var("FAKE_STRIPE_URL") else {
        eprintln!(
            "skipped {test}: FAKE_STRIPE_URL is not set (start the fake with infra/fake-stripe)"
        );
        return None;
    };
    let url = url.trim_end_matches('/').to_owned();
    let probe = reqwest::Client::new()
        .get(format!("{url}/v1/payment_intents?limit=1"))
        .bearer_auth(SECRET_KEY)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    match probe {
        Ok(r) if r.status().is_success() => Some(url),
        Ok(r) => {
            eprintln!(
                "skipped {test}: {url} answered {} (not a fake Stripe?)",
                r.status()
            );
            None
        }
        Err(e) => {
            eprintln!("skipped {test}: nothing answers at {url} ({e})");
            None
        }
    }
}

fn client(url: &str) -> StripeClient {
    StripeClient::new(url, SECRET_KEY, Duration::from_secs(5)).expect("client")
}

fn request(payment_method: &str) -> PaymentIntentRequest {
    PaymentIntentRequest {
        amount: 1_999,
        currency: Currency::EUR,
        payment_method: payment_method.into(),
        idempotency_key: format!("test-{}", OrderId::new()),
        metadata: vec![("order_id".into(), OrderId::new().to_string())],
    }
}

fn card_order(payment_method: &str) -> OrderCharge {
    OrderCharge {
        order_id: OrderId::new(),
        user_id: UserId::new(),
        amount: 4_250,
        currency: Currency::USD,
        method: PaymentMethod::Card {
            payment_method: payment_method.into(),
        },
        correlation_id: CorrelationId::new(),
    }
}

#[tokio::test]
async fn a_visa_card_is_charged_and_refunded() {
    let Some(url) = fake_stripe("a_visa_card_is_charged_and_refunded").await else {
        return;
    };
    let stripe = client(&url);

    let intent = stripe
        .create_payment_intent(&request("pm_card_visa"))
        .await
        .expect("charged");
    assert!(intent.id.starts_with("pi_"), "{intent:?}");
    assert_eq!(intent.status, IntentStatus::Succeeded);
    assert_eq!(intent.amount, 1_999);
    assert_eq!(intent.currency, "eur");

    let refund = stripe
        .refund(&RefundRequest {
            payment_intent: intent.id.clone(),
            idempotency_key: format!("refund-{}", intent.id),
            metadata: vec![],
        })
        .await
        .expect("refunded");
    assert!(refund.id.starts_with("re_"), "{refund:?}");
    assert_eq!(refund.status, "succeeded");
}

#[tokio::test]
async fn declines_unknown_cards_and_bad_keys_are_told_apart() {
    let Some(url) = fake_stripe("declines_unknown_cards_and_bad_keys_are_told_apart").await else {
        return;
    };
    let stripe = client(&url);

    let declined = stripe
        .create_payment_intent(&request("pm_card_chargeCustomerFail"))
        .await;
    assert!(
        matches!(&declined, Err(StripeError::Declined { code, .. }) if code == "card_declined"),
        "{declined:?}"
    );

    let unknown = stripe
        .create_payment_intent(&request("pm_card_no_such_thing"))
        .await
        .expect_err("unknown");
    assert!(unknown.is_unknown_payment_method(), "{unknown:?}");

    let refused = stripe
        .refund(&RefundRequest {
            payment_intent: "pi_does_not_exist".into(),
            idempotency_key: "k".into(),
            metadata: vec![],
        })
        .await;
    assert!(
        matches!(refused, Err(StripeError::Rejected { .. })),
        "{refused:?}"
    );

    // localstripe accepts any key shaped like a secret key, and nothing else.
    let bad_key = StripeClient::new(&url, "pk_test_publishable", Duration::from_secs(5))
        .expect("client")
        .create_payment_intent(&request("pm_card_visa"))
        .await;
    assert_eq!(bad_key, Err(StripeError::Unauthorized { status: 401 }));
}

#[tokio::test]
async fn the_card_provider_charges_declines_and_refunds_orders() {
    let Some(url) = fake_stripe("the_card_provider_charges_declines_and_refunds_orders").await
    else {
        return;
    };
    let store = InMemoryPaymentsStore::new();
    let wallet = WalletProvider::new(store.clone());
    let card = StripeProvider::new(store.clone(), client(&url));
    let now = OffsetDateTime::now_utc();

    let paid = card_order("pm_card_visa");
    let recorded = charge_order(&store, &wallet, &card, &paid, now)
        .await
        .expect("charged");
    assert_eq!(recorded.record.status, ChargeStatus::Succeeded);
    let intent = recorded.record.provider_reference.clone().expect("intent");
    assert!(intent.starts_with("pi_"));
    let succeeded: EventEnvelope<PaymentSucceeded> = store.outbox()[0]
        .clone()
        .decode()
        .expect("payment.succeeded");
    assert_eq!(succeeded.data.provider_reference, intent);

    let outcome = refund_order(
        &store,
        &wallet,
        &card,
        paid.order_id,
        paid.user_id,
        &CorrelationId::new(),
        now,
    )
    .await
    .expect("refunded");
    let RefundOutcome::Refunded(refunded) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        refunded
            .record
            .refund_reference
            .as_deref()
            .is_some_and(|r| r.starts_with("re_"))
    );

    let declined = card_order("pm_card_chargeCustomerFail");
    let recorded = charge_order(&store, &wallet, &card, &declined, now)
        .await
        .expect("handled");
    assert_eq!(recorded.record.status, ChargeStatus::Failed);
    assert_eq!(
        recorded.record.failure_reason,
        Some(FailureReason::CardDeclined)
    );
    assert!(
        store
            .charge(declined.order_id)
            .await
            .expect("read")
            .is_some()
    );
    let types: Vec<String> = store.outbox().into_iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        vec!["payment.succeeded", "payment.refunded", "payment.failed"]
    );
}

/// Reads one HTTP request from a connection; returns its headers and body.
async fn read_request(socket: &mut tokio::net::TcpStream) -> (Vec<(String, String)>, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed early");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let headers: Vec<(String, String)> = head
        .split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = socket.read(&mut chunk).await.expect("read");
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    (headers, buf[header_end..].to_vec())
}

/// localstripe signs its webhook deliveries the way Stripe does; our
/// verifier and event reader accept them as they come.
#[tokio::test]
async fn webhook_deliveries_of_the_fake_pass_our_signature_check() {
    let Some(url) = fake_stripe("webhook_deliveries_of_the_fake_pass_our_signature_check").await
    else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!(
        "http://{}/payments/webhooks/stripe",
        listener.local_addr().expect("addr")
    );
    let secret = format!("whsec_it_{}", OrderId::new().as_uuid().simple());
    let config = format!("{url}/_config/webhooks/payments-integration-test");
    let http = reqwest::Client::new();
    http.post(&config)
        .form(&[
            ("url", endpoint.as_str()),
            ("secret", secret.as_str()),
            ("events[]", "payment_intent.succeeded"),
        ])
        .send()
        .await
        .expect("registered")
        .error_for_status()
        .expect("accepted");

    let order = OrderId::new();
    let mut req = request("pm_card_visa");
    req.metadata = vec![("order_id".into(), order.to_string())];
    let intent = client(&url)
        .create_payment_intent(&req)
        .await
        .expect("charged");

    // localstripe delivers about a second later; other tests' intents may
    // be delivered here too, so wait for ours.
    let delivery = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let (headers, body) = read_request(&mut socket).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            let event = parse_event(&body).expect("a Stripe event");
            if let StripeEventKind::PaymentIntentSucceeded(i) = &event.kind
                && i.id == intent.id
            {
                return (headers, body, event);
            }
        }
    })
    .await;
    // Stop deliveries to this test's endpoint: an event filter nothing matches.
    let _ = http
        .post(&config)
        .form(&[
            ("url", endpoint.as_str()),
            ("secret", secret.as_str()),
            ("events[]", "none.disabled"),
        ])
        .send()
        .await;
    let (headers, body, event) = delivery.expect("the fake delivered the webhook");

    let header = headers
        .iter()
        .find(|(k, _)| k == "stripe-signature")
        .map(|(_, v)| v.as_str());
    let now = OffsetDateTime::now_utc();
    signature::verify(&body, header, &secret, now, signature::DEFAULT_TOLERANCE)
        .expect("the fake's signature verifies");
    assert_eq!(
        signature::verify(
            &body,
            header,
            "whsec_wrong",
            now,
            signature::DEFAULT_TOLERANCE
        ),
        Err(signature::SignatureError::Mismatch)
    );
    assert!(event.id.starts_with("evt_"));
    let StripeEventKind::PaymentIntentSucceeded(object) = event.kind else {
        panic!("not a payment_intent.succeeded")
    };
    assert_eq!(object.metadata.get("order_id"), Some(&order.to_string()));
    assert_eq!(object.amount, 1_999);
}
