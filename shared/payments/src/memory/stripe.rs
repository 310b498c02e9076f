//! An in-memory Stripe with the behaviour the card provider relies on:
//! idempotency keys replay the first answer (declines included, as Stripe
//! does; server errors are not saved), Stripe's test PaymentMethods succeed
//! or decline, and a PaymentIntent refunds once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::charges::stripe_api::{
    IntentStatus, PaymentIntent, PaymentIntentRequest, Refund, RefundRequest, StripeApi,
    StripeError,
};

#[derive(Default)]
struct StripeState {
    intent_answers: HashMap<String, Result<PaymentIntent, StripeError>>,
    refund_answers: HashMap<String, Result<Refund, StripeError>>,
    /// Intent id -> (succeeded, refunded).
    intents: HashMap<String, (bool, bool)>,
    metadata: HashMap<String, Vec<(String, String)>>,
    created: usize,
    refunds: usize,
    requests: usize,
    unavailable: u32,
}

/// Clones share one account.
#[derive(Clone, Default)]
pub struct InMemoryStripe {
    state: Arc<Mutex<StripeState>>,
}

impl InMemoryStripe {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, StripeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next `n` requests fail as if Stripe were down (503).
    pub fn fail_next(&self, n: u32) {
        self.state().unavailable = n;
    }

    /// PaymentIntents created (declined ones included), not counting replays.
    pub fn intents_created(&self) -> usize {
        self.state().created
    }

    /// Refunds made, not counting replays.
    pub fn refunds_made(&self) -> usize {
        self.state().refunds
    }

    /// Requests received, replays and failures included.
    pub fn requests(&self) -> usize {
        self.state().requests
    }

    /// The metadata an intent was created with.
    pub fn metadata(&self, intent_id: &str) -> Vec<(String, String)> {
        self.state()
            .metadata
            .get(intent_id)
            .cloned()
            .unwrap_or_default()
    }
}

fn declined() -> StripeError {
    StripeError::Declined {
        code: "card_declined".into(),
        message: "Your card was declined.".into(),
    }
}

fn missing(param: &str, message: String) -> StripeError {
    StripeError::Rejected {
        status: 400,
        code: Some("resource_missing".into()),
        param: Some(param.into()),
        message,
    }
}

impl StripeApi for InMemoryStripe {
    async fn create_payment_intent(
        &self,
        request: &PaymentIntentRequest,
    ) -> Result<PaymentIntent, StripeError> {
        tokio::task::yield_now().await;
        let mut s = self.state();
        s.requests += 1;
        if s.unavailable > 0 {
            s.unavailable -= 1;
            return Err(StripeError::Unavailable("503: Stripe is down".into()));
        }
        if let Some(answer) = s.intent_answers.get(&request.idempotency_key) {
            return answer.clone();
        }
        let status = match request.payment_method.as_str() {
            "pm_card_visa" | "pm_card_mastercard" | "pm_card_amex" => Some(IntentStatus::Succeeded),
            "pm_card_chargeDeclined"
            | "pm_card_visa_chargeDeclined"
            | "pm_card_chargeCustomerFail" => None,
            "pm_card_authenticationRequired" => Some(IntentStatus::RequiresAction),
            other => {
                let answer = Err(missing(
                    "payment_method",
                    format!("No such PaymentMethod: '{other}'"),
                ));
                s.intent_answers
                    .insert(request.idempotency_key.clone(), answer.clone());
                return answer;
            }
        };
        s.created += 1;
        let id = format!("pi_mem{}", s.created);
        s.intents
            .insert(id.clone(), (status == Some(IntentStatus::Succeeded), false));
        s.metadata.insert(id.clone(), request.metadata.clone());
        let answer = match status {
            Some(status) => Ok(PaymentIntent {
                id,
                status,
                amount: request.amount,
                currency: request.currency.code().to_ascii_lowercase(),
            }),
            None => Err(declined()),
        };
        s.intent_answers
            .insert(request.idempotency_key.clone(), answer.clone());
        answer
    }

    async fn refund(&self, request: &RefundRequest) -> Result<Refund, StripeError> {
        tokio::task::yield_now().await;
        let mut s = self.state();
        s.requests += 1;
        if s.unavailable > 0 {
            s.unavailable -= 1;
            return Err(StripeError::Unavailable("503: Stripe is down".into()));
        }
        if let Some(answer) = s.refund_answers.get(&request.idempotency_key) {
            return answer.clone();
        }
        let answer = match s.intents.get(&request.payment_intent).copied() {
            None => Err(missing(
                "payment_intent",
                format!("No such payment_intent: '{}'", request.payment_intent),
            )),
            Some((false, _)) => Err(StripeError::Rejected {
                status: 400,
                code: None,
                param: None,
                message: "Cannot refund a failed payment.".into(),
            }),
            Some((true, true)) => Err(StripeError::Rejected {
                status: 400,
                code: Some("charge_already_refunded".into()),
                param: None,
                message: "Charge has already been refunded.".into(),
            }),
            Some((true, false)) => {
                s.intents
                    .insert(request.payment_intent.clone(), (true, true));
                s.refunds += 1;
                Ok(Refund {
                    id: format!("re_mem{}", s.refunds),
                    status: "succeeded".into(),
                })
            }
        };
        s.refund_answers
            .insert(request.idempotency_key.clone(), answer.clone());
        answer
    }
}
