use std::collections::HashMap;

use contracts::events::{
    CancelReason, InventoryReservationFailed, InventoryReserved, OrderCancelled, OrderConfirmed,
    OrderDelivered, OrderPayment, OrderPlaced, OrderShipped, PaymentFailed, PaymentKind,
    PaymentMethod, PaymentSucceeded, ShortLine,
};
use contracts::{Currency, ProductId, UserId};
use futures::future::join_all;
use time::Duration;

use super::*;
use crate::memory::InMemoryOrdersStore;
use crate::model::{
    Cart, IdempotencyKey, IdempotencyRecord, Listing, OrderStatus, Page, ProjectedProduct, Quantity,
};
use crate::store::{PlaceOrder, StoreResult};

// ---------------------------------------------------------------- fixtures

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).expect("quantity")
}

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::parse(k).expect("key")
}

async fn listed(
    store: &InMemoryOrdersStore,
    version: u64,
    id: ProductId,
    price: i64,
    currency: Currency,
) {
    let stored = store
        .put_product(&ProjectedProduct {
            product_id: id,
            version,
            sku: format!("SKU-{}", &id.to_string()[..8]),
            listing: Listing::OnSale {
                name: format!("Product {price}"),
                price,
                currency,
            },
        })
        .await
        .expect("stored");
    assert!(stored);
}

async fn product(store: &InMemoryOrdersStore, price: i64, currency: Currency) -> ProductId {
    let id = ProductId::new();
    listed(store, 1, id, price, currency).await;
    id
}

async fn fill(store: &InMemoryOrdersStore, user: UserId, lines: &[(ProductId, u32)]) {
    for (id, n) in lines {
        set_cart_item(store, user, *id, qty(*n), now())
            .await
            .expect("added");
    }
}

fn command(user: UserId, k: &str, payment: PaymentMethod) -> CheckoutCommand {
    CheckoutCommand {
        user_id: user,
        key: key(k),
        payment,
    }
}

async fn place(store: &InMemoryOrdersStore, user: UserId, k: &str) -> CheckoutReceipt {
    checkout(
        store,
        command(user, k, PaymentMethod::Wallet),
        CorrelationId::new(),
        now(),
    )
    .await
    .expect("checked out")
}

fn order_id(receipt: &CheckoutReceipt) -> OrderId {
    let body: serde_json::Value = serde_json::from_str(&receipt.body).expect("json");
    body["id"].as_str().expect("id").parse().expect("order id")
}

/// A user with a one-line order placed (2 x 1000 USD, paid from the wallet).
async fn placed_order(store: &InMemoryOrdersStore) -> (UserId, OrderId) {
    let user = UserId::new();
    let p = product(store, 1_000, Currency::USD).await;
    fill(store, user, &[(p, 2)]).await;
    let receipt = place(store, user, "k").await;
    (user, order_id(&receipt))
}

async fn order(store: &InMemoryOrdersStore, id: OrderId) -> Order {
    store.order(id).await.expect("read").expect("exists")
}

fn statuses(order: &Order) -> Vec<OrderStatus> {
    order.history.iter().map(|c| c.status).collect()
}

fn events_of<T: DomainEvent>(store: &InMemoryOrdersStore) -> Vec<EventEnvelope<T>> {
    store
        .outbox()
        .into_iter()
        .filter(|e| e.event_type == T::TYPE)
        .map(|e| e.decode().expect("decodes"))
        .collect()
}

fn reserved(order: &Order) -> EventEnvelope<InventoryReserved> {
    EventEnvelope::new(
        InventoryReserved {
            order_id: order.id,
            user_id: order.user_id,
            lines: order.lines.clone(),
            payment: OrderPayment {
                amount: order.total,
                currency: order.currency,
                method: order.payment.clone(),
            },
            reserved_at: now(),
        },
        CorrelationId::new(),
        now(),
    )
}

fn reservation_failed(order: &Order) -> EventEnvelope<InventoryReservationFailed> {
    EventEnvelope::new(
        InventoryReservationFailed {
            order_id: order.id,
            user_id: order.user_id,
            short_lines: vec![ShortLine {
                product_id: order.lines[0].product_id,
                sku: order.lines[0].sku.clone(),
                requested: order.lines[0].quantity,
                available: 0,
            }],
            failed_at: now(),
        },
        CorrelationId::new(),
        now(),
    )
}

fn payment_succeeded(order: &Order) -> EventEnvelope<PaymentSucceeded> {
    EventEnvelope::new(
        PaymentSucceeded {
            payment_id: "pay_1".into(),
            order_id: order.id,
            user_id: order.user_id,
            amount: order.total,
            currency: order.currency,
            method: PaymentKind::Wallet,
            provider_reference: "txn_1".into(),
            succeeded_at: now(),
        },
        CorrelationId::new(),
        now(),
    )
}

fn payment_failed(order: &Order) -> EventEnvelope<PaymentFailed> {
    EventEnvelope::new(
        PaymentFailed {
            order_id: order.id,
            user_id: order.user_id,
            amount: order.total,
            currency: order.currency,
            method: PaymentKind::Wallet,
            reason: "insufficient_funds".into(),
            failed_at: now(),
        },
        CorrelationId::new(),
        now(),
    )
}

