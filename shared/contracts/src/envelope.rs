use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Unique id of one event. Consumers use it as their idempotency key, so a
/// redelivered copy of the same event is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    pub fn new() -> Self {
        Self(Uuid::now_v7().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Correlation id carried from the HTTP request that started a flow through
/// every event hop, so one grep over the logs shows the whole story.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CorrelationId(String);

impl CorrelationId {
    pub fn new() -> Self {
        Self(Uuid::new_v4().to_string())
    }

    /// Accepts a caller-supplied id only if it is short and printable, so a
    /// client cannot inject log lines or blow up item sizes.
    pub fn from_header(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for CorrelationId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A typed event payload. The constants are the contract: `TYPE` is what SNS
/// filter policies match on, `VERSION` changes only with breaking changes.
pub trait DomainEvent: Serialize + DeserializeOwned {
    const TYPE: &'static str;
    const VERSION: u32;
    /// The service that owns (and alone publishes) this event type.
    const SOURCE: &'static str;

    /// What the event is about, usually the aggregate id.
    fn subject(&self) -> String;
}

/// The envelope every event travels in, on SNS and SQS alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope<T> {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: u32,
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub correlation_id: CorrelationId,
    pub subject: String,
    pub data: T,
}

/// An envelope whose payload has not been interpreted yet (the relay and
/// the analytics archive handle every type without knowing them).
pub type RawEnvelope = EventEnvelope<serde_json::Value>;

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("event type is {found:?}, expected {expected:?}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error("event version {found} is not supported (expected {expected})")]
    WrongVersion { expected: u32, found: u32 },
    #[error("event data does not match {event_type} v{version}: {source}")]
    BadData {
        event_type: &'static str,
        version: u32,
        #[source]
        source: serde_json::Error,
    },
}

impl<T: DomainEvent> EventEnvelope<T> {
    /// Wraps a payload for publication at `now`.
    pub fn new(data: T, correlation_id: CorrelationId, now: OffsetDateTime) -> Self {
        Self {
            id: EventId::new(),
            event_type: T::TYPE.to_owned(),
            version: T::VERSION,
            source: T::SOURCE.to_owned(),
            occurred_at: now,
            correlation_id,
            subject: data.subject(),
            data,
        }
    }

    pub fn into_raw(self) -> Result<RawEnvelope, serde_json::Error> {
        Ok(EventEnvelope {
            data: serde_json::to_value(&self.data)?,
            id: self.id,
            event_type: self.event_type,
            version: self.version,
            source: self.source,
            occurred_at: self.occurred_at,
            correlation_id: self.correlation_id,
            subject: self.subject,
        })
    }
}

impl RawEnvelope {
    /// Interprets the payload as `T`, checking type and version first so a
    /// misrouted message gives a precise error instead of a confusing one.
    pub fn decode<T: DomainEvent>(self) -> Result<EventEnvelope<T>, EnvelopeError> {
        if self.event_type != T::TYPE {
            return Err(EnvelopeError::WrongType {
                expected: T::TYPE,
                found: self.event_type,
            });
        }
        if self.version != T::VERSION {
            return Err(EnvelopeError::WrongVersion {
                expected: T::VERSION,
                found: self.version,
            });
        }
        let data = serde_json::from_value(self.data).map_err(|source| EnvelopeError::BadData {
            event_type: T::TYPE,
            version: T::VERSION,
            source,
        })?;
        Ok(EventEnvelope {
            data,
            id: self.id,
            event_type: self.event_type,
            version: self.version,
            source: self.source,
            occurred_at: self.occurred_at,
            correlation_id: self.correlation_id,
            subject: self.subject,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::UserRegistered;
    use crate::{Email, PersonName, UserId};

    fn sample() -> EventEnvelope<UserRegistered> {
        let data = UserRegistered {
            user_id: UserId::new(),
            email: Email::parse("a@example.com").expect("valid"),
            name: PersonName::parse("Ada").expect("valid"),
            registered_at: time::macros::datetime!(2026-11-21 10:00 UTC),
        };
        EventEnvelope::new(
            data,
            CorrelationId::new(),
            time::macros::datetime!(2026-11-21 10:00 UTC),
        )
    }

    #[test]
    fn envelope_carries_the_contract_constants() {
        let env = sample();
        assert_eq!(env.event_type, "user.registered");
        assert_eq!(env.version, 1);
        assert_eq!(env.source, "identity");
        assert_eq!(env.subject, env.data.user_id.to_string());
    }

    #[test]
    fn raw_round_trip_decodes_to_the_same_event() {
        let env = sample();
        let text = serde_json::to_string(&env).expect("serialise");
        let raw: RawEnvelope = serde_json::from_str(&text).expect("raw");
        let back = raw.decode::<UserRegistered>().expect("decode");
        assert_eq!(back, env);
    }

    #[test]
    fn decode_rejects_wrong_type_and_version() {
        let mut raw = sample().into_raw().expect("raw");
        raw.event_type = "user.deleted".into();
        assert!(matches!(
            raw.clone().decode::<UserRegistered>(),
            Err(EnvelopeError::WrongType { .. })
        ));
        raw.event_type = "user.registered".into();
        raw.version = 2;
        assert!(matches!(
            raw.decode::<UserRegistered>(),
            Err(EnvelopeError::WrongVersion { .. })
        ));
    }

    #[test]
    fn decode_rejects_bad_data() {
        let mut raw = sample().into_raw().expect("raw");
        raw.data = serde_json::json!({"user_id": "nope"});
        assert!(matches!(
            raw.decode::<UserRegistered>(),
            Err(EnvelopeError::BadData { .. })
        ));
    }

    #[test]
    fn correlation_header_is_sanitised() {
        assert!(CorrelationId::from_header("abc-123_x.y:z").is_some());
        assert!(CorrelationId::from_header("").is_none());
        assert!(CorrelationId::from_header("bad\nline").is_none());
        assert!(CorrelationId::from_header(&"a".repeat(129)).is_none());
    }
}
