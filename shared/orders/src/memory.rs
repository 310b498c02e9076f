//! In-memory [`OrdersStore`] with the conditions of the DynamoDB one, for
//! unit tests of the use cases and handlers (including concurrent ones).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use contracts::{OrderId, ProductId, RawEnvelope, UserId};
use time::OffsetDateTime;

use crate::cursor;
use crate::keys::{
    ORDER_SK, checkout_idempotency_pk, open_sk, order_pk, user_orders_pk, user_orders_sk,
};
use crate::model::{Cart, IdempotencyKey, IdempotencyRecord, Order, Page, ProjectedProduct};
use crate::store::{OrdersStore, PlaceOrder, StoreError, StoreResult};

#[derive(Default)]
struct State {
    products: HashMap<ProductId, ProjectedProduct>,
    carts: HashMap<UserId, Cart>,
    orders: HashMap<OrderId, Order>,
    idempotency: HashMap<String, IdempotencyRecord>,
    outbox: Vec<RawEnvelope>,
}

/// Clones share one state, like handles on one table.
#[derive(Default, Clone)]
pub struct InMemoryOrdersStore {
    state: Arc<Mutex<State>>,
}

/// Every call yields once before touching the state, as a network round trip
/// would: concurrent tasks then interleave between a read and the write that
/// depends on it, which is what the write conditions exist for.
async fn round_trip() {
    tokio::task::yield_now().await;
}

fn format_error(e: time::error::Format) -> StoreError {
    StoreError::Other(e.into())
}

impl InMemoryOrdersStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Events recorded for publication, in order.
    pub fn outbox(&self) -> Vec<RawEnvelope> {
        self.state().outbox.clone()
    }

    /// Every stored order, across users.
    pub fn all_orders(&self) -> Vec<Order> {
        self.state().orders.values().cloned().collect()
    }

    /// Puts a product in the projection as is (for tests that need a
    /// catalog).
    pub fn add_product(&self, product: ProjectedProduct) {
        self.state().products.insert(product.product_id, product);
    }

    /// Replaces an order as is, bypassing the conditions: for tests that
    /// need an order in a given state or of a given age.
    pub fn force_order(&self, order: Order) {
        self.state().orders.insert(order.id, order);
    }
}

impl OrdersStore for InMemoryOrdersStore {
    async fn product(&self, id: ProductId) -> StoreResult<Option<ProjectedProduct>> {
        round_trip().await;
        Ok(self.state().products.get(&id).cloned())
    }

    async fn products(
        &self,
        ids: &[ProductId],
    ) -> StoreResult<HashMap<ProductId, ProjectedProduct>> {
        round_trip().await;
        let s = self.state();
        Ok(ids
            .iter()
            .filter_map(|id| s.products.get(id).map(|p| (*id, p.clone())))
            .collect())
    }

    async fn put_product(&self, product: &ProjectedProduct) -> StoreResult<bool> {
        round_trip().await;
        let mut s = self.state();
        if s.products
            .get(&product.product_id)
            .is_some_and(|p| p.version >= product.version)
        {
            return Ok(false);
        }
        s.products.insert(product.product_id, product.clone());
        Ok(true)
    }

    async fn cart(&self, user_id: UserId) -> StoreResult<Cart> {
        round_trip().await;
        Ok(self
            .state()
            .carts
            .get(&user_id)
            .cloned()
            .unwrap_or_else(|| Cart::empty(user_id)))
    }

