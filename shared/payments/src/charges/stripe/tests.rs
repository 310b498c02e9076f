use std::time::Duration;

use contracts::Currency;
use serde_json::json;

use super::*;
use crate::charges::test_server::{Reply, ScriptedServer};

fn client(server: &ScriptedServer) -> StripeClient {
    StripeClient::new(&server.url, "sk_test_123", Duration::from_secs(2)).expect("client")
}

fn intent_request() -> PaymentIntentRequest {
    PaymentIntentRequest {
        amount: 1250,
        currency: Currency::EUR,
        payment_method: "pm_card_visa".into(),
        idempotency_key: "order-1-charge".into(),
        metadata: vec![
            ("order_id".into(), "o-1".into()),
            ("user_id".into(), "u 1&2".into()),
        ],
    }
}

fn intent(status: &str) -> serde_json::Value {
    json!({
        "id": "pi_123", "object": "payment_intent", "amount": 1250, "currency": "eur",
        "status": status, "latest_charge": "ch_1", "metadata": {"order_id": "o-1"}
    })
}

#[tokio::test]
async fn creates_and_confirms_a_payment_intent_with_a_form_and_an_idempotency_key() {
    let server = ScriptedServer::start(vec![Reply::json(200, intent("succeeded"))]).await;

    let answer = client(&server)
        .create_payment_intent(&intent_request())
        .await
        .expect("created");

    assert_eq!(
        answer,
        PaymentIntent {
            id: "pi_123".into(),
            status: IntentStatus::Succeeded,
            amount: 1250,
            currency: "eur".into(),
        }
    );
    let received = server.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/payment_intents");
    assert_eq!(request.header("authorization"), Some("Bearer sk_test_123"));
    assert_eq!(request.header("idempotency-key"), Some("order-1-charge"));
    assert_eq!(request.header("stripe-version"), Some(STRIPE_VERSION));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.form(),
        vec![
            ("amount".to_owned(), "1250".to_owned()),
            ("currency".to_owned(), "eur".to_owned()),
            ("payment_method".to_owned(), "pm_card_visa".to_owned()),
            ("confirm".to_owned(), "true".to_owned()),
            ("payment_method_types[0]".to_owned(), "card".to_owned()),
            ("metadata[order_id]".to_owned(), "o-1".to_owned()),
            ("metadata[user_id]".to_owned(), "u 1&2".to_owned()),
        ]
    );
}

#[tokio::test]
async fn other_intent_statuses_are_reported_as_they_are() {
    let server = ScriptedServer::start(vec![
        Reply::json(200, intent("requires_action")),
        Reply::json(200, intent("processing")),
    ])
    .await;
    let c = client(&server);
    assert_eq!(
        c.create_payment_intent(&intent_request())
            .await
            .expect("ok")
            .status,
        IntentStatus::RequiresAction
    );
    assert_eq!(
        c.create_payment_intent(&intent_request())
            .await
            .expect("ok")
            .status,
        IntentStatus::Processing
    );
}

#[tokio::test]
async fn declines_are_final_whatever_the_error_type_says() {
    let server = ScriptedServer::start(vec![
        // Stripe's shape.
        Reply::json(
            402,
            json!({"error": {"type": "card_error", "code": "card_declined",
                   "decline_code": "insufficient_funds", "message": "Your card has insufficient funds.",
                   "payment_intent": {"id": "pi_9", "status": "requires_payment_method"}}}),
        ),
        // localstripe's shape: every error has type invalid_request_error.
        Reply::json(
            402,
            json!({"error": {"type": "invalid_request_error", "code": "card_declined",
                   "charge": "ch_1", "message": "Your card was declined."}}),
        ),
        // A card error with another status is still a decline.
        Reply::json(
            400,
            json!({"error": {"type": "card_error", "code": "expired_card", "message": "expired"}}),
        ),
    ])
    .await;
    let c = client(&server);
    assert_eq!(
        c.create_payment_intent(&intent_request()).await,
        Err(StripeError::Declined {
            code: "insufficient_funds".into(),
            message: "Your card has insufficient funds.".into()
        })
    );
    assert_eq!(
        c.create_payment_intent(&intent_request()).await,
        Err(StripeError::Declined {
            code: "card_declined".into(),
            message: "Your card was declined.".into()
        })
    );
    assert!(matches!(
        c.create_payment_intent(&intent_request()).await,
        Err(StripeError::Declined { code, .. }) if code == "expired_card"
    ));
}

