//! `POST /payments/webhooks/stripe` (public: Stripe authenticates with the
//! `Stripe-Signature` header, not a token).
//!
//! The signature is checked over the raw body, byte for byte, before
//! anything else is read; a bad, stale or missing one is a 400. A verified
//! event is reconciled with the charge records once per event id, and
//! answered 200 whether it changed anything or not (types we do not act on
//! included), so Stripe stops redelivering it. Storage trouble is a 500:
//! Stripe retries, and the reconciliation is idempotent.

use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json};
use payments::charges::service::{WebhookOutcome, handle_stripe_event};
use payments::charges::signature::SigningSecret;
use payments::charges::signature::{self, DEFAULT_TOLERANCE};
use payments::charges::store::ChargesStore;
use payments::charges::stripe_api::StripeApi;
use payments::charges::webhook::parse_event;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

pub const SIGNATURE_HEADER: &str = "stripe-signature";
/// Stripe's events are a few KiB; their objects grow with expansions, not
/// beyond this.
pub const BODY_LIMIT: usize = 256 * 1024;

pub struct Webhook<S, A> {
    pub store: S,
    /// For refunding a payment that Stripe reports for a cancelled order.
    pub stripe: A,
    /// The endpoint's signing secret (`whsec_...`).
    pub signing_secret: SigningSecret,
    pub tolerance: Duration,
}

impl<S, A> Webhook<S, A> {
    pub fn new(store: S, stripe: A, signing_secret: SigningSecret) -> Self {
        Self {
            store,
            stripe,
            signing_secret,
            tolerance: DEFAULT_TOLERANCE,
        }
    }
}

#[derive(Serialize)]
struct Acknowledgement {
    received: bool,
    outcome: &'static str,
}

pub async fn handle<S: ChargesStore, A: StripeApi>(
    hook: &Webhook<S, A>,
    req: Request,
    _ctx: HttpContext,
    now: OffsetDateTime,
) -> Result<Response<Body>, ApiError> {
    let payload: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if payload.len() > BODY_LIMIT {
        return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
    }
    let header = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    signature::verify(
        payload,
        header,
        hook.signing_secret.expose(),
        now,
        hook.tolerance,
    )
    .map_err(|e| ApiError::BadRequest(format!("Invalid Stripe-Signature: {e}.")))?;
    let event = parse_event(payload).map_err(|e| ApiError::BadRequest(format!("{e}.")))?;
    let outcome = handle_stripe_event(&hook.store, &hook.stripe, &event, now)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let outcome = match outcome {
        WebhookOutcome::Processed => "processed",
        WebhookOutcome::Duplicate => "duplicate",
        WebhookOutcome::Ignored => "ignored",
    };
    json(
        StatusCode::OK,
        &Acknowledgement {
            received: true,
            outcome,
        },
    )
}

#[cfg(test)]
mod tests;