/// An order in `status`, reached through the real use cases.
async fn order_in(store: &InMemoryOrdersStore, status: OrderStatus) -> Order {
    let (user, id) = placed_order(store).await;
    let o = order(store, id).await;
    match status {
        OrderStatus::Pending => {}
        OrderStatus::Reserved => {
            on_inventory_reserved(store, &reserved(&o), now())
                .await
                .expect("reserved");
        }
        OrderStatus::Confirmed | OrderStatus::Shipped | OrderStatus::Delivered => {
            on_payment_succeeded(store, &payment_succeeded(&o), now())
                .await
                .expect("confirmed");
            if status != OrderStatus::Confirmed {
                set_fulfilment_status(
                    store,
                    id,
                    FulfilmentStatus::Shipped,
                    CorrelationId::new(),
                    now(),
                )
                .await
                .expect("shipped");
            }
            if status == OrderStatus::Delivered {
                set_fulfilment_status(
                    store,
                    id,
                    FulfilmentStatus::Delivered,
                    CorrelationId::new(),
                    now(),
                )
                .await
                .expect("delivered");
            }
        }
        OrderStatus::Cancelled => {
            cancel_by_customer(store, user, id, CorrelationId::new(), now())
                .await
                .expect("cancelled");
        }
        OrderStatus::Paid => {
            unreachable!("paid is never stored: it is confirmed in the same write")
        }
    }
    let o = order(store, id).await;
    assert_eq!(o.status, status);
    o
}

// ---------------------------------------------------------------- cart

#[tokio::test]
async fn cart_lines_are_added_replaced_and_removed() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let a = product(&store, 250, Currency::EUR).await;
    let b = product(&store, 1_000, Currency::EUR).await;

    let view = set_cart_item(&store, user, a, qty(2), now())
        .await
        .expect("a");
    assert_eq!(view.total, 500);
    let view = set_cart_item(&store, user, b, qty(1), now())
        .await
        .expect("b");
    assert_eq!(view.total, 1_500);
    assert_eq!(view.currency, Some(Currency::EUR));
    // Putting a product again sets its quantity; it does not add a line.
    let view = set_cart_item(&store, user, a, qty(5), now())
        .await
        .expect("a again");
    assert_eq!(view.items.len(), 2);
    assert_eq!(
        view.items[0].product_id, a,
        "lines keep the order they were added in"
    );
    assert_eq!(view.items[0].quantity, 5);
    assert_eq!(view.total, 5 * 250 + 1_000);

    remove_cart_item(&store, user, a).await.expect("removed");
    remove_cart_item(&store, user, a)
        .await
        .expect("removing twice is fine");
    remove_cart_item(&store, user, ProductId::new())
        .await
        .expect("removing what was never there is fine");
    let view = cart(&store, user).await.expect("cart");
    assert_eq!(view.items.len(), 1);
    assert_eq!(view.total, 1_000);

    // Someone else's cart is untouched and empty.
    let other = cart(&store, UserId::new()).await.expect("cart");
    assert!(other.items.is_empty());
    assert_eq!(other.currency, None);
}

#[tokio::test]
async fn only_products_on_sale_go_in_a_cart() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let unknown = ProductId::new();
    assert!(matches!(
        set_cart_item(&store, user, unknown, qty(1), now()).await,
        Err(OrdersError::UnknownProduct(id)) if id == unknown
    ));
    let gone = product(&store, 100, Currency::USD).await;
    project_product(
        &store,
        ProjectedProduct {
            product_id: gone,
            version: 2,
            sku: "GONE".into(),
            listing: Listing::Deleted,
        },
    )
    .await
    .expect("deleted");
    assert!(matches!(
        set_cart_item(&store, user, gone, qty(1), now()).await,
        Err(OrdersError::UnknownProduct(_))
    ));
    assert_eq!(
        store.cart(user).await.expect("cart").version,
        0,
        "nothing written"
    );
}

#[tokio::test]
async fn a_cart_holds_one_currency() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let usd = product(&store, 100, Currency::USD).await;
    let eur = product(&store, 100, Currency::EUR).await;
    fill(&store, user, &[(usd, 1)]).await;

    match set_cart_item(&store, user, eur, qty(1), now()).await {
        Err(OrdersError::CurrencyMismatch { cart, product }) => {
            assert_eq!((cart, product), (Currency::USD, Currency::EUR));
        }
        other => panic!("expected a currency conflict, got {other:?}"),
    }
    // The only line of a cart can change quantity whatever its currency...
    set_cart_item(&store, user, usd, qty(3), now())
        .await
        .expect("same product");
    // ...and once the cart is empty, any currency goes.
    remove_cart_item(&store, user, usd).await.expect("removed");
    let view = set_cart_item(&store, user, eur, qty(1), now())
        .await
        .expect("eur");
    assert_eq!(view.currency, Some(Currency::EUR));
}

#[tokio::test]
async fn racing_additions_in_two_currencies_cannot_both_land() {
    for _ in 0..20 {
        let store = InMemoryOrdersStore::new();
        let user = UserId::new();
        let usd = product(&store, 100, Currency::USD).await;
        let eur = product(&store, 100, Currency::EUR).await;
        let (a, b) = tokio::join!(
            set_cart_item(&store, user, usd, qty(1), now()),
            set_cart_item(&store, user, eur, qty(1), now()),
        );
        assert_eq!(
            [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
            1,
            "{a:?} {b:?}"
        );
        let view = cart(&store, user).await.expect("cart");
        assert_eq!(view.items.len(), 1);
        assert!(view.unavailable.is_empty());
    }
}

#[tokio::test]
async fn racing_additions_of_different_products_all_land() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let mut ids = Vec::new();
    for price in 1..=8 {
        ids.push(product(&store, price, Currency::USD).await);
    }
    let results = join_all(
        ids.iter()
            .map(|id| set_cart_item(&store, user, *id, qty(1), now())),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let view = cart(&store, user).await.expect("cart");
    assert_eq!(view.items.len(), 8);
    assert_eq!(view.total, (1..=8).sum::<i64>());
}

#[tokio::test]
async fn a_cart_holds_at_most_fifty_products() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    for _ in 0..Cart::MAX_LINES {
        let p = product(&store, 1, Currency::USD).await;
        fill(&store, user, &[(p, 1)]).await;
    }
    let one_more = product(&store, 1, Currency::USD).await;
    assert!(matches!(
        set_cart_item(&store, user, one_more, qty(1), now()).await,
        Err(OrdersError::CartFull)
    ));
}