    async fn save_cart(&self, cart: &Cart, expected_version: u64) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        let current = s.carts.get(&cart.user_id).map_or(0, |c| c.version);
        if current != expected_version {
            return Err(StoreError::Stale);
        }
        s.carts.insert(cart.user_id, cart.clone());
        Ok(())
    }

    async fn place_order(
        &self,
        write: PlaceOrder<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let PlaceOrder {
            order,
            cart,
            idempotency,
        } = write;
        let key_pk = checkout_idempotency_pk(idempotency.user_id, &idempotency.key);
        let mut s = self.state();
        // The conditions of the DynamoDB transaction, evaluated together.
        let key_taken = s.idempotency.get(&key_pk).is_some_and(|r| r.is_live(now));
        let cart_unchanged = s.carts.get(&cart.user_id).map_or(0, |c| c.version) == cart.version;
        let order_new = !s.orders.contains_key(&order.id);
        let event_new = !s.outbox.iter().any(|e| e.id == event.id);
        if key_taken {
            return Err(StoreError::KeyTaken);
        }
        if !(cart_unchanged && order_new && event_new) {
            return Err(StoreError::Stale);
        }
        s.orders.insert(order.id, order.clone());
        let emptied = Cart {
            user_id: cart.user_id,
            items: Vec::new(),
            version: cart.version + 1,
        };
        s.carts.insert(cart.user_id, emptied);
        s.idempotency.insert(key_pk, idempotency.clone());
        s.outbox.push(event.clone());
        Ok(())
    }

    async fn checkout_record(
        &self,
        user_id: UserId,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        round_trip().await;
        Ok(self
            .state()
            .idempotency
            .get(&checkout_idempotency_pk(user_id, key))
            .cloned())
    }

    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>> {
        round_trip().await;
        Ok(self.state().orders.get(&id).cloned())
    }

    async fn update_order(
        &self,
        order: &Order,
        expected_version: u64,
        event: Option<&RawEnvelope>,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        let unchanged = s
            .orders
            .get(&order.id)
            .is_some_and(|o| o.version == expected_version);
        let event_new = event.is_none_or(|ev| !s.outbox.iter().any(|e| e.id == ev.id));
        if !(unchanged && event_new) {
            return Err(StoreError::Stale);
        }
        s.orders.insert(order.id, order.clone());
        s.outbox.extend(event.cloned());
        Ok(())
    }

    async fn orders_of(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Order>> {
        round_trip().await;
        let before = cursor
            .map(|c| cursor::user_orders_position(c, user_id))
            .transpose()
            .map_err(|_| StoreError::BadCursor)?
            .and_then(|mut key| key.remove("gsi2sk"));
        let s = self.state();
        let mut keyed: Vec<(String, &Order)> = s
            .orders
            .values()
            .filter(|o| o.user_id == user_id)
            .map(|o| Ok((user_orders_sk(o.placed_at, o.id)?, o)))
            .collect::<Result<_, time::error::Format>>()
            .map_err(format_error)?;
        keyed.sort_by(|a, b| b.0.cmp(&a.0));
        let page: Vec<(String, &Order)> = keyed
            .into_iter()
            .filter(|(sk, _)| before.as_ref().is_none_or(|b| sk < b))
            .take(limit as usize)
            .collect();
        // Like DynamoDB: a full page carries a cursor even if nothing follows.
        let next_cursor = (page.len() == limit as usize)
            .then(|| page.last())
            .flatten()
            .map(|(sk, o)| {
                cursor::encode(&BTreeMap::from([
                    ("pk".to_owned(), order_pk(o.id)),
                    ("sk".to_owned(), ORDER_SK.to_owned()),
                    ("gsi2pk".to_owned(), user_orders_pk(user_id)),
                    ("gsi2sk".to_owned(), sk.clone()),
                ]))
            });
        Ok(Page {
            items: page.into_iter().map(|(_, o)| o.clone()).collect(),
            next_cursor,
        })
    }

    async fn open_orders(
        &self,
        placed_before: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OrderId>> {
        round_trip().await;
        let cutoff = crate::keys::stamp(placed_before).map_err(format_error)?;
        let s = self.state();
        let mut open: Vec<(String, OrderId)> = s
            .orders
            .values()
            .filter(|o| o.status.is_open())
            .map(|o| Ok((open_sk(o.placed_at, o.id)?, o.id)))
            .collect::<Result<_, time::error::Format>>()
            .map_err(format_error)?;
        open.sort();
        Ok(open
            .into_iter()
            .filter(|(sk, _)| *sk < cutoff)
            .take(limit as usize)
            .map(|(_, id)| id)
            .collect())
    }
}
