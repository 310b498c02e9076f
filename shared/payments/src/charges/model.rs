use std::fmt;
use std::str::FromStr;

use contracts::events::{PaymentKind, PaymentMethod};
use contracts::{CorrelationId, Currency, OrderId, UserId};
use time::OffsetDateTime;

/// `pay_<order id, simple form>`. One payment per order, so the id follows
/// from the order: every attempt (a redelivery, the webhook) names the same
/// payment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaymentId(String);

impl PaymentId {
    pub fn for_order(order: OrderId) -> Self {
        Self(format!("pay_{}", order.as_uuid().simple()))
    }

    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeStatus {
    Succeeded,
    Failed,
    /// Succeeded, then given back (a cancellation, or a refund reported by
    /// Stripe). Final.
    Refunded,
}

impl ChargeStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChargeStatus::Succeeded => "succeeded",
            ChargeStatus::Failed => "failed",
            ChargeStatus::Refunded => "refunded",
        }
    }
}

impl FromStr for ChargeStatus {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "succeeded" => Ok(ChargeStatus::Succeeded),
            "failed" => Ok(ChargeStatus::Failed),
            "refunded" => Ok(ChargeStatus::Refunded),
            _ => Err("unknown charge status"),
        }
    }
}

/// Why a payment failed: the `reason` of `payment.failed`, machine-readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// The wallet balance is below the order amount.
    InsufficientFunds,
    /// The user has no payment account.
    NoWallet,
    /// The order is in another currency than the wallet.
    CurrencyMismatch,
    /// The card processor declined the card.
    CardDeclined,
    /// The card needs the customer to authenticate (3-D Secure), which an
    /// order placed ahead of payment cannot do.
    AuthenticationRequired,
    /// The payment method reference is unknown to the processor.
    InvalidPaymentMethod,
    /// The processor refused the request for another reason.
    ProviderRejected,
    /// The order was cancelled before it could be charged.
    OrderCancelled,
}

impl FailureReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            FailureReason::InsufficientFunds => "insufficient_funds",
            FailureReason::NoWallet => "no_wallet",
            FailureReason::CurrencyMismatch => "currency_mismatch",
            FailureReason::CardDeclined => "card_declined",
            FailureReason::AuthenticationRequired => "authentication_required",
            FailureReason::InvalidPaymentMethod => "invalid_payment_method",
            FailureReason::ProviderRejected => "provider_rejected",
            FailureReason::OrderCancelled => "order_cancelled",
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FailureReason {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "insufficient_funds" => FailureReason::InsufficientFunds,
            "no_wallet" => FailureReason::NoWallet,
            "currency_mismatch" => FailureReason::CurrencyMismatch,
            "card_declined" => FailureReason::CardDeclined,
            "authentication_required" => FailureReason::AuthenticationRequired,
            "invalid_payment_method" => FailureReason::InvalidPaymentMethod,
            "provider_rejected" => FailureReason::ProviderRejected,
            "order_cancelled" => FailureReason::OrderCancelled,
            _ => return Err("unknown failure reason"),
        })
    }
}

/// The charge of one order: its outcome, and the provider's references to
/// the money movements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRecord {
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    pub user_id: UserId,
    /// Minor units.
    pub amount: i64,
    pub currency: Currency,
    pub method: PaymentKind,
    pub status: ChargeStatus,
    /// The wallet ledger entry or the Stripe PaymentIntent; absent when the
    /// payment failed before any money could move.
    pub provider_reference: Option<String>,
    pub failure_reason: Option<FailureReason>,
    /// The wallet refund entry or the Stripe Refund.
    pub refund_reference: Option<String>,
    pub created_at: OffsetDateTime,
    pub refunded_at: Option<OffsetDateTime>,
}

impl ChargeRecord {
    pub fn succeeded(order: &OrderCharge, reference: String, at: OffsetDateTime) -> Self {
        Self {
            payment_id: PaymentId::for_order(order.order_id),
            order_id: order.order_id,
            user_id: order.user_id,
            amount: order.amount,
            currency: order.currency,
            method: order.method.kind(),
            status: ChargeStatus::Succeeded,
            provider_reference: Some(reference),
            failure_reason: None,
            refund_reference: None,
            created_at: at,
            refunded_at: None,
        }
    }

    pub fn failed(
        order: &OrderCharge,
        reason: FailureReason,
        reference: Option<String>,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            status: ChargeStatus::Failed,
            provider_reference: reference,
            failure_reason: Some(reason),
            ..Self::succeeded(order, String::new(), at)
        }
    }

    /// This charge as given back under `refund_reference` at `at`.
    pub fn refunded(mut self, refund_reference: String, at: OffsetDateTime) -> Self {
        self.status = ChargeStatus::Refunded;
        self.refund_reference = Some(refund_reference);
        self.refunded_at = Some(at);
        self
    }
}

/// An order to charge, as `inventory.reserved` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderCharge {
    pub order_id: OrderId,
    pub user_id: UserId,
    /// Minor units; positive.
    pub amount: i64,
    pub currency: Currency,
    pub method: PaymentMethod,
    pub correlation_id: CorrelationId,
}

/// The mark of an order cancelled before any charge was recorded: a charge
/// that arrives later is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub cancelled_at: OffsetDateTime,
}

/// `Idempotency-Key` of the Stripe request that charges `order`: a retry
/// of the charge is the same PaymentIntent at Stripe.
pub fn charge_idempotency_key(order: OrderId) -> String {
    format!("order-{order}-charge")
}

/// `Idempotency-Key` of the Stripe refund of `order`'s charge.
pub fn refund_idempotency_key(order: OrderId) -> String {
    format!("order-{order}-refund")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_ids_follow_from_the_order() {
        let order = OrderId::new();
        assert_eq!(PaymentId::for_order(order), PaymentId::for_order(order));
        assert_eq!(
            PaymentId::for_order(order).as_str(),
            format!("pay_{}", order.as_uuid().simple())
        );
        assert_ne!(
            PaymentId::for_order(order),
            PaymentId::for_order(OrderId::new())
        );
    }

    #[test]
    fn statuses_and_reasons_round_trip() {
        for s in [
            ChargeStatus::Succeeded,
            ChargeStatus::Failed,
            ChargeStatus::Refunded,
        ] {
            assert_eq!(s.as_str().parse::<ChargeStatus>(), Ok(s));
        }
        for r in [
            FailureReason::InsufficientFunds,
            FailureReason::NoWallet,
            FailureReason::CurrencyMismatch,
            FailureReason::CardDeclined,
            FailureReason::AuthenticationRequired,
            FailureReason::InvalidPaymentMethod,
            FailureReason::ProviderRejected,
            FailureReason::OrderCancelled,
        ] {
            assert_eq!(r.as_str().parse::<FailureReason>(), Ok(r));
        }
        assert!("nope".parse::<FailureReason>().is_err());
    }

    #[test]
    fn idempotency_keys_differ_per_order_and_operation() {
        let order = OrderId::new();
        assert_ne!(charge_idempotency_key(order), refund_idempotency_key(order));
        assert_eq!(charge_idempotency_key(order), charge_idempotency_key(order));
        assert!(charge_idempotency_key(order).len() <= 255, "Stripe's limit");
    }
}