#[tokio::test]
async fn the_cart_is_priced_at_read_time() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let p = product(&store, 1_000, Currency::USD).await;
    fill(&store, user, &[(p, 3)]).await;
    listed(&store, 2, p, 800, Currency::USD).await;

    let view = cart(&store, user).await.expect("cart");
    assert_eq!(view.items[0].unit_price, 800);
    assert_eq!(view.total, 2_400);

    // Deleted from the catalog: still in the cart, but set apart.
    project_product(
        &store,
        ProjectedProduct {
            product_id: p,
            version: 3,
            sku: "X".into(),
            listing: Listing::Deleted,
        },
    )
    .await
    .expect("deleted");
    let view = cart(&store, user).await.expect("cart");
    assert!(view.items.is_empty());
    assert_eq!(view.unavailable.len(), 1);
    assert_eq!(view.unavailable[0].quantity, 3);
}

// ---------------------------------------------------------------- checkout

#[tokio::test]
async fn checkout_places_a_pending_order_empties_the_cart_and_announces_it() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let a = product(&store, 1_250, Currency::USD).await;
    let b = product(&store, 99, Currency::USD).await;
    fill(&store, user, &[(a, 2), (b, 1)]).await;
    // The price at checkout counts, not the price when the item was added.
    listed(&store, 2, a, 1_000, Currency::USD).await;
    let correlation = CorrelationId::new();

    let receipt = checkout(
        &store,
        command(
            user,
            "k1",
            PaymentMethod::Card {
                payment_method: "pm_card_visa".into(),
            },
        ),
        correlation.clone(),
        now(),
    )
    .await
    .expect("checked out");

    assert_eq!(receipt.status, 202);
    assert!(!receipt.replayed);
    let body: serde_json::Value = serde_json::from_str(&receipt.body).expect("json");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["total"], 2_099);
    assert_eq!(body["currency"], "USD");
    assert_eq!(body["user_id"], user.to_string());
    assert_eq!(
        body["payment"],
        serde_json::json!({"type": "card", "payment_method": "pm_card_visa"})
    );
    assert_eq!(body["items"][0]["unit_price"], 1_000);
    assert_eq!(body["items"][0]["line_total"], 2_000);
    assert_eq!(body["history"][0]["status"], "pending");
    assert!(body.get("cancel_reason").is_none());

    let id = order_id(&receipt);
    let stored = order(&store, id).await;
    assert_eq!(stored.status, OrderStatus::Pending);
    assert_eq!(stored.correlation_id, correlation);
    assert!(cart(&store, user).await.expect("cart").items.is_empty());

    let placed = events_of::<OrderPlaced>(&store);
    assert_eq!(placed.len(), 1);
    let event = &placed[0];
    assert_eq!(event.correlation_id, correlation);
    assert_eq!(event.subject, id.to_string());
    assert_eq!(event.data.order_id, id);
    assert_eq!(event.data.user_id, user);
    assert_eq!(event.data.lines, stored.lines);
    assert_eq!(event.data.payment.amount, 2_099);
    assert_eq!(event.data.payment.currency, Currency::USD);
    assert_eq!(event.data.payment.method, stored.payment);
}

#[tokio::test]
async fn an_empty_cart_cannot_be_checked_out() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    assert!(matches!(
        checkout(
            &store,
            command(user, "k", PaymentMethod::Wallet),
            CorrelationId::new(),
            now()
        )
        .await,
        Err(OrdersError::EmptyCart)
    ));
    // Emptied by hand: still empty.
    let p = product(&store, 5, Currency::USD).await;
    fill(&store, user, &[(p, 1)]).await;
    remove_cart_item(&store, user, p).await.expect("removed");
    assert!(matches!(
        checkout(
            &store,
            command(user, "k", PaymentMethod::Wallet),
            CorrelationId::new(),
            now()
        )
        .await,
        Err(OrdersError::EmptyCart)
    ));
    assert!(store.all_orders().is_empty());
    assert!(store.outbox().is_empty());
}

#[tokio::test]
async fn a_cart_with_unavailable_lines_is_refused_until_they_are_removed() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let ok = product(&store, 5, Currency::USD).await;
    let gone = product(&store, 7, Currency::USD).await;
    fill(&store, user, &[(ok, 1), (gone, 1)]).await;
    project_product(
        &store,
        ProjectedProduct {
            product_id: gone,
            version: 2,
            sku: "GONE".into(),
            listing: Listing::Deleted,
        },
    )
    .await
    .expect("deleted");

    match checkout(
        &store,
        command(user, "k", PaymentMethod::Wallet),
        CorrelationId::new(),
        now(),
    )
    .await
    {
        Err(OrdersError::UnavailableLines(ids)) => assert_eq!(ids, vec![gone]),
        other => panic!("expected unavailable lines, got {other:?}"),
    }
    assert!(store.all_orders().is_empty());

    remove_cart_item(&store, user, gone).await.expect("removed");
    let receipt = place(&store, user, "k").await;
    assert_eq!(order(&store, order_id(&receipt)).await.total, 5);
}

