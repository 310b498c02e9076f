//! The use cases behind the charge and refund consumers and the Stripe
//! webhook.

use contracts::events::{PaymentKind, PaymentMethod};
use contracts::{CorrelationId, OrderId, UserId};
use time::OffsetDateTime;

use crate::charges::model::{Cancellation, ChargeRecord, ChargeStatus, FailureReason, OrderCharge};
use crate::charges::provider::{
    ChargeError, PaymentProvider, Recorded, existing, record_failure, refund_intent,
    refunded_event, settle_card_success,
};
use crate::charges::store::{ChargeStoreError, ChargesStore};
use crate::charges::stripe_api::StripeApi;
use crate::charges::webhook::{ChargeObject, IntentObject, StripeEvent, StripeEventKind};
use crate::model::to_micros;

/// Charges an order once: a redelivered or duplicated `inventory.reserved`
/// finds the charge record and changes nothing; an order cancelled before
/// it is charged gets `payment.failed` (`order_cancelled`) and is never
/// charged.
pub async fn charge_order<S, W, C>(
    store: &S,
    wallet: &W,
    card: &C,
    order: &OrderCharge,
    now: OffsetDateTime,
) -> Result<Recorded, ChargeError>
where
    S: ChargesStore,
    W: PaymentProvider,
    C: PaymentProvider,
{
    if order.amount <= 0 {
        return Err(ChargeError::Permanent(anyhow::anyhow!(
            "order {} has a non-positive amount {}",
            order.order_id,
            order.amount
        )));
    }
    if let Some(record) = store.charge(order.order_id).await? {
        tracing::info!(order_id = %order.order_id, status = record.status.as_str(), "order charged already; nothing to do");
        return Ok(Recorded::existing(record));
    }
    // Checked here for both methods, so a cancelled order always fails with
    // the same reason, and before any call to Stripe. The providers' writes
    // check again, atomically.
    if store.cancellation(order.order_id).await?.is_some() {
        tracing::info!(order_id = %order.order_id, "order was cancelled before its charge; not charging");
        return record_failure(store, order, FailureReason::OrderCancelled, None, now).await;
    }
    match order.method {
        PaymentMethod::Wallet => wallet.charge(order, now).await,
        PaymentMethod::Card { .. } => card.charge(order, now).await,
    }
}

/// What `order.cancelled` did to the order's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// The charge was given back (`fresh`: by this call, with
    /// `payment.refunded`; otherwise by a concurrent delivery).
    Refunded(Recorded),
    /// Refunded before (a redelivery): nothing to do.
    AlreadyRefunded(ChargeRecord),
    /// The payment had failed: nothing was taken.
    NotCharged(ChargeRecord),
    /// No charge yet: the tombstone now refuses any later one.
    Tombstoned,
}

