use std::future::Future;

use contracts::{OrderId, RawEnvelope};
use time::OffsetDateTime;

use crate::charges::model::{Cancellation, ChargeRecord};
use crate::model::{Account, LedgerEntry};

#[derive(Debug, thiserror::Error)]
pub enum ChargeStoreError {
    /// The order has a charge record already (or, for a cancellation, got
    /// one first): its outcome is decided; nothing was written.
    #[error("the order's charge is recorded already")]
    AlreadyRecorded,
    /// The order has a cancellation tombstone: it must not be charged.
    #[error("the order was cancelled")]
    Cancelled,
    /// The charge to refund is no longer `succeeded` (refunded meanwhile).
    #[error("the charge is not refundable")]
    NotRefundable,
    /// The wallet changed since it was read (or a concurrent transaction
    /// held it): nothing was written; read again and retry.
    #[error("the wallet changed concurrently")]
    Stale,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type ChargeStoreResult<T> = Result<T, ChargeStoreError>;

/// A charge outcome recorded without moving money in our table: a card
/// charge (the money moved at Stripe) or any failure.
#[derive(Debug, Clone, Copy)]
pub struct ChargeWrite<'a> {
    /// Stored only if the order has no charge record (`AlreadyRecorded`).
    pub record: &'a ChargeRecord,
    /// Also require the order to have no tombstone (`Cancelled`): set for
    /// charges that took money, so a cancellation that got in first wins.
    pub unless_cancelled: bool,
}

/// A wallet payment: the debit and its outcome, in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct WalletChargeWrite<'a> {
    /// The account as read; debited only if still at this version and
    /// currency, and never below zero.
    pub account: &'a Account,
    /// The debit (`amount` negative, `balance_after` = balance read + amount).
    pub entry: &'a LedgerEntry,
    /// `succeeded`, referencing `entry`.
    pub record: &'a ChargeRecord,
}

/// A wallet refund: the credit and the charge's new status, in one
/// transaction.
#[derive(Debug, Clone, Copy)]
pub struct WalletRefundWrite<'a> {
    pub account: &'a Account,
    /// The credit (`amount` positive).
    pub entry: &'a LedgerEntry,
    /// The charge as it will be: `refunded`, referencing `entry`. Written
    /// only if the stored charge is still `succeeded` (`NotRefundable`).
    pub record: &'a ChargeRecord,
}

/// Storage port for charges. Every write also records its event in the
/// outbox, in the same transaction.
pub trait ChargesStore: Send + Sync {
    /// The order's charge record (strongly consistent read).
    fn charge(
        &self,
        order: OrderId,
    ) -> impl Future<Output = ChargeStoreResult<Option<ChargeRecord>>> + Send;

    /// The order's cancellation tombstone (strongly consistent read).
    fn cancellation(
        &self,
        order: OrderId,
    ) -> impl Future<Output = ChargeStoreResult<Option<Cancellation>>> + Send;

    /// The order a Stripe PaymentIntent was recorded for.
    fn order_of_stripe_intent(
        &self,
        intent_id: &str,
    ) -> impl Future<Output = ChargeStoreResult<Option<OrderId>>> + Send;

    /// Stores a charge outcome and `event`; for a card charge with a
    /// PaymentIntent, also the intent -> order pointer.
    fn record_charge(
        &self,
        write: ChargeWrite<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = ChargeStoreResult<()>> + Send;

    /// Atomically: debits the account, appends the ledger entry, stores the
    /// charge record and `event`. `AlreadyRecorded` wins over `Cancelled`,
    /// which wins over `Stale`.
    fn record_wallet_charge(
        &self,
        write: WalletChargeWrite<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = ChargeStoreResult<()>> + Send;

    /// Atomically: credits the account, appends the ledger entry, marks the
    /// charge refunded and stores `event`. `NotRefundable` wins over `Stale`.
    fn record_wallet_refund(
        &self,
        write: WalletRefundWrite<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = ChargeStoreResult<()>> + Send;

    /// Replaces a `succeeded` charge by `record` (refunded: the money went
    /// back at the provider) and stores `event`; `NotRefundable` if the
    /// stored charge is no longer `succeeded`.
    fn record_refund(
        &self,
        record: &ChargeRecord,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = ChargeStoreResult<()>> + Send;

    /// Stores the tombstone if the order has no charge record
    /// (`AlreadyRecorded` otherwise). An existing tombstone is kept as is.
    fn record_cancellation(
        &self,
        cancellation: &Cancellation,
    ) -> impl Future<Output = ChargeStoreResult<()>> + Send;

    /// Whether a Stripe webhook event was handled already.
    fn stripe_event_seen(
        &self,
        event_id: &str,
    ) -> impl Future<Output = ChargeStoreResult<bool>> + Send;

    /// Remembers a handled Stripe webhook event (for as long as Stripe may
    /// deliver it again).
    fn remember_stripe_event(
        &self,
        event_id: &str,
        event_type: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = ChargeStoreResult<()>> + Send;
}
