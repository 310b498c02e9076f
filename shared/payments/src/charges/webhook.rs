//! Stripe webhook events, read after their signature was verified. Only the
//! fields we act on are read; Stripe adds fields over time and sends objects
//! in the shape of the endpoint's API version, so everything else is
//! ignored rather than rejected.

use std::collections::HashMap;

use contracts::events::PaymentMethod;
use contracts::{CorrelationId, Currency};
use serde::Deserialize;
use serde_json::Value;

use crate::charges::model::OrderCharge;

#[derive(Debug, Clone, PartialEq)]
pub struct StripeEvent {
    /// `evt_...`: the unit of webhook idempotency.
    pub id: String,
    pub event_type: String,
    pub kind: StripeEventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StripeEventKind {
    PaymentIntentSucceeded(IntentObject),
    PaymentIntentFailed(IntentObject),
    ChargeRefunded(ChargeObject),
    /// Any other type: acknowledged and ignored.
    Other,
}

/// The PaymentIntent of a `payment_intent.*` event.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentObject {
    pub id: String,
    pub amount: i64,
    /// Lowercase, as Stripe writes it.
    pub currency: String,
    pub payment_method: Option<String>,
    pub metadata: HashMap<String, String>,
    /// `last_payment_error.code` of a failed intent.
    pub failure_code: Option<String>,
}

impl IntentObject {
    /// The order this intent pays, from the metadata the card provider put
    /// on it. `None` for intents that are not ours (or not readable).
    pub fn order(&self) -> Option<OrderCharge> {
        let order_id = self.metadata.get("order_id")?.parse().ok()?;
        let user_id = self.metadata.get("user_id")?.parse().ok()?;
        let currency: Currency = self.currency.to_ascii_uppercase().parse().ok()?;
        let correlation_id = self
            .metadata
            .get("correlation_id")
            .and_then(|raw| CorrelationId::from_header(raw))
            .unwrap_or_default();
        Some(OrderCharge {
            order_id,
            user_id,
            amount: self.amount,
            currency,
            method: PaymentMethod::Card {
                payment_method: self.payment_method.clone().unwrap_or_default(),
            },
            correlation_id,
        })
    }
}

/// The Charge of a `charge.refunded` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeObject {
    pub id: String,
    pub payment_intent: Option<String>,
    /// Refunded in full.
    pub refunded: bool,
    /// The newest refund's id, when the charge lists its refunds.
    pub latest_refund: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("not a Stripe event we can read: {0}")]
pub struct MalformedEvent(String);

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: Value,
}

