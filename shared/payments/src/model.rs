use std::fmt;
use std::str::FromStr;

use contracts::{Currency, Money, UserId};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// `acct_<uuid v7, simple form>`: time-ordered, and recognisable in logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    pub fn new() -> Self {
        Self(format!("acct_{}", Uuid::now_v7().simple()))
    }

    /// An id read back from storage, which only ever holds ids made by `new`.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for AccountId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `txn_<uuid v7, simple form>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TransactionId(String);

impl TransactionId {
    pub fn new() -> Self {
        Self(format!("txn_{}", Uuid::now_v7().simple()))
    }

    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TransactionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client's `Idempotency-Key`: 1 to 64 characters of `[A-Za-z0-9_-:.]`,
/// short and inert enough to become part of a DynamoDB key and a log line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.is_empty() {
            return Err("must not be empty");
        }
        if raw.len() > Self::MAX_LEN {
            return Err("must be at most 64 characters");
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-:.".contains(c))
        {
            return Err("may only contain letters, digits, '_', '-', ':' and '.'");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free text shown in the ledger: trimmed, at most 140 characters, no
/// control characters. Empty when the client gave none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 140;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.chars().count() > Self::MAX_CHARS {
            return Err("must be at most 140 characters");
        }
        if value.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Largest single deposit: one million major units of the currency.
pub fn max_deposit(currency: Currency) -> i64 {
    1_000_000 * 10_i64.pow(currency.minor_digits())
}

/// A deposit amount in minor units: positive and at most [`max_deposit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositAmount(i64);

impl DepositAmount {
    pub fn new(minor_units: i64, currency: Currency) -> Result<Self, String> {
        if minor_units <= 0 {
            return Err(
                "must be greater than 0 (an amount in minor units, e.g. 1050 for 10.50)".into(),
            );
        }
        let max = max_deposit(currency);
        if minor_units > max {
            return Err(format!(
                "must be at most {max} minor units (1,000,000 {currency}) per deposit"
            ));
        }
        Ok(Self(minor_units))
    }

    pub fn minor_units(&self) -> i64 {
        self.0
    }
}

/// A user's payment account; its balance is the wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub user_id: UserId,
    pub currency: Currency,
    /// Minor units.
    pub balance: i64,
    /// Incremented by every balance change; deposits are conditioned on it.
    pub version: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Account {
    pub fn open(user_id: UserId, currency: Currency, now: OffsetDateTime) -> Self {
        let now = to_micros(now);
        Self {
            id: AccountId::new(),
            user_id,
            currency,
            balance: 0,
            version: 0,
            created_at: now,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    Deposit,
    /// An order paid from the wallet (a debit: negative amount).
    Charge,
    /// A wallet charge given back after the order was cancelled (a credit).
    Refund,
}

impl EntryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Deposit => "deposit",
            EntryKind::Charge => "charge",
            EntryKind::Refund => "refund",
        }
    }
}

impl FromStr for EntryKind {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "deposit" => Ok(EntryKind::Deposit),
            "charge" => Ok(EntryKind::Charge),
            "refund" => Ok(EntryKind::Refund),
            _ => Err("unknown ledger entry type"),
        }
    }
}

/// One line of the ledger. Entries are immutable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: TransactionId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub kind: EntryKind,
    /// Minor units, positive for credits, negative for debits.
    pub amount: i64,
    pub currency: Currency,
    pub balance_after: i64,
    pub description: Description,
    /// The account version this entry produced.
    pub version: u64,
    pub created_at: OffsetDateTime,
}

/// A completed deposit remembered under its idempotency key: what was asked
/// (as a hash) and what was answered (status and body, replayed verbatim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub user_id: UserId,
    pub key: IdempotencyKey,
    pub payload_hash: String,
    pub status: u16,
    pub body: String,
    pub expires_at: OffsetDateTime,
}

impl IdempotencyRecord {
    /// TTL deletion is lazy, so an expired record may still be read; it no
    /// longer counts (and the write condition lets a new request replace it).
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expires_at.unix_timestamp() >= now.unix_timestamp()
    }
}

/// `GET /wallet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalletView {
    pub account_id: AccountId,
    pub balance: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Account> for WalletView {
    fn from(a: &Account) -> Self {
        Self {
            account_id: a.id.clone(),
            balance: Money {
                amount: a.balance,
                currency: a.currency,
            },
            updated_at: a.updated_at,
        }
    }
}

/// A ledger entry as clients see it (ledger pages and the deposit response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransactionView {
    pub id: TransactionId,
    #[serde(rename = "type")]
    pub kind: EntryKind,
    pub amount: Money,
    pub balance_after: Money,
    pub description: Description,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&LedgerEntry> for TransactionView {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            id: e.id.clone(),
            kind: e.kind,
            amount: Money {
                amount: e.amount,
                currency: e.currency,
            },
            balance_after: Money {
                amount: e.balance_after,
                currency: e.currency,
            },
            description: e.description.clone(),
            created_at: e.created_at,
        }
    }
}

/// A page of results and the opaque cursor for the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Timestamps are kept to the microsecond: the ledger sort key holds exactly
/// that precision, so stored and in-memory values compare equal.
pub fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_short_and_inert() {
        for good in ["a", "order-42", "2026-11-21T10:00:00.123Z", "A_b-C:d.e"] {
            assert!(IdempotencyKey::parse(good).is_ok(), "{good:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(64)).is_ok());
        for bad in ["", "has space", "slash/y", "tab\t", "é", "a#b"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(65)).is_err());
    }

    #[test]
    fn descriptions_are_trimmed_and_bounded() {
        assert_eq!(
            Description::parse("  Top-up ").expect("ok").as_str(),
            "Top-up"
        );
        assert!(Description::parse(&"é".repeat(140)).is_ok());
        assert!(Description::parse(&"x".repeat(141)).is_err());
        assert!(Description::parse("bad\u{0}byte").is_err());
        assert!(Description::parse("line\nbreak").is_err());
    }

    #[test]
    fn deposit_bounds_follow_the_currency() {
        assert_eq!(max_deposit(Currency::USD), 100_000_000);
        assert_eq!(max_deposit(Currency::JPY), 1_000_000);
        assert!(DepositAmount::new(1, Currency::USD).is_ok());
        assert!(DepositAmount::new(100_000_000, Currency::USD).is_ok());
        assert!(DepositAmount::new(100_000_001, Currency::USD).is_err());
        assert!(DepositAmount::new(1_000_001, Currency::JPY).is_err());
        assert!(DepositAmount::new(0, Currency::USD).is_err());
        assert!(DepositAmount::new(-5, Currency::USD).is_err());
    }

    #[test]
    fn ids_have_their_prefixes() {
        assert!(AccountId::new().as_str().starts_with("acct_"));
        assert_eq!(AccountId::new().as_str().len(), 5 + 32);
        assert!(TransactionId::new().as_str().starts_with("txn_"));
    }
}
