use contracts::Currency;
use http_kit::{ApiError, FieldError};

use crate::store::StoreError;

/// Failures of the payments use cases, mapped to HTTP once (below).
#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    /// Accounts are opened from `user.registered`, moments after sign-up.
    #[error("the payment account does not exist yet")]
    AccountNotReady,
    #[error("payment account not found")]
    AccountNotFound,
    #[error("deposit in {requested} into a {wallet} wallet")]
    CurrencyMismatch {
        wallet: Currency,
        requested: Currency,
    },
    #[error("idempotency key reused for a different request")]
    KeyReused,
    /// Optimistic concurrency gave up: every attempt lost to another write.
    #[error("the wallet kept changing concurrently")]
    Busy,
    #[error("invalid cursor")]
    BadCursor,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for PaymentsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => PaymentsError::BadCursor,
            StoreError::Other(e) => PaymentsError::Unexpected(e),
            other => {
                PaymentsError::Unexpected(anyhow::anyhow!("unexpected storage answer: {other}"))
            }
        }
    }
}

impl From<PaymentsError> for ApiError {
    fn from(e: PaymentsError) -> Self {
        match e {
            PaymentsError::AccountNotReady => ApiError::Conflict(
                "Your wallet is not ready yet: it is opened a few moments after registration. \
                 Retry shortly with the same Idempotency-Key."
                    .into(),
            ),
            PaymentsError::AccountNotFound => ApiError::NotFound,
            PaymentsError::CurrencyMismatch { wallet, .. } => {
                ApiError::Validation(vec![FieldError::new(
                    "currency",
                    format!("must be {wallet}, the currency of your wallet"),
                )])
            }
            PaymentsError::KeyReused => ApiError::Unprocessable(
                "This Idempotency-Key was already used for a deposit with a different amount, \
                 currency or description. Use a new key for a new deposit."
                    .into(),
            ),
            PaymentsError::Busy => ApiError::Conflict(
                "The wallet is being updated by other requests. Retry with the same \
                 Idempotency-Key; it will not be credited twice."
                    .into(),
            ),
            PaymentsError::BadCursor => {
                ApiError::Validation(vec![FieldError::new("cursor", "is not a valid cursor")])
            }
            PaymentsError::Unexpected(e) => ApiError::Internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_kit::StatusCode;

    #[test]
    fn every_error_has_its_status() {
        let cases = [
            (PaymentsError::AccountNotReady, StatusCode::CONFLICT),
            (PaymentsError::AccountNotFound, StatusCode::NOT_FOUND),
            (
                PaymentsError::CurrencyMismatch {
                    wallet: Currency::USD,
                    requested: Currency::EUR,
                },
                StatusCode::BAD_REQUEST,
            ),
            (PaymentsError::KeyReused, StatusCode::UNPROCESSABLE_ENTITY),
            (PaymentsError::Busy, StatusCode::CONFLICT),
            (PaymentsError::BadCursor, StatusCode::BAD_REQUEST),
            (
                PaymentsError::Unexpected(anyhow::anyhow!("boom")),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).status(), status);
        }
    }
}
