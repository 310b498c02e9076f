//! The payment provider trait and its two implementations.
//!
//! - [`WalletProvider`]: the money is the wallet balance in our own table, so
//!   the debit, the ledger entry, the charge record and its event are one
//!   DynamoDB transaction, conditioned on the account version read (exact
//!   `balance_after`, never below zero) and on the order having neither a
//!   charge record nor a cancellation tombstone.
//! - [`StripeProvider`]: the money is at Stripe, which cannot join our
//!   transaction. The PaymentIntent is created and confirmed with an
//!   `Idempotency-Key` derived from the order, so a retry (after a timeout,
//!   a crash, a redelivery) is the same payment; its outcome is recorded
//!   right after, conditioned on no tombstone. If a cancellation got in while
//!   Stripe was charging, the payment is refunded at once and recorded as
//!   refunded.

use std::future::Future;

use contracts::events::{
    PaymentFailed, PaymentKind, PaymentMethod, PaymentRefunded, PaymentSucceeded,
};
use contracts::{CorrelationId, EventEnvelope, OrderId, RawEnvelope};
use time::{Duration, OffsetDateTime};

use crate::charges::model::{
    ChargeRecord, FailureReason, OrderCharge, charge_idempotency_key, refund_idempotency_key,
};
use crate::charges::store::{
    ChargeStoreError, ChargeWrite, ChargesStore, WalletChargeWrite, WalletRefundWrite,
};
use crate::charges::stripe_api::{
    IntentStatus, PaymentIntentRequest, RefundRequest, StripeApi, StripeError,
};
use crate::model::{Description, EntryKind, LedgerEntry, TransactionId, to_micros};
use crate::store::PaymentsStore;

/// Read-and-write rounds of a wallet charge or refund before it gives up on
/// a wallet that keeps changing (deposits, other orders); jittered backoff
/// in between, as for deposits.
const MAX_ATTEMPTS: u32 = 8;
const BACKOFF_BASE_MS: u64 = 10;
const BACKOFF_CAP_MS: u64 = 320;

/// Why a charge or refund could not be carried out now.
#[derive(Debug, thiserror::Error)]
pub enum ChargeError {
    /// Storage or provider trouble, or contention: the message goes back to
    /// its queue and is tried again (with the same idempotency keys).
    #[error("{0:#}")]
    Retryable(anyhow::Error),
    /// The message can never be carried out (a malformed order): it goes to
    /// the dead-letter queue for a human.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

impl From<ChargeStoreError> for ChargeError {
    fn from(e: ChargeStoreError) -> Self {
        match e {
            ChargeStoreError::Other(e) => ChargeError::Retryable(e),
            other => ChargeError::Retryable(anyhow::anyhow!("unexpected storage answer: {other}")),
        }
    }
}

impl From<crate::store::StoreError> for ChargeError {
    fn from(e: crate::store::StoreError) -> Self {
        ChargeError::Retryable(anyhow::Error::new(e))
    }
}

fn encode(e: serde_json::Error) -> ChargeError {
    ChargeError::Permanent(anyhow::Error::new(e).context("encoding the event"))
}

/// A charge record and whether this call wrote it (and so announced it):
/// `fresh == false` means the outcome was recorded before, by an earlier
/// delivery, a concurrent one or the webhook, and nothing was emitted now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub record: ChargeRecord,
    pub fresh: bool,
}

impl Recorded {
    fn fresh(record: ChargeRecord) -> Self {
        Self {
            record,
            fresh: true,
        }
    }

    pub(crate) fn existing(record: ChargeRecord) -> Self {
        Self {
            record,
            fresh: false,
        }
    }
}

