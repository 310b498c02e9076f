use contracts::events::{PaymentFailed, PaymentMethod};
use contracts::{CorrelationId, Currency, OrderId, UserId};
use http_kit::Body;
use payments::charges::model::{ChargeStatus, OrderCharge};
use payments::charges::provider::{StripeProvider, WalletProvider};
use payments::charges::service::charge_order;
use payments::charges::signature::sign;
use payments::memory::{InMemoryPaymentsStore, InMemoryStripe};
use serde_json::json;

use super::*;

const SECRET: &str = "whsec_test_local";

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_300_000).expect("valid")
}

fn hook() -> Webhook<InMemoryPaymentsStore, InMemoryStripe> {
    Webhook::new(
        InMemoryPaymentsStore::new(),
        InMemoryStripe::new(),
        SigningSecret::new(SECRET),
    )
}

fn request(body: &str, signature: Option<&str>) -> Request {
    let mut req = Request::new(Body::from(body.to_owned()));
    req.headers_mut().insert(
        "content-type",
        "application/json; charset=utf-8".parse().expect("header"),
    );
    if let Some(signature) = signature {
        req.headers_mut()
            .insert(SIGNATURE_HEADER, signature.parse().expect("header"));
    }
    req
}

fn signed(body: &str) -> Request {
    request(
        body,
        Some(&sign(body.as_bytes(), SECRET, now().unix_timestamp() - 5)),
    )
}

async fn call(
    hook: &Webhook<InMemoryPaymentsStore, InMemoryStripe>,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    handle(hook, req, HttpContext::new("req", None), now()).await
}

fn body_json(response: &Response<Body>) -> serde_json::Value {
    serde_json::from_slice(response.body().as_ref()).expect("json body")
}

fn order() -> OrderCharge {
    OrderCharge {
        order_id: OrderId::new(),
        user_id: UserId::new(),
        amount: 4_200,
        currency: Currency::EUR,
        method: PaymentMethod::Card {
            payment_method: "pm_card_visa".into(),
        },
        correlation_id: CorrelationId::new(),
    }
}

fn intent_event(event_id: &str, kind: &str, order: &OrderCharge, intent_id: &str) -> String {
    json!({
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": now().unix_timestamp(),
        "data": {"object": {
            "id": intent_id,
            "object": "payment_intent",
            "amount": order.amount,
            "currency": "eur",
            "status": if kind == "payment_intent.succeeded" { "succeeded" } else { "requires_payment_method" },
            "payment_method": "pm_1",
            "metadata": {"order_id": order.order_id.to_string(), "user_id": order.user_id.to_string()},
            "last_payment_error": if kind == "payment_intent.succeeded" { serde_json::Value::Null } else { json!({"code": "card_declined"}) }
        }}
    })
    .to_string()
}

async fn status_of(
    hook: &Webhook<InMemoryPaymentsStore, InMemoryStripe>,
    req: Request,
) -> StatusCode {
    match call(hook, req).await {
        Ok(r) => r.status(),
        Err(e) => e.status(),
    }
}

#[tokio::test]
async fn a_signed_event_is_reconciled_once_per_event_id() {
    let hook = hook();
    let paid = order();
    charge_order(
        &hook.store,
        &WalletProvider::new(hook.store.clone()),
        &StripeProvider::new(hook.store.clone(), hook.stripe.clone()),
        &paid,
        now(),
    )
    .await
    .expect("charged");
    let intent = hook
        .store
        .charge(paid.order_id)
        .await
        .expect("read")
        .expect("recorded")
        .provider_reference
        .expect("intent");
    let body = intent_event("evt_1", "payment_intent.succeeded", &paid, &intent);

    let first = call(&hook, signed(&body)).await.expect("accepted");
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        body_json(&first),
        json!({"received": true, "outcome": "processed"})
    );
    let again = call(&hook, signed(&body)).await.expect("accepted");
    assert_eq!(
        body_json(&again),
        json!({"received": true, "outcome": "duplicate"})
    );
    // The consumer recorded the payment first: nothing new announced.
    assert_eq!(hook.store.outbox().len(), 1);
}

