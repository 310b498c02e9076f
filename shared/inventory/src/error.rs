use contracts::OrderId;
use http_kit::ApiError;

use crate::model::{ChangeRefused, LinesRejected};
use crate::store::StoreError;

/// Failures of the inventory use cases: mapped to HTTP once (below), and to
/// retryable or permanent consumer failures by [`InventoryError::is_permanent`].
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("no stock record for this sku")]
    StockNotFound,
    #[error(transparent)]
    ChangeRefused(#[from] ChangeRefused),
    /// The order cannot be reserved as sent (a malformed SKU, too many SKUs).
    #[error("order {order_id} cannot be reserved: {reason}")]
    BadOrder {
        order_id: OrderId,
        reason: LinesRejected,
    },
    /// A confirmed order that inventory never saw placed: a saga bug that
    /// retrying cannot fix and somebody must look at.
    #[error("order {0} was confirmed but inventory has no reservation for it")]
    UnknownReservation(OrderId),
    /// Every attempt lost to a concurrent write.
    #[error("the stock kept changing concurrently")]
    Busy,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl InventoryError {
    /// True when the same event would fail the same way however often it is
    /// retried: it belongs in the dead-letter queue at once.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            InventoryError::BadOrder { .. } | InventoryError::UnknownReservation(_)
        )
    }
}

impl From<StoreError> for InventoryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Other(e) => InventoryError::Unexpected(e),
            other => {
                InventoryError::Unexpected(anyhow::anyhow!("unexpected storage answer: {other}"))
            }
        }
    }
}

impl From<InventoryError> for ApiError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::StockNotFound => ApiError::NotFound,
            InventoryError::ChangeRefused(refused) => ApiError::Conflict(match refused {
                ChangeRefused::WouldGoNegative { available, delta } => format!(
                    "Only {available} units are available; adding {delta} would leave less \
                     than zero. Reserved units cannot be written off."
                ),
                ChangeRefused::AboveLimit { available, delta } => format!(
                    "Adding {delta} to the {available} available units would exceed the limit \
                     of {} units.",
                    crate::model::MAX_UNITS
                ),
            }),
            InventoryError::Busy => ApiError::Conflict(
                "The stock is being changed by other requests. Read it again and retry.".into(),
            ),
            e @ (InventoryError::BadOrder { .. }
            | InventoryError::UnknownReservation(_)
            | InventoryError::Unexpected(_)) => ApiError::Internal(anyhow::Error::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_kit::StatusCode;

    #[test]
    fn every_error_has_its_status_and_retry_class() {
        let order_id = OrderId::new();
        let cases = [
            (InventoryError::StockNotFound, StatusCode::NOT_FOUND, false),
            (
                InventoryError::ChangeRefused(ChangeRefused::WouldGoNegative {
                    available: 1,
                    delta: -2,
                }),
                StatusCode::CONFLICT,
                false,
            ),
            (
                InventoryError::ChangeRefused(ChangeRefused::AboveLimit {
                    available: 1,
                    delta: 2,
                }),
                StatusCode::CONFLICT,
                false,
            ),
            (InventoryError::Busy, StatusCode::CONFLICT, false),
            (
                InventoryError::BadOrder {
                    order_id,
                    reason: LinesRejected::TooManySkus { count: 60 },
                },
                StatusCode::INTERNAL_SERVER_ERROR,
                true,
            ),
            (
                InventoryError::UnknownReservation(order_id),
                StatusCode::INTERNAL_SERVER_ERROR,
                true,
            ),
            (
                InventoryError::Unexpected(anyhow::anyhow!("boom")),
                StatusCode::INTERNAL_SERVER_ERROR,
                false,
            ),
        ];
        for (error, status, permanent) in cases {
            assert_eq!(error.is_permanent(), permanent, "{error}");
            assert_eq!(ApiError::from(error).status(), status);
        }
    }
}
