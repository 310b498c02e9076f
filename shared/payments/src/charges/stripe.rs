//! [`StripeClient`]: the Stripe REST API over HTTP(S). Requests are
//! form-encoded with the secret key as a Bearer token, pinned to one API
//! version, and carry an `Idempotency-Key`, so Stripe answers a retried
//! request with the result of the first one instead of charging or
//! refunding again.
//!
//! Failures are sorted by what to do next (see [`StripeError`]): a decline
//! (402 or `card_error`) is final for the payment; other 4xx are final for
//! the request; 401/403 mean the key is wrong; 408/409/429/5xx, timeouts and
//! connection failures are worth retrying with the same key.

use std::fmt;
use std::time::Duration;

use anyhow::Context;
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use crate::charges::stripe_api::{
    IntentStatus, PaymentIntent, PaymentIntentRequest, Refund, RefundRequest, StripeApi,
    StripeError,
};

/// The API version responses are shaped by (Stripe otherwise uses the
/// account's default, which changes when someone upgrades it).
pub const STRIPE_VERSION: &str = "2024-06-20";
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The secret key: sent in a header, never printed.
#[derive(Clone)]
struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    /// Without a trailing slash; paths start with `/v1/`.
    base: String,
    key: ApiKey,
}

impl StripeClient {
    /// `api_base` is `https://api.stripe.com`, or a local fake's address.
    pub fn new(api_base: &str, secret_key: &str, timeout: Duration) -> anyhow::Result<Self> {
        let base = Url::parse(api_base.trim())
            .map_err(|e| anyhow::anyhow!("Stripe API base URL is invalid: {e}"))?;
        if !matches!(base.scheme(), "https" | "http") {
            anyhow::bail!("Stripe API base URL must be http(s), not {}", base.scheme());
        }
        let key = secret_key.trim();
        if key.is_empty() {
            anyhow::bail!("the Stripe secret key is empty");
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base.as_str().trim_end_matches('/').to_owned(),
            key: ApiKey(key.to_owned()),
        })
    }

    async fn post(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<Value, StripeError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key.0)
            .header("Idempotency-Key", idempotency_key)
            .header("Stripe-Version", STRIPE_VERSION)
            .form(form)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(transport_error)?;
        if !(200..300).contains(&status) {
            return Err(classify(status, &body));
        }
        serde_json::from_str(&body)
            .map_err(|e| StripeError::Unavailable(format!("unreadable answer from Stripe: {e}")))
    }
}

fn transport_error(e: reqwest::Error) -> StripeError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    StripeError::Unavailable(format!(
        "{kind}: {:#}",
        anyhow::Error::from(e.without_url())
    ))
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorDetail,
}

#[derive(Deserialize, Default)]
struct ErrorDetail {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    param: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Sorts an error answer by what to do next.
pub(crate) fn classify(status: u16, body: &str) -> StripeError {
    let detail = serde_json::from_str::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_default();
    let message = detail
        .message
        .clone()
        .unwrap_or_else(|| body.chars().take(200).collect());
    if status == 402 || detail.kind.as_deref() == Some("card_error") {
        return StripeError::Declined {
            code: detail
                .decline_code
                .or(detail.code)
                .unwrap_or_else(|| "card_declined".into()),
            message,
        };
    }
    match status {
        401 | 403 => StripeError::Unauthorized { status },
        408 | 409 | 429 | 500.. => StripeError::Unavailable(format!("{status}: {message}")),
        _ => StripeError::Rejected {
            status,
            code: detail.code,
            param: detail.param,
            message,
        },
    }
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value, StripeError> {
    value
        .get(name)
        .ok_or_else(|| StripeError::Unavailable(format!("Stripe's answer has no {name}")))
}

fn text(value: &Value, name: &str) -> Result<String, StripeError> {
    field(value, name)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| StripeError::Unavailable(format!("Stripe's answer has a non-text {name}")))
}

fn metadata_fields(metadata: &[(String, String)]) -> impl Iterator<Item = (String, String)> + '_ {
    metadata
        .iter()
        .map(|(k, v)| (format!("metadata[{k}]"), v.clone()))
}

impl StripeApi for StripeClient {
    async fn create_payment_intent(
        &self,
        request: &PaymentIntentRequest,
    ) -> Result<PaymentIntent, StripeError> {
        let mut form = vec![
            ("amount".to_owned(), request.amount.to_string()),
            (
                "currency".to_owned(),
                request.currency.code().to_ascii_lowercase(),
            ),
            ("payment_method".to_owned(), request.payment_method.clone()),
            ("confirm".to_owned(), "true".to_owned()),
            // Cards only: no redirect-based method can come up, so Stripe
            // needs no return_url to confirm server-side.
            ("payment_method_types[0]".to_owned(), "card".to_owned()),
        ];
        form.extend(metadata_fields(&request.metadata));
        let intent = self
            .post("/v1/payment_intents", &form, &request.idempotency_key)
            .await?;
        Ok(PaymentIntent {
            id: text(&intent, "id")?,
            status: IntentStatus::parse(&text(&intent, "status")?),
            amount: field(&intent, "amount")?.as_i64().ok_or_else(|| {
                StripeError::Unavailable("Stripe's amount is not an integer".into())
            })?,
            currency: text(&intent, "currency")?,
        })
    }

    async fn refund(&self, request: &RefundRequest) -> Result<Refund, StripeError> {
        let mut form = vec![("payment_intent".to_owned(), request.payment_intent.clone())];
        form.extend(metadata_fields(&request.metadata));
        let refund = self
            .post("/v1/refunds", &form, &request.idempotency_key)
            .await?;
        Ok(Refund {
            id: text(&refund, "id")?,
            status: text(&refund, "status")?,
        })
    }
}

#[cfg(test)]
mod tests;
