use std::collections::HashMap;
use std::future::Future;

use contracts::{OrderId, ProductId, RawEnvelope, UserId};
use time::OffsetDateTime;

use crate::model::{Cart, IdempotencyKey, IdempotencyRecord, Order, Page, ProjectedProduct};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A live idempotency record holds the checkout's key: the request (or
    /// a concurrent twin of it) was already carried out.
    #[error("idempotency key already used")]
    KeyTaken,
    /// The cart or order is no longer at the version read (another write
    /// got in first), or a concurrent transaction held it: nothing was
    /// written; read again and decide again.
    #[error("changed concurrently")]
    Stale,
    #[error("invalid pagination cursor")]
    BadCursor,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything one checkout writes, in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct PlaceOrder<'a> {
    pub order: &'a Order,
    /// The cart as read and priced: it is emptied (written at the next
    /// version) only if it is still at this version, so the order holds
    /// exactly what the customer saw priced.
    pub cart: &'a Cart,
    /// Stored only if no live record holds the key.
    pub idempotency: &'a IdempotencyRecord,
}

/// Storage port of the orders service.
pub trait OrdersStore: Send + Sync {
    /// The projection of one product (strongly consistent).
    fn product(
        &self,
        id: ProductId,
    ) -> impl Future<Output = StoreResult<Option<ProjectedProduct>>> + Send;

    /// The projections of several products; unknown ids are left out.
    fn products(
        &self,
        ids: &[ProductId],
    ) -> impl Future<Output = StoreResult<HashMap<ProductId, ProjectedProduct>>> + Send;

    /// Stores `product` unless the projection already holds this version or
    /// a newer one. `true` when it was stored.
    fn put_product(
        &self,
        product: &ProjectedProduct,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The user's cart; an empty cart at version 0 if none was ever written.
    fn cart(&self, user_id: UserId) -> impl Future<Output = StoreResult<Cart>> + Send;

    /// Stores `cart` (whose version is `expected_version + 1`) if the stored
    /// one is still at `expected_version`; `Stale` otherwise.
    fn save_cart(
        &self,
        cart: &Cart,
        expected_version: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Atomically: stores the new order, empties the cart, stores the
    /// idempotency record and records `event` in the outbox. `KeyTaken` wins
    /// over `Stale` when both apply.
    fn place_order(
        &self,
        write: PlaceOrder<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The stored record of a checkout key, live or (not yet deleted) expired.
    fn checkout_record(
        &self,
        user_id: UserId,
        key: &IdempotencyKey,
    ) -> impl Future<Output = StoreResult<Option<IdempotencyRecord>>> + Send;

    /// One order (strongly consistent).
    fn order(&self, id: OrderId) -> impl Future<Output = StoreResult<Option<Order>>> + Send;

    /// Atomically: replaces the order with `order` if it is still at
    /// `expected_version` (`Stale` otherwise) and records `event`, if any, in
    /// the outbox.
    fn update_order(
        &self,
        order: &Order,
        expected_version: u64,
        event: Option<&RawEnvelope>,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The user's orders, newest first. `cursor` is what the previous page
    /// returned; `BadCursor` if it is not a position among this user's
    /// orders. Served by an index, so an order placed a moment ago may show
    /// up a moment later.
    fn orders_of(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Page<Order>>> + Send;

    /// Ids of open orders (waiting for a saga step) placed before
    /// `placed_before`, oldest first, at most `limit`. Served by an index:
    /// callers re-read each order before acting on it.
    fn open_orders(
        &self,
        placed_before: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<OrderId>>> + Send;
}
