//! Pagination cursors: the last key of a page (`pk`, `sk`), base64url-encoded
//! JSON. Opaque to clients; checked on the way back in, because a cursor is
//! user input and must not steer a query outside the caller's own items.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid pagination cursor")]
pub struct BadCursor;

pub fn encode(pk: &str, sk: &str) -> String {
    let plain: BTreeMap<&str, &str> = [("pk", pk), ("sk", sk)].into_iter().collect();
    // A map of strings always serialises.
    let json = serde_json::to_vec(&plain).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The sort key to continue after, if the cursor was issued for `expected_pk`
/// and points into the part of the partition named by `sk_prefix`.
pub fn decode(cursor: &str, expected_pk: &str, sk_prefix: &str) -> Result<String, BadCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let mut plain: BTreeMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| BadCursor)?;
    if plain.len() != 2 {
        return Err(BadCursor);
    }
    let (Some(pk), Some(sk)) = (plain.remove("pk"), plain.remove("sk")) else {
        return Err(BadCursor);
    };
    if pk != expected_pk || !sk.starts_with(sk_prefix) {
        return Err(BadCursor);
    }
    Ok(sk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let c = encode("USER#1", "TXN#2026#txn_a");
        assert_eq!(
            decode(&c, "USER#1", "TXN#"),
            Ok("TXN#2026#txn_a".to_owned())
        );
    }

    #[test]
    fn rejects_tampering_and_foreign_cursors() {
        assert_eq!(decode("!!!", "USER#1", "TXN#"), Err(BadCursor));
        assert_eq!(decode("", "USER#1", "TXN#"), Err(BadCursor));
        let other_user = encode("USER#2", "TXN#2026#txn_a");
        assert_eq!(decode(&other_user, "USER#1", "TXN#"), Err(BadCursor));
        let other_items = encode("USER#1", "ACCOUNT");
        assert_eq!(decode(&other_items, "USER#1", "TXN#"), Err(BadCursor));
        let extra = URL_SAFE_NO_PAD.encode(br#"{"pk":"USER#1","sk":"TXN#a","x":"y"}"#);
        assert_eq!(decode(&extra, "USER#1", "TXN#"), Err(BadCursor));
        let not_strings = URL_SAFE_NO_PAD.encode(br#"{"pk":1,"sk":2}"#);
        assert_eq!(decode(&not_strings, "USER#1", "TXN#"), Err(BadCursor));
    }
}