#[tokio::test]
async fn the_same_key_and_body_replay_the_first_answer_and_another_body_is_refused() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let p = product(&store, 300, Currency::USD).await;
    fill(&store, user, &[(p, 1)]).await;

    let first = place(&store, user, "same").await;
    // The cart is empty now; the retry must still get its answer.
    let again = place(&store, user, "same").await;
    assert!(again.replayed);
    assert_eq!(again.status, first.status);
    assert_eq!(again.body, first.body, "byte-for-byte the original answer");

    let card = PaymentMethod::Card {
        payment_method: "pm_card_visa".into(),
    };
    assert!(matches!(
        checkout(
            &store,
            command(user, "same", card),
            CorrelationId::new(),
            now()
        )
        .await,
        Err(OrdersError::KeyReused)
    ));
    assert_eq!(store.all_orders().len(), 1);
    assert_eq!(events_of::<OrderPlaced>(&store).len(), 1);

    // Keys belong to their user: someone else's "same" is a new checkout.
    let other = UserId::new();
    fill(&store, other, &[(p, 2)]).await;
    let theirs = place(&store, other, "same").await;
    assert!(!theirs.replayed);
    assert_ne!(order_id(&theirs), order_id(&first));
}

#[tokio::test]
async fn an_expired_key_is_free_again() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let p = product(&store, 300, Currency::USD).await;
    fill(&store, user, &[(p, 1)]).await;
    let long_ago = now() - CHECKOUT_KEY_TTL - Duration::hours(1);
    checkout(
        &store,
        command(user, "k", PaymentMethod::Wallet),
        CorrelationId::new(),
        long_ago,
    )
    .await
    .expect("first");
    fill(&store, user, &[(p, 1)]).await;
    let second = place(&store, user, "k").await;
    assert!(!second.replayed);
    assert_eq!(store.all_orders().len(), 2);
}

#[tokio::test]
async fn concurrent_checkouts_with_one_key_place_one_order() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let p = product(&store, 300, Currency::USD).await;
    fill(&store, user, &[(p, 4)]).await;

    let receipts = join_all((0..10).map(|_| {
        checkout(
            &store,
            command(user, "one-key", PaymentMethod::Wallet),
            CorrelationId::new(),
            now(),
        )
    }))
    .await;

    let receipts: Vec<CheckoutReceipt> = receipts
        .into_iter()
        .map(|r| r.expect("every request gets the answer"))
        .collect();
    assert_eq!(receipts.iter().filter(|r| !r.replayed).count(), 1);
    assert!(receipts.iter().all(|r| r.body == receipts[0].body));
    assert_eq!(store.all_orders().len(), 1);
    assert_eq!(events_of::<OrderPlaced>(&store).len(), 1);
}

#[tokio::test]
async fn concurrent_checkouts_with_different_keys_place_one_order_per_cart() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let p = product(&store, 300, Currency::USD).await;
    fill(&store, user, &[(p, 4)]).await;

    let results = join_all((0..6).map(|i| {
        checkout(
            &store,
            command(user, &format!("key-{i}"), PaymentMethod::Wallet),
            CorrelationId::new(),
            now(),
        )
    }))
    .await;

    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, OrdersError::EmptyCart)),
        "{results:?}"
    );
    assert_eq!(store.all_orders().len(), 1);
}

// ---------------------------------------------------------------- reading orders

#[tokio::test]
async fn an_order_is_visible_to_its_owner_and_admins_only() {
    let store = InMemoryOrdersStore::new();
    let (user, id) = placed_order(&store).await;
    let owner = Viewer {
        user_id: user,
        is_admin: false,
    };
    let stranger = Viewer {
        user_id: UserId::new(),
        is_admin: false,
    };
    let admin = Viewer {
        user_id: UserId::new(),
        is_admin: true,
    };
    assert_eq!(order_for(&store, owner, id).await.expect("owner").id, id);
    assert_eq!(order_for(&store, admin, id).await.expect("admin").id, id);
    assert!(matches!(
        order_for(&store, stranger, id).await,
        Err(OrdersError::OrderNotFound)
    ));
    assert!(matches!(
        order_for(&store, owner, OrderId::new()).await,
        Err(OrdersError::OrderNotFound)
    ));
}

#[tokio::test]
async fn a_users_orders_are_listed_newest_first_in_pages() {
    let store = InMemoryOrdersStore::new();
    let user = UserId::new();
    let p = product(&store, 10, Currency::USD).await;
    let mut placed = Vec::new();
    for i in 0..5 {
        fill(&store, user, &[(p, i + 1)]).await;
        placed.push(order_id(&place(&store, user, &format!("k{i}")).await));
    }
    // Someone else's orders never show up.
    placed_order(&store).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page: Page<_> = orders_of(&store, user, cursor.as_deref(), 2)
            .await
            .expect("page");
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|o| o.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    placed.reverse();
    assert_eq!(seen, placed);

    let theirs = orders_of(&store, UserId::new(), None, 10)
        .await
        .expect("page");
    assert!(theirs.items.is_empty());
    // A cursor from someone else's listing is refused.
    let first = orders_of(&store, user, None, 1).await.expect("page");
    let cursor = first.next_cursor.expect("cursor");
    assert!(matches!(
        orders_of(&store, UserId::new(), Some(&cursor), 1).await,
        Err(OrdersError::BadCursor)
    ));
}

// ---------------------------------------------------------------- customer cancel

#[tokio::test]
async fn the_owner_cancels_before_shipping_and_the_cancellation_is_announced() {
    for status in [
        OrderStatus::Pending,
        OrderStatus::Reserved,
        OrderStatus::Confirmed,
    ] {
        let store = InMemoryOrdersStore::new();
        let o = order_in(&store, status).await;
        let correlation = CorrelationId::new();

        let view = cancel_by_customer(&store, o.user_id, o.id, correlation.clone(), now())
            .await
            .expect("cancelled");

        assert_eq!(view.status, OrderStatus::Cancelled);
        assert_eq!(view.cancel_reason, Some(CancelReason::CustomerRequest));
        let last = view.history.last().expect("history");
        assert_eq!(last.status, OrderStatus::Cancelled);
        assert_eq!(last.reason, Some(CancelReason::CustomerRequest));
        let cancelled = events_of::<OrderCancelled>(&store);
        assert_eq!(cancelled.len(), 1, "from {status}");
        assert_eq!(cancelled[0].correlation_id, correlation);
        assert_eq!(cancelled[0].data.reason, CancelReason::CustomerRequest);
        assert_eq!(cancelled[0].data.lines, o.lines);
        assert_eq!(cancelled[0].data.user_id, o.user_id);
    }
}

