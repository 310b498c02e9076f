use contracts::envelope::EnvelopeError;
use contracts::{DomainEvent, EventEnvelope, RawEnvelope};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("record has no body")]
    NoBody,
    #[error("body is not an event envelope: {0}")]
    NotAnEnvelope(serde_json::Error),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

/// What a handler receives: a typed envelope, or the raw one for consumers
/// that accept every event type (the analytics archive).
pub trait FromEnvelope: Sized + Send {
    fn from_envelope(raw: RawEnvelope) -> Result<Self, EnvelopeError>;
}

impl<T: DomainEvent + Send> FromEnvelope for EventEnvelope<T> {
    fn from_envelope(raw: RawEnvelope) -> Result<Self, EnvelopeError> {
        raw.decode()
    }
}

/// Any event, payload uninterpreted: for consumers of every event type.
#[derive(Debug, Clone)]
pub struct AnyEvent(pub RawEnvelope);

impl FromEnvelope for AnyEvent {
    fn from_envelope(raw: RawEnvelope) -> Result<Self, EnvelopeError> {
        Ok(AnyEvent(raw))
    }
}

/// The wrapper SNS puts around a message when raw delivery is not enabled.
#[derive(Deserialize)]
struct SnsNotification {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Message")]
    message: String,
}

/// Decodes an SQS body into an envelope, unwrapping an SNS notification when
/// the subscription does not use raw message delivery.
pub fn envelope_from_body(body: Option<&str>) -> Result<RawEnvelope, DecodeError> {
    let body = body.ok_or(DecodeError::NoBody)?;
    match serde_json::from_str::<SnsNotification>(body) {
        Ok(n) if n.kind == "Notification" => {
            serde_json::from_str(&n.message).map_err(DecodeError::NotAnEnvelope)
        }
        _ => serde_json::from_str(body).map_err(DecodeError::NotAnEnvelope),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVELOPE: &str = r#"{"id":"e1","type":"t","version":1,"source":"s","occurred_at":"2026-11-21T10:00:00Z","correlation_id":"c","subject":"x","data":{}}"#;

    #[test]
    fn raw_body_decodes() {
        let env = envelope_from_body(Some(ENVELOPE)).expect("decodes");
        assert_eq!(env.id.as_str(), "e1");
    }

    #[test]
    fn sns_wrapped_body_decodes() {
        let wrapped =
            serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": ENVELOPE});
        let env = envelope_from_body(Some(&wrapped.to_string())).expect("decodes");
        assert_eq!(env.event_type, "t");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(matches!(envelope_from_body(None), Err(DecodeError::NoBody)));
        assert!(matches!(
            envelope_from_body(Some("not json")),
            Err(DecodeError::NotAnEnvelope(_))
        ));
        assert!(matches!(
            envelope_from_body(Some("{\"id\":1}")),
            Err(DecodeError::NotAnEnvelope(_))
        ));
    }
}