#[derive(Deserialize)]
struct RawIntent {
    id: String,
    amount: i64,
    currency: String,
    #[serde(default)]
    payment_method: Option<Value>,
    #[serde(default)]
    metadata: HashMap<String, Value>,
    #[serde(default)]
    last_payment_error: Option<RawError>,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
struct RawCharge {
    id: String,
    #[serde(default)]
    payment_intent: Option<Value>,
    #[serde(default)]
    refunded: bool,
    #[serde(default)]
    refunds: Option<RawList>,
}

#[derive(Deserialize)]
struct RawList {
    #[serde(default)]
    data: Vec<RawId>,
}

#[derive(Deserialize)]
struct RawId {
    id: String,
}

/// An id field that may be expanded into the object it names.
fn id_of(value: Option<Value>) -> Option<String> {
    match value? {
        Value::String(id) => Some(id),
        Value::Object(map) => map.get("id")?.as_str().map(str::to_owned),
        _ => None,
    }
}

fn object<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, MalformedEvent> {
    serde_json::from_value(value).map_err(|e| MalformedEvent(format!("{what}: {e}")))
}

pub fn parse_event(payload: &[u8]) -> Result<StripeEvent, MalformedEvent> {
    let raw: RawEvent =
        serde_json::from_slice(payload).map_err(|e| MalformedEvent(e.to_string()))?;
    let kind = match raw.event_type.as_str() {
        "payment_intent.succeeded" | "payment_intent.payment_failed" => {
            let intent: RawIntent = object(raw.data.object, "payment intent")?;
            let object = IntentObject {
                id: intent.id,
                amount: intent.amount,
                currency: intent.currency,
                payment_method: id_of(intent.payment_method),
                metadata: intent
                    .metadata
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
                    .collect(),
                failure_code: intent.last_payment_error.and_then(|e| e.code),
            };
            if raw.event_type == "payment_intent.succeeded" {
                StripeEventKind::PaymentIntentSucceeded(object)
            } else {
                StripeEventKind::PaymentIntentFailed(object)
            }
        }
        "charge.refunded" => {
            let charge: RawCharge = object(raw.data.object, "charge")?;
            StripeEventKind::ChargeRefunded(ChargeObject {
                id: charge.id,
                payment_intent: id_of(charge.payment_intent),
                refunded: charge.refunded,
                latest_refund: charge
                    .refunds
                    .and_then(|list| list.data.into_iter().next())
                    .map(|r| r.id),
            })
        }
        _ => StripeEventKind::Other,
    };
    Ok(StripeEvent {
        id: raw.id,
        event_type: raw.event_type,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{OrderId, UserId};
    use serde_json::json;

    fn intent_event(kind: &str, metadata: Value) -> Vec<u8> {
        json!({
            "id": "evt_1",
            "object": "event",
            "type": kind,
            "api_version": "2017-08-15",
            "data": {"object": {
                "id": "pi_1",
                "object": "payment_intent",
                "amount": 1250,
                "currency": "eur",
                "status": "succeeded",
                "payment_method": "pm_x",
                "metadata": metadata,
                "last_payment_error": {"code": "card_declined", "message": "declined"},
                "latest_charge": {"id": "ch_1", "object": "charge"}
            }}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn payment_intent_events_lead_back_to_the_order() {
        let order = OrderId::new();
        let user = UserId::new();
        let payload = intent_event(
            "payment_intent.succeeded",
            json!({"order_id": order.to_string(), "user_id": user.to_string(), "correlation_id": "corr-1"}),
        );
        let event = parse_event(&payload).expect("parses");
        assert_eq!(event.id, "evt_1");
        assert_eq!(event.event_type, "payment_intent.succeeded");
        let StripeEventKind::PaymentIntentSucceeded(intent) = &event.kind else {
            panic!("{:?}", event.kind)
        };
        let charge = intent.order().expect("ours");
        assert_eq!(charge.order_id, order);
        assert_eq!(charge.user_id, user);
        assert_eq!(charge.amount, 1250);
        assert_eq!(charge.currency, Currency::EUR);
        assert_eq!(charge.correlation_id.as_str(), "corr-1");
        assert_eq!(
            charge.method,
            PaymentMethod::Card {
                payment_method: "pm_x".into()
            }
        );

        let failed = parse_event(&intent_event(
            "payment_intent.payment_failed",
            json!({"order_id": order.to_string(), "user_id": user.to_string()}),
        ))
        .expect("parses");
        let StripeEventKind::PaymentIntentFailed(intent) = failed.kind else {
            panic!("not a failure")
        };
        assert_eq!(intent.failure_code.as_deref(), Some("card_declined"));
    }

    #[test]
    fn intents_without_our_metadata_are_not_orders() {
        for metadata in [
            json!({}),
            json!({"order_id": "nope", "user_id": UserId::new().to_string()}),
            json!({"order_id": OrderId::new().to_string()}),
        ] {
            let event =
                parse_event(&intent_event("payment_intent.succeeded", metadata)).expect("parses");
            let StripeEventKind::PaymentIntentSucceeded(intent) = event.kind else {
                panic!("kind")
            };
            assert!(intent.order().is_none());
        }
    }

    #[test]
    fn refunded_charges_name_their_intent_and_refund() {
        let payload = json!({
            "id": "evt_2", "type": "charge.refunded",
            "data": {"object": {
                "id": "ch_1", "object": "charge", "payment_intent": "pi_1",
                "refunded": true, "amount_refunded": 1250,
                "refunds": {"object": "list", "data": [{"id": "re_2"}, {"id": "re_1"}]}
            }}
        });
        let event = parse_event(payload.to_string().as_bytes()).expect("parses");
        assert_eq!(
            event.kind,
            StripeEventKind::ChargeRefunded(ChargeObject {
                id: "ch_1".into(),
                payment_intent: Some("pi_1".into()),
                refunded: true,
                latest_refund: Some("re_2".into()),
            })
        );
    }

    #[test]
    fn other_types_are_kept_as_other_and_garbage_is_refused() {
        let event = parse_event(
            br#"{"id":"evt_3","type":"customer.created","data":{"object":{"id":"cus_1"}}}"#,
        )
        .expect("parses");
        assert_eq!(event.kind, StripeEventKind::Other);
        assert!(parse_event(b"not json").is_err());
        assert!(parse_event(br#"{"id":"evt_4","type":"payment_intent.succeeded","data":{"object":{"id":"pi"}}}"#).is_err());
        assert!(parse_event(br#"{"type":"charge.refunded"}"#).is_err());
    }
}
