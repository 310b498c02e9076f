//! The part of the Stripe REST API the card provider uses: create-and-confirm
//! a PaymentIntent, refund it. `stripe::StripeClient` (feature `stripe`)
//! speaks it over HTTP(S); `memory::InMemoryStripe` keeps Stripe's semantics
//! (idempotency keys, declines, double refunds refused) for unit tests.

use std::future::Future;

use contracts::Currency;

/// `POST /v1/payment_intents` with `confirm=true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntentRequest {
    /// Minor units: Stripe's "smallest currency unit" is ours too
    /// (cents, and whole yen for the zero-decimal JPY).
    pub amount: i64,
    pub currency: Currency,
    /// A Stripe PaymentMethod id (`pm_...`).
    pub payment_method: String,
    /// Sent as the `Idempotency-Key` header.
    pub idempotency_key: String,
    /// Sent as `metadata[...]`; the webhook reads the order back from it.
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentStatus {
    Succeeded,
    /// The charge failed; the intent waits for another payment method.
    RequiresPaymentMethod,
    /// The customer must authenticate (3-D Secure).
    RequiresAction,
    /// Not settled yet (asynchronous methods).
    Processing,
    Canceled,
    Other(String),
}

impl IntentStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "succeeded" => IntentStatus::Succeeded,
            "requires_payment_method" => IntentStatus::RequiresPaymentMethod,
            "requires_action" => IntentStatus::RequiresAction,
            "processing" => IntentStatus::Processing,
            "canceled" => IntentStatus::Canceled,
            other => IntentStatus::Other(other.to_owned()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    pub id: String,
    pub status: IntentStatus,
    pub amount: i64,
    /// Lowercase ISO code, as Stripe writes it.
    pub currency: String,
}

/// `POST /v1/refunds` for the whole amount of a PaymentIntent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub payment_intent: String,
    pub idempotency_key: String,
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub status: String,
}

/// How a Stripe request failed, sorted by what the caller should do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    /// The card was declined (HTTP 402, or an error of type `card_error`):
    /// final for this payment method.
    #[error("card declined ({code}): {message}")]
    Declined { code: String, message: String },
    /// Any other 4xx: Stripe will refuse this request every time.
    #[error("Stripe refused the request ({status}, {code:?}): {message}")]
    Rejected {
        status: u16,
        code: Option<String>,
        param: Option<String>,
        message: String,
    },
    /// 401/403: the secret key is wrong or lacks permission. An operator
    /// fixes the key; the messages wait in the queue or its DLQ meanwhile.
    #[error("Stripe rejected the API key ({status})")]
    Unauthorized { status: u16 },
    /// 5xx, 429, 409 (a concurrent request with the same idempotency key),
    /// timeouts, connection failures: try again later with the same key.
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
}

impl StripeError {
    /// Stripe's code for a refund of a charge that is refunded already (for
    /// example from the dashboard, before its webhook reached us).
    pub fn is_already_refunded(&self) -> bool {
        matches!(self, StripeError::Rejected { code: Some(c), .. } if c == "charge_already_refunded")
    }

    /// Stripe's answer for an unknown PaymentMethod id.
    pub fn is_unknown_payment_method(&self) -> bool {
        match self {
            StripeError::Rejected {
                status,
                code,
                param,
                ..
            } => {
                *status == 404
                    || code.as_deref() == Some("resource_missing")
                    || param.as_deref() == Some("payment_method")
            }
            _ => false,
        }
    }
}

/// The Stripe operations behind the card provider.
pub trait StripeApi: Send + Sync {
    fn create_payment_intent(
        &self,
        request: &PaymentIntentRequest,
    ) -> impl Future<Output = Result<PaymentIntent, StripeError>> + Send;

    fn refund(
        &self,
        request: &RefundRequest,
    ) -> impl Future<Output = Result<Refund, StripeError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_and_keep_unknown_ones() {
        assert_eq!(IntentStatus::parse("succeeded"), IntentStatus::Succeeded);
        assert_eq!(
            IntentStatus::parse("requires_payment_method"),
            IntentStatus::RequiresPaymentMethod
        );
        assert_eq!(
            IntentStatus::parse("requires_capture"),
            IntentStatus::Other("requires_capture".into())
        );
    }

    #[test]
    fn refusals_are_recognised() {
        let already = StripeError::Rejected {
            status: 400,
            code: Some("charge_already_refunded".into()),
            param: None,
            message: "Charge ch_1 has already been refunded.".into(),
        };
        assert!(already.is_already_refunded());
        assert!(!already.is_unknown_payment_method());
        let missing = StripeError::Rejected {
            status: 400,
            code: Some("resource_missing".into()),
            param: Some("payment_method".into()),
            message: "No such PaymentMethod: 'pm_nope'".into(),
        };
        assert!(missing.is_unknown_payment_method());
        let not_found = StripeError::Rejected {
            status: 404,
            code: None,
            param: None,
            message: "Not Found".into(),
        };
        assert!(not_found.is_unknown_payment_method());
        assert!(!StripeError::Unavailable("503".into()).is_already_refunded());
    }
}
