//! Item keys of the payments table, shared by both adapters so the in-memory
//! one orders and pages exactly like DynamoDB.

use contracts::{OrderId, UserId};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::model::{IdempotencyKey, TransactionId};

pub const ACCOUNT_SK: &str = "ACCOUNT";
pub const LEDGER_PREFIX: &str = "TXN#";
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";

pub fn user_pk(id: UserId) -> String {
    format!("USER#{id}")
}

/// `TXN#<timestamp>#<txn id>`. The timestamp is RFC 3339 in UTC with a fixed
/// six-digit fraction, so byte order is time order (`10:00:00Z` would sort
/// after `10:00:00.5Z` with variable-width fractions).
pub fn ledger_sk(at: OffsetDateTime, id: &TransactionId) -> Result<String, time::error::Format> {
    let stamp = at
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))?;
    Ok(format!("{LEDGER_PREFIX}{stamp}#{id}"))
}

/// Deposit idempotency records are scoped to the user: one user's key can
/// never replay (or block) another user's deposit.
pub fn deposit_idempotency_pk(user: UserId, key: &IdempotencyKey) -> String {
    format!("IDEMPOTENCY#deposit#{user}#{key}")
}

pub const CHARGE_SK: &str = "CHARGE";
pub const CANCELLED_SK: &str = "CANCELLED";
pub const STRIPE_INTENT_SK: &str = "STRIPE_PI";
pub const STRIPE_EVENT_SK: &str = "STRIPE_EVENT";

/// The one charge of an order (its outcome: succeeded, failed, refunded).
pub fn charge_pk(order: OrderId) -> String {
    format!("CHARGE#{order}")
}

/// The tombstone of an order cancelled before it was charged.
pub fn cancelled_pk(order: OrderId) -> String {
    format!("CANCELLED#{order}")
}

/// From a Stripe PaymentIntent id back to its order, for webhook events
/// (`charge.refunded`) that carry the intent but not our metadata.
pub fn stripe_intent_pk(intent_id: &str) -> String {
    format!("STRIPE_PI#{intent_id}")
}

/// A Stripe webhook event already handled.
pub fn stripe_event_pk(event_id: &str) -> String {
    format!("STRIPE_EVENT#{event_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ledger_keys_sort_in_time_order() {
        let id = TransactionId::from_stored("txn_x".into());
        let whole = ledger_sk(datetime!(2026-11-21 10:00:00 UTC), &id).expect("sk");
        let later = ledger_sk(datetime!(2026-11-21 10:00:00.5 UTC), &id).expect("sk");
        let next_day = ledger_sk(datetime!(2026-11-22 09:00 +02:00), &id).expect("sk");
        assert_eq!(whole, "TXN#2026-11-21T10:00:00.000000Z#txn_x");
        assert!(
            whole < later && later < next_day,
            "{whole} {later} {next_day}"
        );
        assert!(next_day.starts_with("TXN#2026-11-22T07:00:00.000000Z"));
    }
}
