use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A UUID v7 identifier newtype: parsed once at the edge (path parameters,
/// authorizer context, event payloads) so handlers never see a bare string,
/// and time-ordered so DynamoDB keys sort roughly by age.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| InvalidId)
            }
        }
    };
}

uuid_id!(
    /// Identifier of a user account.
    UserId
);
uuid_id!(
    /// Identifier of a catalog product.
    ProductId
);
uuid_id!(
    /// Identifier of an order (also the saga's correlation key).
    OrderId
);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid id (expected a UUID)")]
pub struct InvalidId;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = UserId::new();
        let parsed: UserId = id.to_string().parse().expect("valid id");
        assert_eq!(id, parsed);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!("not-a-uuid".parse::<UserId>(), Err(InvalidId));
        assert_eq!("prd_1".parse::<ProductId>(), Err(InvalidId));
        assert_eq!("".parse::<UserId>(), Err(InvalidId));
    }
}
