use contracts::events::{OrderPayment, OrderPlaced, PaymentMethod};
use contracts::{CorrelationId, OrderId, UserId};
use time::{Duration, OffsetDateTime};

use super::{MAX_ATTEMPTS, backoff, envelope};
use crate::error::OrdersError;
use crate::model::{IdempotencyKey, IdempotencyRecord, Order, OrderView};
use crate::pricing::{order_lines, price_cart};
use crate::store::{OrdersStore, PlaceOrder, StoreError};

/// How long a checkout's `Idempotency-Key` is remembered.
pub const CHECKOUT_KEY_TTL: Duration = Duration::hours(24);
/// Status of a successful checkout (the saga continues asynchronously),
/// stored with the response so a replay answers exactly like the original.
pub const CHECKOUT_ACCEPTED: u16 = 202;

/// A validated checkout request of the authenticated user.
#[derive(Debug, Clone)]
pub struct CheckoutCommand {
    pub user_id: UserId,
    pub key: IdempotencyKey,
    pub payment: PaymentMethod,
}

impl CheckoutCommand {
    /// Hash of what was asked, to tell a retry from a reused key: the
    /// request body is only the payment method, normalised by its type.
    fn payload_hash(&self) -> Result<String, OrdersError> {
        let canonical = serde_json::to_vec(&self.payment).map_err(anyhow::Error::from)?;
        Ok(platform::idempotency::payload_hash(&canonical))
    }
}

/// The answer to a checkout: the response JSON and its status, either fresh
/// or replayed from the idempotency record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutReceipt {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

/// The stored answer for this key, if the key was used: replayed for the
/// same request, refused for another.
async fn previous_answer<S: OrdersStore>(
    store: &S,
    cmd: &CheckoutCommand,
    payload_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<CheckoutReceipt>, OrdersError> {
    match store.checkout_record(cmd.user_id, &cmd.key).await? {
        Some(previous) if previous.is_live(now) => {
            if previous.payload_hash != payload_hash {
                tracing::info!(user_id = %cmd.user_id, key = %cmd.key, "idempotency key reused with another body");
                return Err(OrdersError::KeyReused);
            }
            tracing::info!(user_id = %cmd.user_id, key = %cmd.key, "checkout replayed from its idempotency record");
            Ok(Some(CheckoutReceipt {
                status: previous.status,
                body: previous.body,
                replayed: true,
            }))
        }
        _ => Ok(None),
    }
}

/// Turns the cart into a `pending` order, exactly once per idempotency key.
///
/// The key is looked up first: a retry after success finds its answer even
/// though the cart it emptied is now empty. Otherwise the cart is priced
/// from the projection and one transaction writes the order, the emptied
/// cart (conditioned on the version priced), the idempotency record (only
/// if the key is free) and `order.placed`. Concurrent requests with one key
/// place one order: the losers find the key taken and replay the winner's
/// answer. Concurrent checkouts with different keys place one order too:
/// the cart they priced is gone, and the retry finds it empty.
pub async fn checkout<S: OrdersStore>(
    store: &S,
    cmd: CheckoutCommand,
    correlation_id: CorrelationId,
    now: OffsetDateTime,
) -> Result<CheckoutReceipt, OrdersError> {
    let payload_hash = cmd.payload_hash()?;
    let order_id = OrderId::new();
    for attempt in 1..=MAX_ATTEMPTS {
        if let Some(receipt) = previous_answer(store, &cmd, &payload_hash, now).await? {
            return Ok(receipt);
        }
        let cart = store.cart(cmd.user_id).await?;
        if cart.items.is_empty() {
            return Err(OrdersError::EmptyCart);
        }
        let products = store.products(&cart.product_ids()).await?;
        let view = price_cart(&cart, &products).map_err(anyhow::Error::from)?;
        if !view.unavailable.is_empty() {
            return Err(OrdersError::UnavailableLines(
                view.unavailable.iter().map(|u| u.product_id).collect(),
            ));
        }
        let priced = order_lines(&view).ok_or(OrdersError::EmptyCart)?;
        let order = Order::place(
            order_id,
            cmd.user_id,
            priced,
            cmd.payment.clone(),
            correlation_id.clone(),
            now,
        );
        let body = serde_json::to_string(&OrderView::from(&order)).map_err(anyhow::Error::from)?;
        let record = IdempotencyRecord {
            user_id: cmd.user_id,
            key: cmd.key.clone(),
            payload_hash: payload_hash.clone(),
            status: CHECKOUT_ACCEPTED,
            body: body.clone(),
            expires_at: now + CHECKOUT_KEY_TTL,
        };
        let event = envelope(
            OrderPlaced {
                order_id,
                user_id: cmd.user_id,
                lines: order.lines.clone(),
                payment: OrderPayment {
                    amount: order.total,
                    currency: order.currency,
                    method: order.payment.clone(),
                },
                placed_at: order.placed_at,
            },
            correlation_id.clone(),
            order.placed_at,
        )?;
        let write = PlaceOrder {
            order: &order,
            cart: &cart,
            idempotency: &record,
        };
        match store.place_order(write, &event, now).await {
            Ok(()) => {
                tracing::info!(
                    user_id = %cmd.user_id,
                    %order_id,
                    total = order.total,
                    currency = %order.currency,
                    lines = order.lines.len(),
                    attempt,
                    event_id = %event.id,
                    "order placed"
                );
                return Ok(CheckoutReceipt {
                    status: CHECKOUT_ACCEPTED,
                    body,
                    replayed: false,
                });
            }
            // The next round reads the record that holds the key.
            Err(StoreError::KeyTaken) => {}
            Err(StoreError::Stale) => {
                tracing::debug!(attempt, "cart changed since it was priced; pricing again");
                backoff(attempt).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    tracing::warn!(user_id = %cmd.user_id, "checkout gave up after {MAX_ATTEMPTS} conflicting attempts");
    Err(OrdersError::Busy)
}
