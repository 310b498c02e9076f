use std::future::Future;

use contracts::{RawEnvelope, UserId};
use time::OffsetDateTime;

use crate::model::{Account, IdempotencyKey, IdempotencyRecord, LedgerEntry, Page};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The account to create exists already.
    #[error("account already exists")]
    AccountExists,
    /// A live idempotency record exists for the deposit's key: the request
    /// (or a concurrent twin of it) was already carried out.
    #[error("idempotency key already used")]
    KeyTaken,
    /// The account is no longer as read (another write got in first, or it
    /// is gone or has another currency), or a concurrent transaction held
    /// it: nothing was written; read again and retry.
    #[error("account changed concurrently")]
    Stale,
    #[error("invalid pagination cursor")]
    BadCursor,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything one deposit writes, in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct DepositWrite<'a> {
    /// The account as read; the write applies only if it is still at this
    /// version (and currency).
    pub account: &'a Account,
    /// Credited by `entry.amount`; `entry.balance_after` must be
    /// `account.balance + entry.amount`.
    pub entry: &'a LedgerEntry,
    /// Stored only if no live record holds the key.
    pub idempotency: &'a IdempotencyRecord,
}

/// Storage port of the payments service.
pub trait PaymentsStore: Send + Sync {
    /// Stores a new account and records `event` in the outbox, atomically.
    /// `AccountExists` (and nothing written) when the user has one.
    fn create_account(
        &self,
        account: &Account,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The user's account (strongly consistent read).
    fn account(&self, user_id: UserId)
    -> impl Future<Output = StoreResult<Option<Account>>> + Send;

    /// Atomically: credits the account (balance and version), appends the
    /// ledger entry, stores the idempotency record and records `event` in
    /// the outbox. `KeyTaken` wins over `Stale` when both apply.
    fn record_deposit(
        &self,
        deposit: DepositWrite<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The stored record of a deposit key, live or (not yet deleted) expired.
    fn idempotency_record(
        &self,
        user_id: UserId,
        key: &IdempotencyKey,
    ) -> impl Future<Output = StoreResult<Option<IdempotencyRecord>>> + Send;

    /// The user's ledger, newest first. `cursor` is what the previous page
    /// returned; `BadCursor` if it was not issued for this user's ledger.
    fn ledger(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<LedgerEntry>>> + Send;
}
