use contracts::events::{
    CancelReason, InventoryReserved, OrderCancelled, OrderPayment, PaymentKind,
};
use contracts::{CorrelationId, DomainEvent, UserId};
use orders::memory::InMemoryOrdersStore;
use orders::model::{Order, OrderStatus};
use orders::service::on_inventory_reserved;
use orders::testing::place_order;

use super::*;

async fn reserved_order(store: &InMemoryOrdersStore) -> Order {
    let id = place_order(store, UserId::new(), 1).await;
    let order = store.order(id).await.expect("read").expect("order");
    let reserved = EventEnvelope::new(
        InventoryReserved {
            order_id: order.id,
            user_id: order.user_id,
            lines: order.lines.clone(),
            payment: OrderPayment {
                amount: order.total,
                currency: order.currency,
                method: order.payment.clone(),
            },
            reserved_at: OffsetDateTime::now_utc(),
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    );
    on_inventory_reserved(store, &reserved, OffsetDateTime::now_utc())
        .await
        .expect("reserved");
    store.order(id).await.expect("read").expect("order")
}

fn failed(order: &Order) -> EventEnvelope<PaymentFailed> {
    EventEnvelope::new(
        PaymentFailed {
            order_id: order.id,
            user_id: order.user_id,
            amount: order.total,
            currency: order.currency,
            method: PaymentKind::Wallet,
            reason: "insufficient_funds".into(),
            failed_at: OffsetDateTime::now_utc(),
        },
        CorrelationId::new(),
        OffsetDateTime::now_utc(),
    )
}

fn cancellations(store: &InMemoryOrdersStore) -> Vec<EventEnvelope<OrderCancelled>> {
    store
        .outbox()
        .into_iter()
        .filter(|e| e.event_type == OrderCancelled::TYPE)
        .map(|e| e.decode().expect("decodes"))
        .collect()
}

#[tokio::test]
async fn a_failed_payment_cancels_and_announces_the_release_once() {
    let store = InMemoryOrdersStore::new();
    let order = reserved_order(&store).await;
    let handler = CancelUnpaid::new(store.clone());
    let event = failed(&order);

    handler.handle(event.clone()).await.expect("handled");
    handler.handle(event).await.expect("duplicate acknowledged");
    handler
        .handle(failed(&order))
        .await
        .expect("re-published copy acknowledged");

    let after = store.order(order.id).await.expect("read").expect("order");
    assert_eq!(after.status, OrderStatus::Cancelled);
    assert_eq!(after.cancel_reason(), Some(CancelReason::PaymentFailed));
    let history: Vec<_> = after.history.iter().map(|c| c.status).collect();
    assert_eq!(
        history,
        vec![
            OrderStatus::Pending,
            OrderStatus::Reserved,
            OrderStatus::Cancelled
        ]
    );
    let events = cancellations(&store);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data.reason, CancelReason::PaymentFailed);
    assert_eq!(
        events[0].data.lines, order.lines,
        "inventory releases exactly the order's lines"
    );
}

#[tokio::test]
async fn a_payment_failure_reported_before_the_reservation_still_cancels() {
    let store = InMemoryOrdersStore::new();
    let id = place_order(&store, UserId::new(), 1).await;
    let order = store.order(id).await.expect("read").expect("order");
    CancelUnpaid::new(store.clone())
        .handle(failed(&order))
        .await
        .expect("handled");
    let after = store.order(id).await.expect("read").expect("order");
    assert_eq!(after.cancel_reason(), Some(CancelReason::PaymentFailed));
    assert_eq!(cancellations(&store).len(), 1);
}

#[tokio::test]
async fn an_unknown_order_is_permanent() {
    let store = InMemoryOrdersStore::new();
    let mut order = reserved_order(&store).await;
    order.id = contracts::OrderId::new();
    let err = CancelUnpaid::new(store.clone())
        .handle(failed(&order))
        .await
        .expect_err("unknown");
    assert!(matches!(err, HandlerError::Permanent(_)), "{err:?}");
}