#[tokio::test]
async fn shipped_delivered_and_cancelled_orders_cannot_be_cancelled() {
    for status in [
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ] {
        let store = InMemoryOrdersStore::new();
        let o = order_in(&store, status).await;
        let events_before = store.outbox().len();
        match cancel_by_customer(&store, o.user_id, o.id, CorrelationId::new(), now()).await {
            Err(OrdersError::IllegalTransition(t)) => {
                assert_eq!((t.from, t.to), (status, OrderStatus::Cancelled));
            }
            other => panic!("{status}: expected a conflict, got {other:?}"),
        }
        assert_eq!(order(&store, o.id).await, o, "unchanged");
        assert_eq!(store.outbox().len(), events_before);
    }
}

#[tokio::test]
async fn nobody_else_can_cancel_an_order() {
    let store = InMemoryOrdersStore::new();
    let (_, id) = placed_order(&store).await;
    let before = order(&store, id).await;
    assert!(matches!(
        cancel_by_customer(&store, UserId::new(), id, CorrelationId::new(), now()).await,
        Err(OrdersError::OrderNotFound)
    ));
    assert_eq!(order(&store, id).await, before);
    assert!(matches!(
        cancel_by_customer(
            &store,
            UserId::new(),
            OrderId::new(),
            CorrelationId::new(),
            now()
        )
        .await,
        Err(OrdersError::OrderNotFound)
    ));
}

// ---------------------------------------------------------------- admin fulfilment

#[tokio::test]
async fn confirmed_orders_are_shipped_then_delivered_with_events() {
    let store = InMemoryOrdersStore::new();
    let o = order_in(&store, OrderStatus::Confirmed).await;

    let shipped = set_fulfilment_status(
        &store,
        o.id,
        FulfilmentStatus::Shipped,
        CorrelationId::new(),
        now(),
    )
    .await
    .expect("shipped");
    assert_eq!(shipped.status, OrderStatus::Shipped);
    // Repeating the same PUT changes nothing and announces nothing.
    let again = set_fulfilment_status(
        &store,
        o.id,
        FulfilmentStatus::Shipped,
        CorrelationId::new(),
        now(),
    )
    .await
    .expect("same status");
    assert_eq!(again, shipped);
    let delivered = set_fulfilment_status(
        &store,
        o.id,
        FulfilmentStatus::Delivered,
        CorrelationId::new(),
        now(),
    )
    .await
    .expect("delivered");
    assert_eq!(delivered.status, OrderStatus::Delivered);

    assert_eq!(
        statuses(&order(&store, o.id).await),
        vec![
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::Confirmed,
            OrderStatus::Shipped,
            OrderStatus::Delivered
        ]
    );
    let shipped_events = events_of::<OrderShipped>(&store);
    assert_eq!(shipped_events.len(), 1);
    assert_eq!(shipped_events[0].data.order_id, o.id);
    assert_eq!(shipped_events[0].data.user_id, o.user_id);
    assert_eq!(events_of::<OrderDelivered>(&store).len(), 1);
}

#[tokio::test]
async fn fulfilment_refuses_every_illegal_move() {
    let cases = [
        (OrderStatus::Pending, FulfilmentStatus::Shipped),
        (OrderStatus::Pending, FulfilmentStatus::Delivered),
        (OrderStatus::Reserved, FulfilmentStatus::Shipped),
        (OrderStatus::Reserved, FulfilmentStatus::Delivered),
        (OrderStatus::Confirmed, FulfilmentStatus::Delivered),
        (OrderStatus::Delivered, FulfilmentStatus::Shipped),
        (OrderStatus::Cancelled, FulfilmentStatus::Shipped),
        (OrderStatus::Cancelled, FulfilmentStatus::Delivered),
    ];
    for (status, target) in cases {
        let store = InMemoryOrdersStore::new();
        let o = order_in(&store, status).await;
        let events_before = store.outbox().len();
        assert!(
            matches!(
                set_fulfilment_status(&store, o.id, target, CorrelationId::new(), now()).await,
                Err(OrdersError::IllegalTransition(_))
            ),
            "{status} -> {target:?}"
        );
        assert_eq!(order(&store, o.id).await, o);
        assert_eq!(store.outbox().len(), events_before);
    }
    assert!(matches!(
        set_fulfilment_status(
            &InMemoryOrdersStore::new(),
            OrderId::new(),
            FulfilmentStatus::Shipped,
            CorrelationId::new(),
            now()
        )
        .await,
        Err(OrdersError::OrderNotFound)
    ));
}

// ---------------------------------------------------------------- saga

