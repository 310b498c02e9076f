//! The event catalogue. Each payload is a typed definition; the golden files
//! under `fixtures/` pin the wire format and are checked by the tests below, so
//! a change that would break consumers fails here first.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::envelope::DomainEvent;
use crate::{Email, PersonName, UserId};

/// Every event type the system publishes, for subscriptions that want all of
/// them (analytics) and for the documentation test.
pub const ALL_EVENT_TYPES: &[&str] = &[UserRegistered::TYPE];

/// A new account was created (identity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRegistered {
    pub user_id: UserId,
    pub email: Email,
    pub name: PersonName,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
}

impl DomainEvent for UserRegistered {
    const TYPE: &'static str = "user.registered";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "identity";

    fn subject(&self) -> String {
        self.user_id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RawEnvelope;

    fn golden<T: DomainEvent + PartialEq + std::fmt::Debug>(file: &str) {
        let path = format!("{}/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("fixture exists");
        let raw: RawEnvelope = serde_json::from_str(&text).expect("fixture is an envelope");
        let original = raw.data.clone();
        let typed = raw
            .decode::<T>()
            .expect("fixture matches the typed definition");
        assert_eq!(typed.event_type, T::TYPE);
        let reencoded = serde_json::to_value(&typed.data).expect("serialise");
        assert_eq!(reencoded, original, "wire format drifted for {file}");
    }

    #[test]
    fn user_registered_matches_golden_file() {
        golden::<UserRegistered>("user.registered.v1.json");
    }

    #[test]
    fn every_catalogued_type_has_a_fixture() {
        for event_type in ALL_EVENT_TYPES {
            let path = format!(
                "{}/fixtures/{event_type}.v1.json",
                env!("CARGO_MANIFEST_DIR")
            );
            assert!(std::path::Path::new(&path).exists(), "missing {path}");
        }
    }
}
