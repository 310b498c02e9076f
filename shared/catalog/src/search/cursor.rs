//! Search cursors: where the next page starts, bound to the partition and
//! sort they were issued for. base64url JSON, opaque to clients and checked
//! on the way back in like any other input.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use contracts::ProductId;
use serde::{Deserialize, Serialize};

use crate::search::model::RowKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid pagination cursor")]
pub struct BadCursor;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// Continue a partition read after this row.
    After(RowKey),
    /// Skip this many ranked results (relevance order).
    Offset(u32),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plain {
    p: String,
    o: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    off: Option<u32>,
}

pub fn encode(partition: &str, sort: &str, position: &Position) -> String {
    let plain = match position {
        Position::After(key) => Plain {
            p: partition.to_owned(),
            o: sort.to_owned(),
            id: Some(key.product_id.to_string()),
            k: key.price_key.clone(),
            off: None,
        },
        Position::Offset(n) => Plain {
            p: partition.to_owned(),
            o: sort.to_owned(),
            id: None,
            k: None,
            off: Some(*n),
        },
    };
    // A struct of strings and numbers always serialises.
    let json = serde_json::to_vec(&plain).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The position in `cursor`, if it was issued for `partition` and `sort`
/// and is well formed (a price key must be `<12 digits>#<its product id>`).
pub fn decode(
    cursor: &str,
    partition: &str,
    sort: &str,
    price_order: bool,
) -> Result<Position, BadCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let plain: Plain = serde_json::from_slice(&bytes).map_err(|_| BadCursor)?;
    if plain.p != partition || plain.o != sort {
        return Err(BadCursor);
    }
    match (plain.id, plain.k, plain.off) {
        (None, None, Some(off)) => Ok(Position::Offset(off)),
        (Some(id), k, None) => {
            let product_id: ProductId = id.parse().map_err(|_| BadCursor)?;
            let price_key = match (k, price_order) {
                (None, false) => None,
                (Some(k), true) => {
                    let (digits, rest) = k.split_once('#').ok_or(BadCursor)?;
                    if digits.len() != 12
                        || !digits.bytes().all(|b| b.is_ascii_digit())
                        || rest != id
                    {
                        return Err(BadCursor);
                    }
                    Some(k)
                }
                _ => return Err(BadCursor),
            };
            Ok(Position::After(RowKey {
                product_id,
                price_key,
            }))
        }
        _ => Err(BadCursor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::model::price_key;

    #[test]
    fn round_trips() {
        let id = ProductId::new();
        let after = Position::After(RowKey {
            product_id: id,
            price_key: Some(price_key(1250, id)),
        });
        let c = encode("ALL", "price_asc", &after);
        assert_eq!(decode(&c, "ALL", "price_asc", true), Ok(after));
        let newest = Position::After(RowKey {
            product_id: id,
            price_key: None,
        });
        let c = encode("CAT#kitchen", "newest", &newest);
        assert_eq!(decode(&c, "CAT#kitchen", "newest", false), Ok(newest));
        let c = encode("TOK#mug", "relevance", &Position::Offset(40));
        assert_eq!(
            decode(&c, "TOK#mug", "relevance", false),
            Ok(Position::Offset(40))
        );
    }

    #[test]
    fn rejects_tampering_and_foreign_cursors() {
        let id = ProductId::new();
        let c = encode(
            "ALL",
            "newest",
            &Position::After(RowKey {
                product_id: id,
                price_key: None,
            }),
        );
        assert_eq!(decode(&c, "CAT#x", "newest", false), Err(BadCursor));
        assert_eq!(decode(&c, "ALL", "price_asc", true), Err(BadCursor));
        assert_eq!(decode("!!!", "ALL", "newest", false), Err(BadCursor));
        assert_eq!(decode("", "ALL", "newest", false), Err(BadCursor));
        let forged = |json: &str| URL_SAFE_NO_PAD.encode(json.as_bytes());
        for json in [
            r#"{"p":"ALL","o":"newest","id":"nope"}"#.to_owned(),
            r#"{"p":"ALL","o":"newest"}"#.to_owned(),
            format!(r#"{{"p":"ALL","o":"newest","id":"{id}","x":1}}"#),
            format!(r#"{{"p":"ALL","o":"newest","id":"{id}","off":3}}"#),
        ] {
            assert_eq!(
                decode(&forged(&json), "ALL", "newest", false),
                Err(BadCursor),
                "{json}"
            );
        }
        for k in [
            "1250",
            "12#x",
            &format!("00000000125x#{id}"),
            &format!("000000001250#{}", ProductId::new()),
        ] {
            let json = format!(r#"{{"p":"ALL","o":"price_asc","id":"{id}","k":"{k}"}}"#);
            assert_eq!(
                decode(&forged(&json), "ALL", "price_asc", true),
                Err(BadCursor),
                "{json}"
            );
        }
    }
}
