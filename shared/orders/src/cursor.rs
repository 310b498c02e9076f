//! Pagination cursors: the last key of a page (table and index key
//! attributes), base64url-encoded JSON. Opaque to clients; checked on the
//! way back in, because a cursor is user input and must not steer a query
//! outside the caller's own items.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use contracts::UserId;

use crate::keys::{ORDER_PREFIX, ORDER_SK, order_id_of_pk, user_orders_pk};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid pagination cursor")]
pub struct BadCursor;

pub fn encode(key: &BTreeMap<String, String>) -> String {
    // A map of strings always serialises.
    let json = serde_json::to_vec(key).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The key a cursor holds, if it has exactly the attributes `names`.
pub fn decode(cursor: &str, names: &[&str]) -> Result<BTreeMap<String, String>, BadCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let key: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| BadCursor)?;
    if key.len() != names.len() || !names.iter().all(|n| key.contains_key(*n)) {
        return Err(BadCursor);
    }
    Ok(key)
}

/// Attributes of the last key of a page of the by-user index.
pub const USER_ORDERS_KEY: [&str; 4] = ["pk", "sk", "gsi2pk", "gsi2sk"];

/// Where a page of `user`'s orders continues: the cursor's key, accepted
/// only if it is a position among `user`'s own orders.
pub fn user_orders_position(
    cursor: &str,
    user: UserId,
) -> Result<BTreeMap<String, String>, BadCursor> {
    let key = decode(cursor, &USER_ORDERS_KEY)?;
    let order = key
        .get("pk")
        .and_then(|pk| order_id_of_pk(pk))
        .ok_or(BadCursor)?;
    let own = key.get("gsi2pk") == Some(&user_orders_pk(user))
        && key.get("sk").map(String::as_str) == Some(ORDER_SK)
        && key
            .get("gsi2sk")
            .is_some_and(|sk| sk.starts_with(ORDER_PREFIX) && sk.ends_with(&format!("#{order}")));
    if own { Ok(key) } else { Err(BadCursor) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn round_trips() {
        let k = key(&[("pk", "ORDER#1"), ("gsi2pk", "USER#1")]);
        assert_eq!(decode(&encode(&k), &["pk", "gsi2pk"]), Ok(k));
    }

    #[test]
    fn rejects_garbage_and_other_shapes() {
        assert_eq!(decode("!!!", &["pk"]), Err(BadCursor));
        assert_eq!(decode("", &["pk"]), Err(BadCursor));
        let extra = encode(&key(&[("pk", "a"), ("x", "y")]));
        assert_eq!(decode(&extra, &["pk"]), Err(BadCursor));
        let missing = encode(&key(&[("sk", "a")]));
        assert_eq!(decode(&missing, &["pk"]), Err(BadCursor));
        let not_strings = URL_SAFE_NO_PAD.encode(br#"{"pk":1}"#);
        assert_eq!(decode(&not_strings, &["pk"]), Err(BadCursor));
    }

    #[test]
    fn user_positions_must_be_the_users_own() {
        let user = UserId::new();
        let order = contracts::OrderId::new();
        let good = key(&[
            ("pk", &format!("ORDER#{order}")),
            ("sk", "ORDER"),
            ("gsi2pk", &format!("USER#{user}")),
            (
                "gsi2sk",
                &format!("ORDER#2026-11-21T10:00:00.000000Z#{order}"),
            ),
        ]);
        assert_eq!(user_orders_position(&encode(&good), user), Ok(good.clone()));
        assert_eq!(
            user_orders_position(&encode(&good), UserId::new()),
            Err(BadCursor)
        );
        let mut other_order = good.clone();
        other_order.insert("pk".into(), format!("ORDER#{}", contracts::OrderId::new()));
        assert_eq!(
            user_orders_position(&encode(&other_order), user),
            Err(BadCursor)
        );
        let mut cart = good;
        cart.insert("sk".into(), "CART".into());
        assert_eq!(user_orders_position(&encode(&cart), user), Err(BadCursor));
    }
}