#[tokio::test]
async fn server_trouble_is_retryable_and_bad_requests_are_not() {
    let server = ScriptedServer::start(vec![
        Reply::raw(500, "oops"),
        Reply::raw(503, "<html>unavailable</html>"),
        Reply::json(429, json!({"error": {"type": "rate_limit_error", "message": "slow down"}})),
        Reply::json(
            409,
            json!({"error": {"type": "idempotency_error", "message": "in progress"}}),
        ),
        Reply::json(
            401,
            json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_***123"}}),
        ),
        Reply::json(
            400,
            json!({"error": {"type": "invalid_request_error", "code": "resource_missing",
                   "param": "payment_method", "message": "No such PaymentMethod: 'pm_nope'"}}),
        ),
        Reply::json(404, json!({"error": {"type": "invalid_request_error", "message": "Not Found"}})),
        Reply::json(
            400,
            json!({"error": {"type": "invalid_request_error", "code": "amount_too_small", "param": "amount", "message": "too small"}}),
        ),
    ])
    .await;
    let c = client(&server);
    let mut results = Vec::new();
    for _ in 0..8 {
        results.push(c.create_payment_intent(&intent_request()).await);
    }
    for r in &results[..4] {
        assert!(matches!(r, Err(StripeError::Unavailable(_))), "{r:?}");
    }
    assert_eq!(results[4], Err(StripeError::Unauthorized { status: 401 }));
    let unknown = results[5].clone().expect_err("refused");
    assert!(unknown.is_unknown_payment_method(), "{unknown:?}");
    assert!(
        results[6]
            .clone()
            .expect_err("refused")
            .is_unknown_payment_method()
    );
    assert_eq!(
        results[7],
        Err(StripeError::Rejected {
            status: 400,
            code: Some("amount_too_small".into()),
            param: Some("amount".into()),
            message: "too small".into(),
        })
    );
    // The key never appears in what the client reports.
    assert!(!format!("{results:?} {c:?}").contains("sk_test_123"));
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_retryable() {
    let slow = ScriptedServer::start(vec![
        Reply::json(200, intent("succeeded")).after(Duration::from_millis(800)),
    ])
    .await;
    let c =
        StripeClient::new(&slow.url, "sk_test_123", Duration::from_millis(200)).expect("client");
    let result = c.create_payment_intent(&intent_request()).await;
    assert!(
        matches!(&result, Err(StripeError::Unavailable(m)) if m.contains("timed out")),
        "{result:?}"
    );

    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let c = StripeClient::new(
        &format!("http://127.0.0.1:{port}/"),
        "sk_test_123",
        Duration::from_secs(1),
    )
    .expect("client");
    let result = c.create_payment_intent(&intent_request()).await;
    assert!(
        matches!(&result, Err(StripeError::Unavailable(m)) if m.contains("connect")),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_unreadable_success_is_retried_not_trusted() {
    let server = ScriptedServer::start(vec![
        Reply::raw(200, "not json"),
        Reply::json(200, json!({"id": "pi_1", "status": "succeeded"})),
    ])
    .await;
    let c = client(&server);
    for _ in 0..2 {
        let result = c.create_payment_intent(&intent_request()).await;
        assert!(
            matches!(result, Err(StripeError::Unavailable(_))),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn refunds_a_payment_intent_with_its_own_key() {
    let server = ScriptedServer::start(vec![
        Reply::json(
            200,
            json!({"id": "re_1", "object": "refund", "payment_intent": "pi_123", "status": "succeeded", "amount": 1250}),
        ),
        Reply::json(
            400,
            json!({"error": {"type": "invalid_request_error", "code": "charge_already_refunded",
                   "message": "Charge ch_1 has already been refunded."}}),
        ),
    ])
    .await;
    let c = client(&server);
    let request = RefundRequest {
        payment_intent: "pi_123".into(),
        idempotency_key: "order-1-refund".into(),
        metadata: vec![("order_id".into(), "o-1".into())],
    };
    assert_eq!(
        c.refund(&request).await,
        Ok(Refund {
            id: "re_1".into(),
            status: "succeeded".into()
        })
    );
    assert!(
        c.refund(&request)
            .await
            .expect_err("refused")
            .is_already_refunded()
    );
    let received = server.received();
    assert_eq!(received[0].path, "/v1/refunds");
    assert_eq!(
        received[0].header("idempotency-key"),
        Some("order-1-refund")
    );
    assert_eq!(
        received[0].form(),
        vec![
            ("payment_intent".to_owned(), "pi_123".to_owned()),
            ("metadata[order_id]".to_owned(), "o-1".to_owned()),
        ]
    );
}

#[test]
fn configuration_mistakes_are_caught_at_start() {
    assert!(StripeClient::new("not a url", "sk_test_1", DEFAULT_TIMEOUT).is_err());
    assert!(StripeClient::new("ftp://example.com", "sk_test_1", DEFAULT_TIMEOUT).is_err());
    assert!(StripeClient::new(DEFAULT_API_BASE, " ", DEFAULT_TIMEOUT).is_err());
    let c = StripeClient::new("http://127.0.0.1:8420/", "sk_test_1", DEFAULT_TIMEOUT).expect("ok");
    assert_eq!(c.base, "http://127.0.0.1:8420");
}