/// Gives back what was charged for a cancelled order, once; if nothing was
/// charged, makes sure nothing will be.
pub async fn refund_order<S, W, C>(
    store: &S,
    wallet: &W,
    card: &C,
    order_id: OrderId,
    user_id: UserId,
    correlation_id: &CorrelationId,
    now: OffsetDateTime,
) -> Result<RefundOutcome, ChargeError>
where
    S: ChargesStore,
    W: PaymentProvider,
    C: PaymentProvider,
{
    // Two rounds at most: a tombstone refused because a charge got in first
    // means the second read finds that charge (records are never deleted).
    for _ in 0..2 {
        let Some(charge) = store.charge(order_id).await? else {
            let cancellation = Cancellation {
                order_id,
                user_id,
                cancelled_at: to_micros(now),
            };
            match store.record_cancellation(&cancellation).await {
                Ok(()) => {
                    tracing::info!(%order_id, "cancelled before any charge; tombstone written");
                    return Ok(RefundOutcome::Tombstoned);
                }
                Err(ChargeStoreError::AlreadyRecorded) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        return match charge.status {
            ChargeStatus::Failed => Ok(RefundOutcome::NotCharged(charge)),
            ChargeStatus::Refunded => Ok(RefundOutcome::AlreadyRefunded(charge)),
            ChargeStatus::Succeeded => {
                let recorded = match charge.method {
                    PaymentKind::Wallet => wallet.refund(&charge, correlation_id, now).await?,
                    PaymentKind::Card => card.refund(&charge, correlation_id, now).await?,
                };
                Ok(RefundOutcome::Refunded(recorded))
            }
        };
    }
    Err(ChargeError::Retryable(anyhow::anyhow!(
        "the charge of order {order_id} blocked the tombstone but cannot be read"
    )))
}

/// What the webhook did with a Stripe event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Reconciled with our records (a new event was emitted only if the
    /// outcome was not recorded before).
    Processed,
    /// The event id was handled before.
    Duplicate,
    /// Not an event we act on (another type, or not about one of our orders).
    Ignored,
}

/// Reconciles one verified Stripe event with the charge records, once per
/// event id. The reconciliation itself is idempotent (every write is
/// conditional on the record's state), so the event id is remembered after
/// it: a crash in between only means the event is reconciled again, to the
/// same result.
pub async fn handle_stripe_event<S: ChargesStore, A: StripeApi>(
    store: &S,
    api: &A,
    event: &StripeEvent,
    now: OffsetDateTime,
) -> Result<WebhookOutcome, ChargeError> {
    if store.stripe_event_seen(&event.id).await? {
        tracing::info!(stripe_event = %event.id, "Stripe event handled before; skipping");
        return Ok(WebhookOutcome::Duplicate);
    }
    let outcome = match &event.kind {
        StripeEventKind::PaymentIntentSucceeded(intent) => {
            intent_succeeded(store, api, intent, now).await?
        }
        StripeEventKind::PaymentIntentFailed(intent) => intent_failed(store, intent, now).await?,
        StripeEventKind::ChargeRefunded(charge) => charge_refunded(store, charge, now).await?,
        StripeEventKind::Other => WebhookOutcome::Ignored,
    };
    store
        .remember_stripe_event(&event.id, &event.event_type, now)
        .await?;
    tracing::info!(stripe_event = %event.id, event_type = %event.event_type, ?outcome, "Stripe event handled");
    Ok(outcome)
}

async fn intent_succeeded<S: ChargesStore, A: StripeApi>(
    store: &S,
    api: &A,
    intent: &IntentObject,
    now: OffsetDateTime,
) -> Result<WebhookOutcome, ChargeError> {
    let Some(order) = intent.order() else {
        tracing::info!(intent_id = %intent.id, "PaymentIntent without our order metadata; ignored");
        return Ok(WebhookOutcome::Ignored);
    };
    match store.charge(order.order_id).await? {
        None => {
            // The consumer has not recorded it (it crashed after Stripe
            // answered, or is still on its way): record it now; the
            // consumer's retry will find it.
            settle_card_success(store, api, &order, &intent.id, now).await?;
        }
        Some(record) if record.status == ChargeStatus::Failed => {
            // Money taken for an order we failed (and so cancelled): it must
            // go back.
            tracing::error!(order_id = %order.order_id, intent_id = %intent.id, "Stripe charged an order recorded as failed; refunding");
            refund_intent(api, order.order_id, &intent.id).await?;
        }
        Some(_) => {}
    }
    Ok(WebhookOutcome::Processed)
}

async fn intent_failed<S: ChargesStore>(
    store: &S,
    intent: &IntentObject,
    now: OffsetDateTime,
) -> Result<WebhookOutcome, ChargeError> {
    let Some(order) = intent.order() else {
        return Ok(WebhookOutcome::Ignored);
    };
    if store.charge(order.order_id).await?.is_none() {
        let reason = match intent.failure_code.as_deref() {
            Some("payment_intent_authentication_failure" | "authentication_required") => {
                FailureReason::AuthenticationRequired
            }
            _ => FailureReason::CardDeclined,
        };
        record_failure(store, &order, reason, Some(intent.id.clone()), now).await?;
    }
    Ok(WebhookOutcome::Processed)
}

async fn charge_refunded<S: ChargesStore>(
    store: &S,
    charge: &ChargeObject,
    now: OffsetDateTime,
) -> Result<WebhookOutcome, ChargeError> {
    let Some(intent_id) = charge.payment_intent.as_deref() else {
        return Ok(WebhookOutcome::Ignored);
    };
    if !charge.refunded {
        // Partial refunds are not something orders do; leave them to a human.
        tracing::warn!(charge_id = %charge.id, intent_id, "partial refund reported by Stripe; ignored");
        return Ok(WebhookOutcome::Ignored);
    }
    let Some(order_id) = store.order_of_stripe_intent(intent_id).await? else {
        tracing::info!(
            intent_id,
            "refund of a PaymentIntent we have no record of; ignored"
        );
        return Ok(WebhookOutcome::Ignored);
    };
    let Some(record) = store.charge(order_id).await? else {
        return Ok(WebhookOutcome::Ignored);
    };
    if record.status != ChargeStatus::Succeeded {
        return Ok(WebhookOutcome::Processed);
    }
    let reference = charge
        .latest_refund
        .clone()
        .unwrap_or_else(|| charge.id.clone());
    let refunded = record.refunded(reference, to_micros(now));
    let event = refunded_event(&refunded, &CorrelationId::new())?;
    match store.record_refund(&refunded, &event, now).await {
        Ok(()) => {
            tracing::info!(%order_id, intent_id, event_id = %event.id, "refund made at Stripe recorded");
        }
        Err(ChargeStoreError::NotRefundable) => {
            existing(store, order_id).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(WebhookOutcome::Processed)
}

#[cfg(test)]
mod tests;
