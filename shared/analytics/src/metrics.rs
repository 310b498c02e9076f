use contracts::DomainEvent;
use contracts::RawEnvelope;
use contracts::events::{UserRegistered, WalletDeposited};

/// One daily aggregate to add to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    pub metric: String,
    pub by: i64,
}

fn inc(metric: impl Into<String>, by: i64) -> Increment {
    Increment {
        metric: metric.into(),
        by,
    }
}

/// What an event adds to the day's aggregates: its type's count always,
/// plus the business figures of the types that carry them.
pub fn increments_for(event: &RawEnvelope) -> Vec<Increment> {
    let mut out = vec![inc(format!("events#{}", event.event_type), 1)];
    match event.event_type.as_str() {
        UserRegistered::TYPE => out.push(inc("registrations", 1)),
        WalletDeposited::TYPE => match event.clone().decode::<WalletDeposited>() {
            Ok(deposit) => {
                out.push(inc("deposits#count", 1));
                out.push(inc(
                    format!("deposits#amount#{}", deposit.data.currency),
                    deposit.data.amount,
                ));
            }
            // Still counted by type and archived; the figure is not guessed.
            Err(e) => tracing::warn!(error = %e, "wallet.deposited without a usable payload"),
        },
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(event_type: &str, data: serde_json::Value) -> RawEnvelope {
        serde_json::from_value(serde_json::json!({
            "id": "e1", "type": event_type, "version": 1, "source": "s",
            "occurred_at": "2026-11-21T10:00:00Z", "correlation_id": "c", "subject": "x",
            "data": data
        }))
        .expect("envelope")
    }

    #[test]
    fn every_event_counts_by_type() {
        assert_eq!(
            increments_for(&raw("order.placed", serde_json::json!({}))),
            vec![inc("events#order.placed", 1)]
        );
    }

    #[test]
    fn registrations_and_deposits_add_their_figures() {
        let reg = increments_for(&raw("user.registered", serde_json::json!({})));
        assert!(reg.contains(&inc("registrations", 1)));
        let dep = increments_for(&raw(
            "wallet.deposited",
            serde_json::json!({
                "account_id": "a", "user_id": "01936b2e-7f3a-7c41-9e2b-000000000001",
                "transaction_id": "t", "amount": 2500, "currency": "EUR", "balance_after": 2500,
                "description": "", "deposited_at": "2026-11-21T10:00:00Z"
            }),
        ));
        assert_eq!(
            dep,
            vec![
                inc("events#wallet.deposited", 1),
                inc("deposits#count", 1),
                inc("deposits#amount#EUR", 2500)
            ]
        );
    }

    #[test]
    fn a_malformed_deposit_is_counted_by_type_only() {
        let dep = increments_for(&raw(
            "wallet.deposited",
            serde_json::json!({"amount": "lots"}),
        ));
        assert_eq!(dep, vec![inc("events#wallet.deposited", 1)]);
    }
}