#[tokio::test]
async fn a_failure_reported_first_by_stripe_is_announced_once() {
    let hook = hook();
    let declined = order();
    let body = intent_event("evt_9", "payment_intent.payment_failed", &declined, "pi_9");

    call(&hook, signed(&body)).await.expect("accepted");
    call(&hook, signed(&body)).await.expect("duplicate");

    let outbox = hook.store.outbox();
    assert_eq!(outbox.len(), 1);
    let failed = outbox[0]
        .clone()
        .decode::<PaymentFailed>()
        .expect("payment.failed");
    assert_eq!(failed.data.order_id, declined.order_id);
    assert_eq!(failed.data.reason, "card_declined");
    let record = hook
        .store
        .charge(declined.order_id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(record.status, ChargeStatus::Failed);
}

#[tokio::test]
async fn bad_signatures_are_400_and_change_nothing() {
    let hook = hook();
    let body = intent_event("evt_1", "payment_intent.payment_failed", &order(), "pi_1");
    let t = now().unix_timestamp();
    let good = sign(body.as_bytes(), SECRET, t);

    let cases = [
        ("missing", request(&body, None)),
        ("empty", request(&body, Some(" "))),
        ("garbage", request(&body, Some("nonsense"))),
        (
            "tampered body",
            request(&body.replace("4200", "1"), Some(&good)),
        ),
        (
            "another secret",
            request(&body, Some(&sign(body.as_bytes(), "whsec_other", t))),
        ),
        (
            "expired",
            request(&body, Some(&sign(body.as_bytes(), SECRET, t - 301))),
        ),
        (
            "from the future",
            request(&body, Some(&sign(body.as_bytes(), SECRET, t + 301))),
        ),
        ("no v1", request(&body, Some(&good.replace("v1=", "v0=")))),
    ];
    for (name, req) in cases {
        let err = call(&hook, req).await.expect_err(name);
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{name}");
    }
    assert!(hook.store.outbox().is_empty());
    // Rendered as a problem document that does not echo the secret.
    let response = call(&hook, request(&body, None))
        .await
        .expect_err("missing")
        .into_response("req");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let text = String::from_utf8_lossy(response.body().as_ref()).to_string();
    assert!(text.contains("Stripe-Signature"), "{text}");
    assert!(!text.contains(SECRET));
}

#[tokio::test]
async fn one_matching_v1_among_several_is_enough() {
    let hook = hook();
    let body = intent_event("evt_1", "payment_intent.payment_failed", &order(), "pi_1");
    let t = now().unix_timestamp();
    let good = sign(body.as_bytes(), SECRET, t);
    let old = sign(body.as_bytes(), "whsec_rolled", t);
    let header = format!("{},{}", old, good.split(',').nth(1).expect("v1 part"));
    assert_eq!(
        status_of(&hook, request(&body, Some(&header))).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_types_are_acknowledged_and_garbage_is_refused() {
    let hook = hook();
    let other =
        json!({"id": "evt_2", "type": "customer.created", "data": {"object": {"id": "cus_1"}}})
            .to_string();
    let response = call(&hook, signed(&other)).await.expect("accepted");
    assert_eq!(
        body_json(&response),
        json!({"received": true, "outcome": "ignored"})
    );

    // Signed, but not an event.
    assert_eq!(
        status_of(&hook, signed("{\"hello\": 1}")).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(status_of(&hook, signed("")).await, StatusCode::BAD_REQUEST);
    // Too large to be one.
    let huge = format!(
        "{{\"id\":\"evt_3\",\"pad\":\"{}\"}}",
        "x".repeat(BODY_LIMIT)
    );
    assert_eq!(
        status_of(&hook, signed(&huge)).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(hook.store.outbox().is_empty());
}

#[tokio::test]
async fn a_base64_decoded_body_is_verified_byte_for_byte() {
    let hook = hook();
    let body = json!({"id": "evt_5", "type": "invoice.paid", "data": {"object": {}}}).to_string();
    let mut req = Request::new(Body::Binary(body.clone().into_bytes()));
    req.headers_mut().insert(
        SIGNATURE_HEADER,
        sign(body.as_bytes(), SECRET, now().unix_timestamp())
            .parse()
            .expect("header"),
    );
    assert_eq!(status_of(&hook, req).await, StatusCode::OK);
}
