use contracts::{ProductId, UserId};
use time::OffsetDateTime;

use super::{MAX_ATTEMPTS, backoff};
use crate::error::OrdersError;
use crate::model::{Cart, CartItem, CartView, Listing, Quantity, to_micros};
use crate::pricing::price_cart;
use crate::store::{OrdersStore, StoreError};

async fn priced<S: OrdersStore>(store: &S, cart: &Cart) -> Result<CartView, OrdersError> {
    let products = store.products(&cart.product_ids()).await?;
    Ok(price_cart(cart, &products).map_err(anyhow::Error::from)?)
}

/// The caller's cart, priced now.
pub async fn cart<S: OrdersStore>(store: &S, user_id: UserId) -> Result<CartView, OrdersError> {
    let cart = store.cart(user_id).await?;
    priced(store, &cart).await
}

/// Puts `quantity` of a product in the cart (adding the line or replacing
/// its quantity) and answers the cart priced now.
///
/// The product must be on sale, and in the currency of the rest of the
/// cart: the currency check prices the cart as read, and the write is
/// conditioned on that read, so two racing additions in two currencies
/// cannot both land.
pub async fn set_cart_item<S: OrdersStore>(
    store: &S,
    user_id: UserId,
    product_id: ProductId,
    quantity: Quantity,
    now: OffsetDateTime,
) -> Result<CartView, OrdersError> {
    let product = store
        .product(product_id)
        .await?
        .ok_or(OrdersError::UnknownProduct(product_id))?;
    let Listing::OnSale { currency, .. } = product.listing else {
        return Err(OrdersError::UnknownProduct(product_id));
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let read = store.cart(user_id).await?;
        let mut next = read.clone();
        next.version = read.version + 1;
        match next.items.iter_mut().find(|i| i.product_id == product_id) {
            Some(item) => item.quantity = quantity,
            None => {
                if next.items.len() >= Cart::MAX_LINES {
                    return Err(OrdersError::CartFull);
                }
                next.items.push(CartItem {
                    product_id,
                    quantity,
                    added_at: to_micros(now),
                });
            }
        }
        // The rest of the cart decides its currency; the product itself
        // (whose price may have moved to another currency) does not.
        let mut rest = read.clone();
        rest.items.retain(|i| i.product_id != product_id);
        if let Some(cart_currency) = priced(store, &rest).await?.currency
            && cart_currency != currency
        {
            return Err(OrdersError::CurrencyMismatch {
                cart: cart_currency,
                product: currency,
            });
        }
        match store.save_cart(&next, read.version).await {
            Ok(()) => {
                tracing::info!(%user_id, %product_id, quantity = quantity.get(), "cart item set");
                return priced(store, &next).await;
            }
            Err(StoreError::Stale) => backoff(attempt).await,
            Err(e) => return Err(e.into()),
        }
    }
    Err(OrdersError::Busy)
}

/// Takes a product out of the cart. Removing what is not there is not an
/// error (`DELETE` is idempotent).
pub async fn remove_cart_item<S: OrdersStore>(
    store: &S,
    user_id: UserId,
    product_id: ProductId,
) -> Result<(), OrdersError> {
    for attempt in 1..=MAX_ATTEMPTS {
        let read = store.cart(user_id).await?;
        if !read.items.iter().any(|i| i.product_id == product_id) {
            return Ok(());
        }
        let mut next = read.clone();
        next.version = read.version + 1;
        next.items.retain(|i| i.product_id != product_id);
        match store.save_cart(&next, read.version).await {
            Ok(()) => {
                tracing::info!(%user_id, %product_id, "cart item removed");
                return Ok(());
            }
            Err(StoreError::Stale) => backoff(attempt).await,
            Err(e) => return Err(e.into()),
        }
    }
    Err(OrdersError::Busy)
}