#[tokio::test]
async fn the_happy_saga_reserves_pays_and_confirms_once() {
    let store = InMemoryOrdersStore::new();
    let (_, id) = placed_order(&store).await;
    let o = order(&store, id).await;
    let reserved_event = reserved(&o);
    let paid_event = payment_succeeded(&o);

    assert_eq!(
        on_inventory_reserved(&store, &reserved_event, now())
            .await
            .expect("reserved"),
        SagaOutcome::Applied(OrderStatus::Reserved)
    );
    assert_eq!(
        on_inventory_reserved(&store, &reserved_event, now())
            .await
            .expect("duplicate"),
        SagaOutcome::Ignored(OrderStatus::Reserved)
    );
    assert_eq!(
        on_payment_succeeded(&store, &paid_event, now())
            .await
            .expect("paid"),
        SagaOutcome::Applied(OrderStatus::Confirmed)
    );
    assert_eq!(
        on_payment_succeeded(&store, &paid_event, now())
            .await
            .expect("duplicate"),
        SagaOutcome::Ignored(OrderStatus::Confirmed)
    );

    let confirmed = order(&store, id).await;
    assert_eq!(
        statuses(&confirmed),
        vec![
            OrderStatus::Pending,
            OrderStatus::Reserved,
            OrderStatus::Paid,
            OrderStatus::Confirmed
        ]
    );
    assert!(confirmed.history.windows(2).all(|w| w[0].at < w[1].at));
    assert_eq!(confirmed.payment_id.as_deref(), Some("pay_1"));
    let events = events_of::<OrderConfirmed>(&store);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].correlation_id, paid_event.correlation_id);
    assert_eq!(events[0].data.payment_id, "pay_1");
    assert_eq!(events[0].data.amount, o.total);
    assert_eq!(events[0].data.lines, o.lines);
    assert!(events_of::<OrderCancelled>(&store).is_empty());
}

#[tokio::test]
async fn a_payment_reported_before_the_reservation_still_confirms() {
    let store = InMemoryOrdersStore::new();
    let (_, id) = placed_order(&store).await;
    let o = order(&store, id).await;

    assert_eq!(
        on_payment_succeeded(&store, &payment_succeeded(&o), now())
            .await
            .expect("paid"),
        SagaOutcome::Applied(OrderStatus::Confirmed)
    );
    // The reservation's answer arrives late: the order has moved past it.
    assert_eq!(
        on_inventory_reserved(&store, &reserved(&o), now())
            .await
            .expect("late"),
        SagaOutcome::Ignored(OrderStatus::Confirmed)
    );
    assert_eq!(
        statuses(&order(&store, id).await),
        vec![
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::Confirmed
        ]
    );
    assert_eq!(events_of::<OrderConfirmed>(&store).len(), 1);
}

#[tokio::test]
async fn a_failed_reservation_cancels_for_out_of_stock_once() {
    let store = InMemoryOrdersStore::new();
    let (_, id) = placed_order(&store).await;
    let o = order(&store, id).await;
    let failed = reservation_failed(&o);

    assert_eq!(
        on_reservation_failed(&store, &failed, now())
            .await
            .expect("cancelled"),
        SagaOutcome::Applied(OrderStatus::Cancelled)
    );
    assert_eq!(
        on_reservation_failed(&store, &failed, now())
            .await
            .expect("duplicate"),
        SagaOutcome::Ignored(OrderStatus::Cancelled)
    );
    let cancelled = order(&store, id).await;
    assert_eq!(cancelled.cancel_reason(), Some(CancelReason::OutOfStock));
    let events = events_of::<OrderCancelled>(&store);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data.reason, CancelReason::OutOfStock);
    assert_eq!(events[0].correlation_id, failed.correlation_id);
    // Nothing was charged for it, so a late payment answer changes nothing.
    assert_eq!(
        on_payment_succeeded(&store, &payment_succeeded(&o), now())
            .await
            .expect("late"),
        SagaOutcome::Ignored(OrderStatus::Cancelled)
    );
    assert!(events_of::<OrderConfirmed>(&store).is_empty());
}

#[tokio::test]
async fn a_failed_payment_cancels_and_announces_the_release() {
    for status in [OrderStatus::Pending, OrderStatus::Reserved] {
        let store = InMemoryOrdersStore::new();
        let o = order_in(&store, status).await;
        let failed = payment_failed(&o);
        assert_eq!(
            on_payment_failed(&store, &failed, now())
                .await
                .expect("cancelled"),
            SagaOutcome::Applied(OrderStatus::Cancelled)
        );
        assert_eq!(
            on_payment_failed(&store, &failed, now())
                .await
                .expect("duplicate"),
            SagaOutcome::Ignored(OrderStatus::Cancelled)
        );
        let events = events_of::<OrderCancelled>(&store);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.reason, CancelReason::PaymentFailed);
        assert_eq!(
            events[0].data.lines, o.lines,
            "inventory releases these lines"
        );
    }
}

#[tokio::test]
async fn a_stray_reservation_failure_never_cancels_a_reserved_order() {
    let store = InMemoryOrdersStore::new();
    let o = order_in(&store, OrderStatus::Reserved).await;
    assert_eq!(
        on_reservation_failed(&store, &reservation_failed(&o), now())
            .await
            .expect("stray"),
        SagaOutcome::Ignored(OrderStatus::Reserved)
    );
    assert_eq!(order(&store, o.id).await, o);
    assert!(events_of::<OrderCancelled>(&store).is_empty());
}

#[tokio::test]
async fn late_answers_never_move_a_settled_order() {
    let store = InMemoryOrdersStore::new();
    let confirmed = order_in(&store, OrderStatus::Confirmed).await;
    let before = store.outbox().len();
    assert_eq!(
        on_reservation_failed(&store, &reservation_failed(&confirmed), now())
            .await
            .expect("late"),
        SagaOutcome::Ignored(OrderStatus::Confirmed)
    );
    assert_eq!(
        on_payment_failed(&store, &payment_failed(&confirmed), now())
            .await
            .expect("late"),
        SagaOutcome::Ignored(OrderStatus::Confirmed)
    );
    assert_eq!(order(&store, confirmed.id).await, confirmed);
    assert_eq!(store.outbox().len(), before);

    // A payment for an order the customer cancelled: payments refunds it on
    // order.cancelled; the order stays cancelled.
    let store = InMemoryOrdersStore::new();
    let cancelled = order_in(&store, OrderStatus::Cancelled).await;
    assert_eq!(
        on_payment_succeeded(&store, &payment_succeeded(&cancelled), now())
            .await
            .expect("late"),
        SagaOutcome::Ignored(OrderStatus::Cancelled)
    );
    assert_eq!(order(&store, cancelled.id).await, cancelled);
    assert!(events_of::<OrderConfirmed>(&store).is_empty());
    assert_eq!(
        on_inventory_reserved(&store, &reserved(&cancelled), now())
            .await
            .expect("late"),
        SagaOutcome::Ignored(OrderStatus::Cancelled)
    );
}

