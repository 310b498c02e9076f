use contracts::{Currency, OrderId, ProductId};
use http_kit::{ApiError, FieldError};

use crate::model::{Cart, IllegalTransition, OrderStatus};
use crate::store::StoreError;

/// Failures of the orders use cases, mapped to HTTP once (below); the
/// consumers map them to retryable or permanent.
#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    /// Not in the projection, or deleted from the catalog.
    #[error("product {0} is not in the catalog")]
    UnknownProduct(ProductId),
    #[error("a {product} product does not fit in a {cart} cart")]
    CurrencyMismatch { cart: Currency, product: Currency },
    #[error("the cart is full")]
    CartFull,
    #[error("the cart is empty")]
    EmptyCart,
    /// Lines that cannot be bought as they are (see `GET /cart`).
    #[error("the cart has unavailable lines")]
    UnavailableLines(Vec<ProductId>),
    #[error("idempotency key reused for a different request")]
    KeyReused,
    /// Optimistic concurrency gave up: every attempt lost to another write.
    #[error("the cart or order kept changing concurrently")]
    Busy,
    #[error("order not found")]
    OrderNotFound,
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// An event names an order with another user than the order has: a
    /// producer bug, never retried into success.
    #[error("the event's user does not own order {0}")]
    WrongUser(OrderId),
    #[error("invalid cursor")]
    BadCursor,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl OrdersError {
    /// For consumers: the event will fail the same way however often it is
    /// retried (it names an order that does not exist, or not the order's
    /// owner), so it belongs in the dead-letter queue, not in more retries.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            OrdersError::OrderNotFound
                | OrdersError::WrongUser(_)
                | OrdersError::IllegalTransition(_)
        )
    }
}

impl From<StoreError> for OrdersError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => OrdersError::BadCursor,
            StoreError::Other(e) => OrdersError::Unexpected(e),
            other => OrdersError::Unexpected(anyhow::anyhow!("unexpected storage answer: {other}")),
        }
    }
}

fn transition_detail(t: IllegalTransition) -> String {
    match (t.from, t.to) {
        (OrderStatus::Shipped | OrderStatus::Delivered, OrderStatus::Cancelled) => {
            format!("The order is {} and can no longer be cancelled.", t.from)
        }
        (OrderStatus::Cancelled, _) => "The order is cancelled.".to_owned(),
        (from, to) => format!(
            "The order is {from} and cannot become {to}: orders go confirmed, then shipped, \
             then delivered."
        ),
    }
}

impl From<OrdersError> for ApiError {
    fn from(e: OrdersError) -> Self {
        match e {
            OrdersError::UnknownProduct(_) => ApiError::Validation(vec![FieldError::new(
                "product_id",
                "is not a product in the catalog (unknown or deleted; a product added a moment \
                 ago can take a few seconds to become available)",
            )]),
            OrdersError::CurrencyMismatch { cart, product } => ApiError::Conflict(format!(
                "Your cart is priced in {cart} and this product in {product}; a cart holds one \
                 currency. Check out or empty the cart first."
            )),
            OrdersError::CartFull => ApiError::Conflict(format!(
                "A cart holds at most {} different products.",
                Cart::MAX_LINES
            )),
            OrdersError::EmptyCart => ApiError::BadRequest(
                "Your cart is empty: add items with PUT /cart/items/{product_id} first.".into(),
            ),
            OrdersError::UnavailableLines(ids) => ApiError::Conflict(format!(
                "Some products in your cart can no longer be bought as they are (see \
                 `unavailable` in GET /cart); remove them and check out again: {}",
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            OrdersError::KeyReused => ApiError::Unprocessable(
                "This Idempotency-Key was already used for a checkout with a different body. \
                 Use a new key for a new checkout."
                    .into(),
            ),
            OrdersError::Busy => ApiError::Conflict(
                "Your cart or order is being changed by other requests. Retry (with the same \
                 Idempotency-Key for a checkout; it will not order twice)."
                    .into(),
            ),
            OrdersError::OrderNotFound => ApiError::NotFound,
            OrdersError::IllegalTransition(t) => ApiError::Conflict(transition_detail(t)),
            OrdersError::BadCursor => {
                ApiError::Validation(vec![FieldError::new("cursor", "is not a valid cursor")])
            }
            OrdersError::WrongUser(_) => ApiError::Internal(anyhow::Error::new(e)),
            OrdersError::Unexpected(e) => ApiError::Internal(e),
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
            (
                OrdersError::UnknownProduct(ProductId::new()),
                StatusCode::BAD_REQUEST,
            ),
            (
                OrdersError::CurrencyMismatch {
                    cart: Currency::USD,
                    product: Currency::EUR,
                },
                StatusCode::CONFLICT,
            ),
            (OrdersError::CartFull, StatusCode::CONFLICT),
            (OrdersError::EmptyCart, StatusCode::BAD_REQUEST),
            (
                OrdersError::UnavailableLines(vec![ProductId::new()]),
                StatusCode::CONFLICT,
            ),
            (OrdersError::KeyReused, StatusCode::UNPROCESSABLE_ENTITY),
            (OrdersError::Busy, StatusCode::CONFLICT),
            (OrdersError::OrderNotFound, StatusCode::NOT_FOUND),
            (
                OrdersError::IllegalTransition(IllegalTransition {
                    from: OrderStatus::Shipped,
                    to: OrderStatus::Cancelled,
                }),
                StatusCode::CONFLICT,
            ),
            (OrdersError::BadCursor, StatusCode::BAD_REQUEST),
            (
                OrdersError::WrongUser(OrderId::new()),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            (
                OrdersError::Unexpected(anyhow::anyhow!("boom")),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).status(), status);
        }
    }

    #[test]
    fn only_bad_events_are_permanent() {
        assert!(OrdersError::OrderNotFound.is_permanent());
        assert!(OrdersError::WrongUser(OrderId::new()).is_permanent());
        assert!(!OrdersError::Busy.is_permanent());
        assert!(!OrdersError::Unexpected(anyhow::anyhow!("throttled")).is_permanent());
    }

    #[test]
    fn conflicts_say_what_to_do() {
        let ApiError::Conflict(detail) = ApiError::from(OrdersError::CurrencyMismatch {
            cart: Currency::USD,
            product: Currency::EUR,
        }) else {
            panic!("conflict expected");
        };
        assert!(detail.contains("USD") && detail.contains("EUR"), "{detail}");
        let ApiError::Conflict(detail) =
            ApiError::from(OrdersError::IllegalTransition(IllegalTransition {
                from: OrderStatus::Delivered,
                to: OrderStatus::Cancelled,
            }))
        else {
            panic!("conflict expected");
        };
        assert!(detail.contains("delivered"), "{detail}");
    }
}
