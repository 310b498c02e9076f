//! Item keys of the orders table, shared by both adapters so the in-memory
//! one orders and pages exactly like DynamoDB.

use contracts::{OrderId, ProductId, UserId};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::model::IdempotencyKey;

pub const PRODUCT_SK: &str = "PRODUCT";
pub const CART_SK: &str = "CART";
pub const ORDER_PREFIX: &str = "ORDER#";
pub const ORDER_SK: &str = "ORDER";
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
/// Partition of the open-orders index: every order waiting for a saga step.
/// One partition is enough because the set is small (orders leave it within
/// seconds, or at the timeout) and the timeout reads it oldest first.
pub const OPEN_PK: &str = "OPEN";
pub const OPEN_INDEX: &str = "gsi1";
pub const USER_INDEX: &str = "gsi2";

pub fn product_pk(id: ProductId) -> String {
    format!("PRODUCT#{id}")
}

pub fn cart_pk(user: UserId) -> String {
    format!("CART#{user}")
}

pub fn order_pk(id: OrderId) -> String {
    format!("{ORDER_PREFIX}{id}")
}

pub fn order_id_of_pk(pk: &str) -> Option<OrderId> {
    pk.strip_prefix(ORDER_PREFIX)?.parse().ok()
}

/// RFC 3339 in UTC with a fixed six-digit fraction, so byte order is time
/// order (`10:00:00Z` would sort after `10:00:00.5Z` with variable widths).
pub fn stamp(at: OffsetDateTime) -> Result<String, time::error::Format> {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
}

/// Sort key in the open-orders index: oldest first, so "placed before the
/// cutoff" is one key range.
pub fn open_sk(placed_at: OffsetDateTime, id: OrderId) -> Result<String, time::error::Format> {
    Ok(format!("{}#{id}", stamp(placed_at)?))
}

pub fn user_orders_pk(user: UserId) -> String {
    format!("USER#{user}")
}

/// Sort key in the by-user index: newest first when read backwards.
pub fn user_orders_sk(
    placed_at: OffsetDateTime,
    id: OrderId,
) -> Result<String, time::error::Format> {
    Ok(format!("{ORDER_PREFIX}{}#{id}", stamp(placed_at)?))
}

/// Checkout idempotency records are scoped to the user: one user's key can
/// never replay (or block) another user's checkout.
pub fn checkout_idempotency_pk(user: UserId, key: &IdempotencyKey) -> String {
    format!("IDEMPOTENCY#checkout#{user}#{key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn time_keys_sort_in_time_order() {
        let id = OrderId::new();
        let whole = open_sk(datetime!(2026-11-21 10:00:00 UTC), id).expect("sk");
        let later = open_sk(datetime!(2026-11-21 10:00:00.5 UTC), id).expect("sk");
        let next_day = open_sk(datetime!(2026-11-22 09:00 +02:00), id).expect("sk");
        assert_eq!(whole, format!("2026-11-21T10:00:00.000000Z#{id}"));
        assert!(whole < later && later < next_day);
        // A cutoff stamp sorts after every key of an earlier instant and
        // before the keys of its own instant.
        let cutoff = stamp(datetime!(2026-11-21 10:00:00.5 UTC)).expect("stamp");
        assert!(whole < cutoff && cutoff < later);
    }

    #[test]
    fn order_ids_come_back_out_of_their_keys() {
        let id = OrderId::new();
        assert_eq!(order_id_of_pk(&order_pk(id)), Some(id));
        assert_eq!(order_id_of_pk("CART#x"), None);
        assert_eq!(order_id_of_pk("ORDER#nope"), None);
    }
}