#[tokio::test]
async fn events_for_unknown_orders_or_other_users_are_refused() {
    let store = InMemoryOrdersStore::new();
    let (_, id) = placed_order(&store).await;
    let mut o = order(&store, id).await;
    let before = o.clone();
    o.user_id = UserId::new();
    assert!(matches!(
        on_inventory_reserved(&store, &reserved(&o), now()).await,
        Err(OrdersError::WrongUser(_))
    ));
    assert!(matches!(
        on_payment_succeeded(&store, &payment_succeeded(&o), now()).await,
        Err(OrdersError::WrongUser(_))
    ));
    assert_eq!(order(&store, id).await, before);
    o.id = OrderId::new();
    assert!(matches!(
        on_payment_failed(&store, &payment_failed(&o), now()).await,
        Err(OrdersError::OrderNotFound)
    ));
}

#[tokio::test]
async fn concurrent_copies_of_a_payment_confirm_once() {
    let store = InMemoryOrdersStore::new();
    let o = order_in(&store, OrderStatus::Reserved).await;
    // Copies with distinct event ids, as a re-publication would make.
    let copies: Vec<_> = (0..6).map(|_| payment_succeeded(&o)).collect();
    let outcomes = join_all(
        copies
            .iter()
            .map(|e| on_payment_succeeded(&store, e, now())),
    )
    .await;
    let applied = outcomes
        .iter()
        .filter(|r| matches!(r, Ok(SagaOutcome::Applied(_))))
        .count();
    assert_eq!(applied, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(events_of::<OrderConfirmed>(&store).len(), 1);
    assert_eq!(
        statuses(&order(&store, o.id).await),
        vec![
            OrderStatus::Pending,
            OrderStatus::Reserved,
            OrderStatus::Paid,
            OrderStatus::Confirmed
        ]
    );
}

#[tokio::test]
async fn a_customer_cancel_racing_the_payment_loses_nothing() {
    for _ in 0..20 {
        let store = InMemoryOrdersStore::new();
        let o = order_in(&store, OrderStatus::Reserved).await;
        let paid = payment_succeeded(&o);
        let (payment, cancel) = tokio::join!(
            on_payment_succeeded(&store, &paid, now()),
            cancel_by_customer(&store, o.user_id, o.id, CorrelationId::new(), now()),
        );
        payment.expect("payment handled");
        cancel.expect("cancel allowed either way: before shipping");

        let end = order(&store, o.id).await;
        assert_eq!(end.status, OrderStatus::Cancelled);
        // Whichever came first, the other decided on its result: the
        // history has every change, and each announced change is in it.
        let confirmed = events_of::<OrderConfirmed>(&store).len();
        let seen = statuses(&end);
        if confirmed == 1 {
            assert_eq!(
                seen,
                vec![
                    OrderStatus::Pending,
                    OrderStatus::Reserved,
                    OrderStatus::Paid,
                    OrderStatus::Confirmed,
                    OrderStatus::Cancelled
                ]
            );
        } else {
            assert_eq!(
                seen,
                vec![
                    OrderStatus::Pending,
                    OrderStatus::Reserved,
                    OrderStatus::Cancelled
                ]
            );
        }
        assert_eq!(events_of::<OrderCancelled>(&store).len(), 1);
        assert_eq!(end.version as usize, seen.len());
    }
}

// ---------------------------------------------------------------- timeout

/// Makes an order look as if it had been placed `age` ago.
fn aged(store: &InMemoryOrdersStore, mut o: Order, age: Duration) -> Order {
    let shift = now() - age - o.placed_at;
    o.placed_at += shift;
    for change in &mut o.history {
        change.at += shift;
    }
    o.updated_at = o.history.last().expect("history").at;
    store.force_order(o.clone());
    o
}

#[tokio::test]
async fn stalled_orders_are_cancelled_for_timing_out() {
    let store = InMemoryOrdersStore::new();
    let timeout = Duration::minutes(15);
    let old_pending = order_in(&store, OrderStatus::Pending).await;
    let old_pending = aged(&store, old_pending, Duration::minutes(20));
    let old_reserved = order_in(&store, OrderStatus::Reserved).await;
    let old_reserved = aged(&store, old_reserved, Duration::minutes(16));
    let young = order_in(&store, OrderStatus::Pending).await;
    let young = aged(&store, young, Duration::minutes(14));
    let old_confirmed = order_in(&store, OrderStatus::Confirmed).await;
    let old_confirmed = aged(&store, old_confirmed, Duration::hours(2));
    let old_cancelled = order_in(&store, OrderStatus::Cancelled).await;
    let old_cancelled = aged(&store, old_cancelled, Duration::hours(2));
    let events_before = events_of::<OrderCancelled>(&store).len();

    let report = cancel_stalled(&store, timeout, now(), 100)
        .await
        .expect("swept");

    assert_eq!(report.examined, 2);
    assert_eq!(
        report.cancelled,
        vec![old_pending.id, old_reserved.id],
        "oldest first"
    );
    assert_eq!((report.skipped, report.failed), (0, 0));
    for o in [&old_pending, &old_reserved] {
        let end = order(&store, o.id).await;
        assert_eq!(end.status, OrderStatus::Cancelled);
        assert_eq!(end.cancel_reason(), Some(CancelReason::TimedOut));
    }
    for o in [young, old_confirmed, old_cancelled] {
        assert_eq!(order(&store, o.id).await, o, "left alone");
    }
    let cancelled = events_of::<OrderCancelled>(&store);
    assert_eq!(cancelled.len(), events_before + 2);
    let timed_out: Vec<_> = cancelled
        .iter()
        .filter(|e| e.data.reason == CancelReason::TimedOut)
        .collect();
    assert_eq!(timed_out.len(), 2);
    assert_eq!(
        timed_out[0].correlation_id, old_pending.correlation_id,
        "the order's own story continues"
    );

    // A second sweep finds nothing left to do.
    let again = cancel_stalled(&store, timeout, now(), 100)
        .await
        .expect("swept");
    assert_eq!(again, SweepReport::default());
}

#[tokio::test]
async fn a_sweep_takes_at_most_its_limit_oldest_first() {
    let store = InMemoryOrdersStore::new();
    let mut ids = Vec::new();
    for minutes in [50, 40, 30] {
        let o = order_in(&store, OrderStatus::Pending).await;
        ids.push(aged(&store, o, Duration::minutes(minutes)).id);
    }
    let report = cancel_stalled(&store, Duration::minutes(15), now(), 2)
        .await
        .expect("swept");
    assert_eq!(report.cancelled, ids[..2].to_vec());
    let report = cancel_stalled(&store, Duration::minutes(15), now(), 2)
        .await
        .expect("swept");
    assert_eq!(report.cancelled, ids[2..].to_vec());
}

/// A store whose open-orders index lags: it still lists orders that have
/// moved on, as a DynamoDB index can for a moment.
struct LaggingIndex {
    inner: InMemoryOrdersStore,
    listed: Vec<OrderId>,
}

impl OrdersStore for LaggingIndex {
    async fn product(&self, id: ProductId) -> StoreResult<Option<ProjectedProduct>> {
        self.inner.product(id).await
    }
    async fn products(
        &self,
        ids: &[ProductId],
    ) -> StoreResult<HashMap<ProductId, ProjectedProduct>> {
        self.inner.products(ids).await
    }
    async fn put_product(&self, product: &ProjectedProduct) -> StoreResult<bool> {
        self.inner.put_product(product).await
    }
    async fn cart(&self, user_id: UserId) -> StoreResult<Cart> {
        self.inner.cart(user_id).await
    }
    async fn save_cart(&self, cart: &Cart, expected_version: u64) -> StoreResult<()> {
        self.inner.save_cart(cart, expected_version).await
    }
    async fn place_order(
        &self,
        write: PlaceOrder<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.inner.place_order(write, event, now).await
    }
    async fn checkout_record(
        &self,
        user_id: UserId,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        self.inner.checkout_record(user_id, key).await
    }
    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>> {
        self.inner.order(id).await
    }
    async fn update_order(
        &self,
        order: &Order,
        expected_version: u64,
        event: Option<&RawEnvelope>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.inner
            .update_order(order, expected_version, event, now)
            .await
    }
    async fn orders_of(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Order>> {
        self.inner.orders_of(user_id, cursor, limit).await
    }
    async fn open_orders(&self, _: OffsetDateTime, _: u32) -> StoreResult<Vec<OrderId>> {
        Ok(self.listed.clone())
    }
}

#[tokio::test]
async fn the_timeout_rechecks_each_order_before_cancelling_it() {
    let inner = InMemoryOrdersStore::new();
    // Confirmed in the meantime, though still old.
    let confirmed = order_in(&inner, OrderStatus::Confirmed).await;
    let confirmed = aged(&inner, confirmed, Duration::hours(1));
    // Listed, but placed after the cutoff (the index and the clock disagree).
    let young = order_in(&inner, OrderStatus::Pending).await;
    let store = LaggingIndex {
        inner: inner.clone(),
        listed: vec![confirmed.id, young.id, OrderId::new()],
    };

    let report = cancel_stalled(&store, Duration::minutes(15), now(), 100)
        .await
        .expect("swept");

    assert_eq!(report.examined, 3);
    assert!(report.cancelled.is_empty());
    assert_eq!(report.skipped, 3);
    assert_eq!(order(&inner, confirmed.id).await, confirmed);
    assert_eq!(order(&inner, young.id).await, young);
}

// ---------------------------------------------------------------- projection

#[tokio::test]
async fn the_projection_keeps_the_newest_version_whatever_the_arrival_order() {
    let store = InMemoryOrdersStore::new();
    let id = ProductId::new();
    let version = |v: u64, price: i64| ProjectedProduct {
        product_id: id,
        version: v,
        sku: "SKU-1".into(),
        listing: Listing::OnSale {
            name: "Lamp".into(),
            price,
            currency: Currency::USD,
        },
    };

    assert_eq!(
        project_product(&store, version(2, 200)).await.expect("v2"),
        ProjectionOutcome::Stored
    );
    // v1 arrives after v2; v2 arrives twice.
    assert_eq!(
        project_product(&store, version(1, 100)).await.expect("v1"),
        ProjectionOutcome::Outdated
    );
    assert_eq!(
        project_product(&store, version(2, 999))
            .await
            .expect("v2 again"),
        ProjectionOutcome::Outdated
    );
    assert_eq!(
        store.product(id).await.expect("read"),
        Some(version(2, 200))
    );

    let tombstone = ProjectedProduct {
        product_id: id,
        version: 4,
        sku: "SKU-1".into(),
        listing: Listing::Deleted,
    };
    assert_eq!(
        project_product(&store, tombstone.clone())
            .await
            .expect("deleted"),
        ProjectionOutcome::Stored
    );
    // An update overtaken by the deletion does not bring the product back.
    assert_eq!(
        project_product(&store, version(3, 300)).await.expect("v3"),
        ProjectionOutcome::Outdated
    );
    assert_eq!(store.product(id).await.expect("read"), Some(tombstone));
}