/// Takes an order's money and gives it back. Callers have checked that the
/// order has no charge record and no tombstone; providers still make every
/// write conditional on both, because either can appear at any moment.
pub trait PaymentProvider: Send + Sync {
    /// Charges the order and records the outcome (`succeeded` or `failed`)
    /// with its event, exactly once per order.
    fn charge(
        &self,
        order: &OrderCharge,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Recorded, ChargeError>> + Send;

    /// Gives back a `succeeded` charge and records it (`refunded`) with
    /// `payment.refunded`, exactly once.
    fn refund(
        &self,
        charge: &ChargeRecord,
        correlation_id: &CorrelationId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Recorded, ChargeError>> + Send;
}

pub(crate) fn succeeded_event(
    record: &ChargeRecord,
    correlation_id: &CorrelationId,
) -> Result<RawEnvelope, ChargeError> {
    EventEnvelope::new(
        PaymentSucceeded {
            payment_id: record.payment_id.to_string(),
            order_id: record.order_id,
            user_id: record.user_id,
            amount: record.amount,
            currency: record.currency,
            method: record.method,
            provider_reference: record.provider_reference.clone().unwrap_or_default(),
            succeeded_at: record.created_at,
        },
        correlation_id.clone(),
        record.created_at,
    )
    .into_raw()
    .map_err(encode)
}

pub(crate) fn failed_event(
    record: &ChargeRecord,
    correlation_id: &CorrelationId,
) -> Result<RawEnvelope, ChargeError> {
    EventEnvelope::new(
        PaymentFailed {
            order_id: record.order_id,
            user_id: record.user_id,
            amount: record.amount,
            currency: record.currency,
            method: record.method,
            reason: record
                .failure_reason
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            failed_at: record.created_at,
        },
        correlation_id.clone(),
        record.created_at,
    )
    .into_raw()
    .map_err(encode)
}

pub(crate) fn refunded_event(
    record: &ChargeRecord,
    correlation_id: &CorrelationId,
) -> Result<RawEnvelope, ChargeError> {
    let at = record.refunded_at.unwrap_or(record.created_at);
    EventEnvelope::new(
        PaymentRefunded {
            payment_id: record.payment_id.to_string(),
            order_id: record.order_id,
            user_id: record.user_id,
            amount: record.amount,
            currency: record.currency,
            method: record.method,
            provider_reference: record.refund_reference.clone().unwrap_or_default(),
            refunded_at: at,
        },
        correlation_id.clone(),
        at,
    )
    .into_raw()
    .map_err(encode)
}

/// The order's stored charge, after a write found one.
pub(crate) async fn existing<S: ChargesStore>(
    store: &S,
    order: OrderId,
) -> Result<Recorded, ChargeError> {
    store
        .charge(order)
        .await?
        .map(Recorded::existing)
        .ok_or_else(|| {
            ChargeError::Retryable(anyhow::anyhow!(
                "the charge record of order {order} was reported present but cannot be read"
            ))
        })
}

/// Records a failed payment and `payment.failed`, unless the order's
/// outcome is recorded already.
pub(crate) async fn record_failure<S: ChargesStore>(
    store: &S,
    order: &OrderCharge,
    reason: FailureReason,
    reference: Option<String>,
    now: OffsetDateTime,
) -> Result<Recorded, ChargeError> {
    let record = ChargeRecord::failed(order, reason, reference, to_micros(now));
    let event = failed_event(&record, &order.correlation_id)?;
    let write = ChargeWrite {
        record: &record,
        unless_cancelled: false,
    };
    match store.record_charge(write, &event, now).await {
        Ok(()) => {
            tracing::info!(order_id = %order.order_id, %reason, event_id = %event.id, "payment failed");
            Ok(Recorded::fresh(record))
        }
        Err(ChargeStoreError::AlreadyRecorded) => existing(store, order.order_id).await,
        Err(e) => Err(e.into()),
    }
}

fn backoff(attempt: u32) -> std::time::Duration {
    let ceiling = (BACKOFF_BASE_MS << attempt.min(6)).min(BACKOFF_CAP_MS);
    std::time::Duration::from_millis(rand::random_range(0..=ceiling))
}

fn description(text: String) -> Result<Description, ChargeError> {
    Description::parse(&text).map_err(|e| ChargeError::Permanent(anyhow::anyhow!("{e}")))
}

/// Pays orders from the user's wallet.
#[derive(Clone)]
pub struct WalletProvider<S> {
    store: S,
}

impl<S> WalletProvider<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: PaymentsStore + ChargesStore> PaymentProvider for WalletProvider<S> {
    /// Each attempt reads the account and, if it can pay, writes one
    /// transaction conditioned on the version read: a deposit or another
    /// order in between makes it retry with a fresh read, so two orders can
    /// never both spend the same balance.
    async fn charge(
        &self,
        order: &OrderCharge,
        now: OffsetDateTime,
    ) -> Result<Recorded, ChargeError> {
        let store = &self.store;
        for attempt in 1..=MAX_ATTEMPTS {
            let Some(account) = store.account(order.user_id).await? else {
                return record_failure(store, order, FailureReason::NoWallet, None, now).await;
            };
            if account.currency != order.currency {
                return record_failure(store, order, FailureReason::CurrencyMismatch, None, now)
                    .await;
            }
            if account.balance < order.amount {
                return record_failure(store, order, FailureReason::InsufficientFunds, None, now)
                    .await;
            }
            let at = to_micros(now).max(account.updated_at + Duration::microseconds(1));
            let entry = LedgerEntry {
                id: TransactionId::new(),
                account_id: account.id.clone(),
                user_id: order.user_id,
                kind: EntryKind::Charge,
                amount: -order.amount,
                currency: account.currency,
                balance_after: account.balance - order.amount,
                description: description(format!("Order {}", order.order_id))?,
                version: account.version + 1,
                created_at: at,
            };
            let record = ChargeRecord::succeeded(order, entry.id.to_string(), at);
            let event = succeeded_event(&record, &order.correlation_id)?;
            let write = WalletChargeWrite {
                account: &account,
                entry: &entry,
                record: &record,
            };
            match store.record_wallet_charge(write, &event, now).await {
                Ok(()) => {
                    tracing::info!(
                        order_id = %order.order_id,
                        transaction_id = %entry.id,
                        amount = order.amount,
                        balance_after = entry.balance_after,
                        attempt,
                        event_id = %event.id,
                        "order paid from the wallet"
                    );
                    return Ok(Recorded::fresh(record));
                }
                Err(ChargeStoreError::AlreadyRecorded) => {
                    return existing(store, order.order_id).await;
                }
                Err(ChargeStoreError::Cancelled) => {
                    return record_failure(store, order, FailureReason::OrderCancelled, None, now)
                        .await;
                }
                Err(ChargeStoreError::Stale) => {
                    tracing::debug!(attempt, "wallet changed since it was read; retrying");
                    if attempt < MAX_ATTEMPTS {
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ChargeError::Retryable(anyhow::anyhow!(
            "the wallet of user {} kept changing over {MAX_ATTEMPTS} attempts",
            order.user_id
        )))
    }

    async fn refund(
        &self,
        charge: &ChargeRecord,
        correlation_id: &CorrelationId,
        now: OffsetDateTime,
    ) -> Result<Recorded, ChargeError> {
        let store = &self.store;
        for attempt in 1..=MAX_ATTEMPTS {
            let account = store.account(charge.user_id).await?.ok_or_else(|| {
                ChargeError::Permanent(anyhow::anyhow!(
                    "the wallet charged for order {} no longer exists",
                    charge.order_id
                ))
            })?;
            if account.currency != charge.currency {
                return Err(ChargeError::Permanent(anyhow::anyhow!(
                    "order {} was charged in {} from a {} wallet",
                    charge.order_id,
                    charge.currency,
                    account.currency
                )));
            }
            let at = to_micros(now).max(account.updated_at + Duration::microseconds(1));
            let balance_after = account.balance.checked_add(charge.amount).ok_or_else(|| {
                ChargeError::Permanent(anyhow::anyhow!("balance of {} would overflow", account.id))
            })?;
            let entry = LedgerEntry {
                id: TransactionId::new(),
                account_id: account.id.clone(),
                user_id: charge.user_id,
                kind: EntryKind::Refund,
                amount: charge.amount,
                currency: account.currency,
                balance_after,
                description: description(format!("Refund of order {}", charge.order_id))?,
                version: account.version + 1,
                created_at: at,
            };
            let record = charge.clone().refunded(entry.id.to_string(), at);
            let event = refunded_event(&record, correlation_id)?;
            let write = WalletRefundWrite {
                account: &account,
                entry: &entry,
                record: &record,
            };
            match store.record_wallet_refund(write, &event, now).await {
                Ok(()) => {
                    tracing::info!(
                        order_id = %charge.order_id,
                        transaction_id = %entry.id,
                        amount = charge.amount,
                        balance_after,
                        event_id = %event.id,
                        "wallet charge refunded"
                    );
                    return Ok(Recorded::fresh(record));
                }
                Err(ChargeStoreError::NotRefundable) => {
                    return existing(store, charge.order_id).await;
                }
                Err(ChargeStoreError::Stale) => {
                    if attempt < MAX_ATTEMPTS {
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ChargeError::Retryable(anyhow::anyhow!(
            "the wallet of user {} kept changing over {MAX_ATTEMPTS} attempts",
            charge.user_id
        )))
    }
}

/// Metadata put on every PaymentIntent, so that Stripe's webhook events
/// lead back to the order (and continue its correlation id).
pub(crate) fn intent_metadata(order: &OrderCharge) -> Vec<(String, String)> {
    vec![
        ("order_id".into(), order.order_id.to_string()),
        ("user_id".into(), order.user_id.to_string()),
        ("correlation_id".into(), order.correlation_id.to_string()),
    ]
}

/// Pays orders by card through Stripe.
#[derive(Clone)]
pub struct StripeProvider<S, A> {
    store: S,
    api: A,
}

impl<S, A> StripeProvider<S, A> {
    pub fn new(store: S, api: A) -> Self {
        Self { store, api }
    }
}

/// Refunds the whole PaymentIntent; a retry reuses the order's refund key,
/// so it is the same refund. Returns the refund's reference.
pub(crate) async fn refund_intent<A: StripeApi>(
    api: &A,
    order: OrderId,
    intent_id: &str,
) -> Result<String, ChargeError> {
    let request = RefundRequest {
        payment_intent: intent_id.to_owned(),
        idempotency_key: refund_idempotency_key(order),
        metadata: vec![("order_id".into(), order.to_string())],
    };
    match api.refund(&request).await {
        Ok(refund) => Ok(refund.id),
        // Refunded already at Stripe (by an earlier attempt whose answer was
        // lost, or from the dashboard): the money is back; what is missing is
        // only our record of it. Stripe did not say under which refund id.
        Err(e) if e.is_already_refunded() => {
            tracing::info!(order_id = %order, intent_id, "PaymentIntent was refunded already at Stripe");
            Ok(intent_id.to_owned())
        }
        Err(e @ (StripeError::Unavailable(_) | StripeError::Unauthorized { .. })) => {
            Err(ChargeError::Retryable(anyhow::Error::new(e)))
        }
        Err(e) => Err(ChargeError::Permanent(
            anyhow::Error::new(e).context(format!("refunding order {order} ({intent_id})")),
        )),
    }
}

/// Records a card payment Stripe reports as succeeded, for the consumer
/// (from the create-and-confirm answer) and the webhook alike. The record is
/// conditioned on no tombstone: if the order was cancelled while Stripe was
/// charging, the money goes back at once and the charge is recorded as
/// refunded (`payment.refunded`, never `payment.succeeded`).
pub(crate) async fn settle_card_success<S: ChargesStore, A: StripeApi>(
    store: &S,
    api: &A,
    order: &OrderCharge,
    intent_id: &str,
    now: OffsetDateTime,
) -> Result<Recorded, ChargeError> {
    let at = to_micros(now);
    let record = ChargeRecord::succeeded(order, intent_id.to_owned(), at);
    let event = succeeded_event(&record, &order.correlation_id)?;
    let write = ChargeWrite {
        record: &record,
        unless_cancelled: true,
    };
    match store.record_charge(write, &event, now).await {
        Ok(()) => {
            tracing::info!(order_id = %order.order_id, intent_id, amount = order.amount, event_id = %event.id, "order paid by card");
            return Ok(Recorded::fresh(record));
        }
        Err(ChargeStoreError::AlreadyRecorded) => return existing(store, order.order_id).await,
        Err(ChargeStoreError::Cancelled) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::warn!(order_id = %order.order_id, intent_id, "the order was cancelled while its card was charged; refunding at once");
    let refund_reference = refund_intent(api, order.order_id, intent_id).await?;
    let record = record.refunded(refund_reference, at);
    let event = refunded_event(&record, &order.correlation_id)?;
    let write = ChargeWrite {
        record: &record,
        unless_cancelled: false,
    };
    match store.record_charge(write, &event, now).await {
        Ok(()) => Ok(Recorded::fresh(record)),
        Err(ChargeStoreError::AlreadyRecorded) => existing(store, order.order_id).await,
        Err(e) => Err(e.into()),
    }
}

impl<S: ChargesStore, A: StripeApi> PaymentProvider for StripeProvider<S, A> {
    async fn charge(
        &self,
        order: &OrderCharge,
        now: OffsetDateTime,
    ) -> Result<Recorded, ChargeError> {
        let store = &self.store;
        let PaymentMethod::Card { payment_method } = &order.method else {
            return Err(ChargeError::Permanent(anyhow::anyhow!(
                "order {} is not a card payment",
                order.order_id
            )));
        };
        let request = PaymentIntentRequest {
            amount: order.amount,
            currency: order.currency,
            payment_method: payment_method.clone(),
            idempotency_key: charge_idempotency_key(order.order_id),
            metadata: intent_metadata(order),
        };
        let intent = match self.api.create_payment_intent(&request).await {
            Ok(intent) => intent,
            Err(StripeError::Declined { code, message }) => {
                tracing::info!(order_id = %order.order_id, %code, %message, "card declined");
                return record_failure(store, order, FailureReason::CardDeclined, None, now).await;
            }
            Err(e) if e.is_unknown_payment_method() => {
                tracing::info!(order_id = %order.order_id, error = %e, "unknown payment method");
                return record_failure(
                    store,
                    order,
                    FailureReason::InvalidPaymentMethod,
                    None,
                    now,
                )
                .await;
            }
            Err(e @ StripeError::Rejected { .. }) => {
                // Stripe will refuse this request every time: the order fails
                // (and is cancelled) rather than waiting in a DLQ.
                tracing::error!(order_id = %order.order_id, error = %e, "Stripe refused the charge");
                return record_failure(store, order, FailureReason::ProviderRejected, None, now)
                    .await;
            }
            Err(e) => return Err(ChargeError::Retryable(anyhow::Error::new(e))),
        };
        let failure = match intent.status {
            IntentStatus::Succeeded => {
                return settle_card_success(store, &self.api, order, &intent.id, now).await;
            }
            IntentStatus::RequiresPaymentMethod => FailureReason::CardDeclined,
            IntentStatus::RequiresAction => FailureReason::AuthenticationRequired,
            IntentStatus::Canceled => FailureReason::ProviderRejected,
            IntentStatus::Processing | IntentStatus::Other(_) => {
                // Not settled yet: asking again later (same key, same intent)
                // gets the final status; the webhook may record it first.
                return Err(ChargeError::Retryable(anyhow::anyhow!(
                    "PaymentIntent {} of order {} is {:?}",
                    intent.id,
                    order.order_id,
                    intent.status
                )));
            }
        };
        record_failure(store, order, failure, Some(intent.id), now).await
    }

    async fn refund(
        &self,
        charge: &ChargeRecord,
        correlation_id: &CorrelationId,
        now: OffsetDateTime,
    ) -> Result<Recorded, ChargeError> {
        if charge.method != PaymentKind::Card {
            return Err(ChargeError::Permanent(anyhow::anyhow!(
                "order {} was not paid by card",
                charge.order_id
            )));
        }
        let intent_id = charge.provider_reference.as_deref().ok_or_else(|| {
            ChargeError::Permanent(anyhow::anyhow!(
                "the card charge of order {} has no PaymentIntent",
                charge.order_id
            ))
        })?;
        let refund_reference = refund_intent(&self.api, charge.order_id, intent_id).await?;
        let record = charge.clone().refunded(refund_reference, to_micros(now));
        let event = refunded_event(&record, correlation_id)?;
        match self.store.record_refund(&record, &event, now).await {
            Ok(()) => {
                tracing::info!(order_id = %charge.order_id, intent_id, event_id = %event.id, "card payment refunded");
                Ok(Recorded::fresh(record))
            }
            Err(ChargeStoreError::NotRefundable) => existing(&self.store, charge.order_id).await,
            Err(e) => Err(e.into()),
        }
    }
}
