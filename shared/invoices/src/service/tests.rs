use std::sync::Arc;

use contracts::events::{InvoiceGenerated, OrderLine, PaymentKind};
use contracts::{Currency, DomainEvent, OrderId, ProductId};
use documents::InMemoryDocuments;
use time::macros::datetime;

use super::*;
use crate::memory::InMemoryInvoiceStore;

/// Writes what it was asked to render, so tests can see which facts
/// reached the document.
struct EchoRenderer;

impl ReceiptRenderer for EchoRenderer {
    fn render(
        &self,
        invoice: &Invoice,
        payment: &PaymentSucceeded,
        order: &OrderConfirmed,
    ) -> anyhow::Result<Vec<u8>> {
        Ok(format!(
            "%PDF {} {} {} lines={}",
            invoice.id,
            payment.provider_reference,
            order.order_id,
            order.lines.len()
        )
        .into_bytes())
    }
}

struct BrokenRenderer;

impl ReceiptRenderer for BrokenRenderer {
    fn render(
        &self,
        _: &Invoice,
        _: &PaymentSucceeded,
        _: &OrderConfirmed,
    ) -> anyhow::Result<Vec<u8>> {
        anyhow::bail!("renderer out of order")
    }
}

fn now() -> OffsetDateTime {
    datetime!(2026-11-21 10:06 UTC)
}

fn payment(order_id: OrderId, user_id: UserId) -> PaymentSucceeded {
    PaymentSucceeded {
        payment_id: "pay_1".into(),
        order_id,
        user_id,
        amount: 4_200,
        currency: Currency::EUR,
        method: PaymentKind::Card,
        provider_reference: "pi_123".into(),
        succeeded_at: datetime!(2026-11-21 10:05 UTC),
    }
}

fn order(order_id: OrderId, user_id: UserId) -> OrderConfirmed {
    OrderConfirmed {
        order_id,
        user_id,
        payment_id: "pay_1".into(),
        lines: vec![OrderLine {
            product_id: ProductId::new(),
            sku: "MUG".into(),
            name: "Mug".into(),
            unit_price: 2_100,
            quantity: 2,
        }],
        amount: 4_200,
        currency: Currency::EUR,
        confirmed_at: datetime!(2026-11-21 10:05:30 UTC),
    }
}

struct World {
    store: InMemoryInvoiceStore,
    docs: InMemoryDocuments,
}

impl World {
    fn new() -> Self {
        Self {
            store: InMemoryInvoiceStore::new(),
            docs: InMemoryDocuments::new(),
        }
    }

    async fn deliver(&self, part: ReceiptPart) -> Result<ReceiptOutcome, InvoiceError> {
        issue_receipt(
            &self.store,
            &self.docs,
            &EchoRenderer,
            part,
            CorrelationId::new(),
            now(),
        )
        .await
    }
}

#[tokio::test]
async fn the_second_part_issues_the_receipt_with_its_document_and_event() {
    let w = World::new();
    let (order_id, user) = (OrderId::new(), UserId::new());
    let correlation = CorrelationId::new();

    let first = w
        .deliver(ReceiptPart::Payment(payment(order_id, user)))
        .await
        .expect("recorded");
    assert_eq!(first, ReceiptOutcome::Waiting);
    assert!(w.docs.keys().is_empty() && w.store.outbox().is_empty());

    let second = issue_receipt(
        &w.store,
        &w.docs,
        &EchoRenderer,
        ReceiptPart::Order(order(order_id, user)),
        correlation.clone(),
        now(),
    )
    .await
    .expect("issued");
    let ReceiptOutcome::Issued(invoice) = second else {
        panic!("expected an invoice, got {second:?}");
    };
    assert_eq!(invoice.id, InvoiceId::for_payment("pay_1"));
    assert_eq!(invoice.user_id, user);
    assert_eq!(invoice.order_id, order_id);
    assert_eq!((invoice.amount, invoice.currency), (4_200, Currency::EUR));
    assert_eq!(invoice.method, PaymentKind::Card);
    assert_eq!(
        invoice.document_key,
        format!("invoices/{user}/{}.pdf", invoice.id)
    );

    let doc = w.docs.get(&invoice.document_key).expect("document stored");
    assert_eq!(doc.content_type, "application/pdf");
    let body = String::from_utf8(doc.body).expect("text");
    assert!(body.starts_with("%PDF"), "{body}");
    assert!(
        body.contains("pi_123") && body.contains("lines=1"),
        "{body}"
    );
    assert!(body.contains(&order_id.to_string()), "{body}");

    let outbox = w.store.outbox();
    assert_eq!(outbox.len(), 1);
    let event = outbox[0]
        .clone()
        .decode::<InvoiceGenerated>()
        .expect("invoice.generated");
    assert_eq!(event.event_type, InvoiceGenerated::TYPE);
    assert_eq!(event.correlation_id, correlation);
    assert_eq!(event.subject, invoice.id.to_string());
    assert_eq!(event.data.invoice_id, invoice.id.to_string());
    assert_eq!(event.data.user_id, user);
    assert_eq!(event.data.order_id, order_id);
    assert_eq!(event.data.payment_id, "pay_1");
    assert_eq!(event.data.document_key, invoice.document_key);
    assert_eq!(event.data.generated_at, now());
}

#[tokio::test]
async fn either_part_may_come_first() {
    let w = World::new();
    let (order_id, user) = (OrderId::new(), UserId::new());
    assert_eq!(
        w.deliver(ReceiptPart::Order(order(order_id, user)))
            .await
            .expect("recorded"),
        ReceiptOutcome::Waiting
    );
    assert!(matches!(
        w.deliver(ReceiptPart::Payment(payment(order_id, user)))
            .await
            .expect("issued"),
        ReceiptOutcome::Issued(_)
    ));
    assert_eq!(w.store.invoices().len(), 1);
}

#[tokio::test]
async fn redelivered_parts_issue_nothing_more() {
    let w = World::new();
    let (order_id, user) = (OrderId::new(), UserId::new());
    w.deliver(ReceiptPart::Payment(payment(order_id, user)))
        .await
        .expect("first");
    w.deliver(ReceiptPart::Order(order(order_id, user)))
        .await
        .expect("second");
    for part in [
        ReceiptPart::Payment(payment(order_id, user)),
        ReceiptPart::Order(order(order_id, user)),
    ] {
        let again = w.deliver(part).await.expect("redelivery");
        assert_eq!(
            again,
            ReceiptOutcome::AlreadyIssued(InvoiceId::for_payment("pay_1"))
        );
    }
    assert_eq!(w.store.invoices().len(), 1);
    assert_eq!(w.store.outbox().len(), 1);
    assert_eq!(w.docs.put_count(), 1);
}

#[tokio::test]
async fn parts_racing_each_other_issue_exactly_one_receipt() {
    let w = Arc::new(World::new());
    let (order_id, user) = (OrderId::new(), UserId::new());
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let w = w.clone();
            let part = if i % 2 == 0 {
                ReceiptPart::Payment(payment(order_id, user))
            } else {
                ReceiptPart::Order(order(order_id, user))
            };
            tokio::spawn(async move { w.deliver(part).await })
        })
        .collect();
    let mut issued = 0;
    for task in tasks {
        if let ReceiptOutcome::Issued(_) = task.await.expect("joined").expect("handled") {
            issued += 1;
        }
    }
    assert_eq!(issued, 1);
    assert_eq!(w.store.invoices().len(), 1);
    assert_eq!(w.store.outbox().len(), 1);
    assert_eq!(w.docs.keys().len(), 1);
}

#[tokio::test]
async fn parts_of_different_users_are_refused_for_good() {
    let w = World::new();
    let order_id = OrderId::new();
    w.deliver(ReceiptPart::Payment(payment(order_id, UserId::new())))
        .await
        .expect("recorded");
    let err = w
        .deliver(ReceiptPart::Order(order(order_id, UserId::new())))
        .await
        .expect_err("inconsistent");
    assert!(matches!(err, InvoiceError::Inconsistent(_)), "{err:?}");
    assert!(w.store.invoices().is_empty() && w.docs.keys().is_empty());
}

#[tokio::test]
async fn the_payment_decides_what_the_receipt_says_when_the_order_disagrees() {
    let w = World::new();
    let (order_id, user) = (OrderId::new(), UserId::new());
    let mut confirmed = order(order_id, user);
    confirmed.amount = 1;
    confirmed.payment_id = "pay_other".into();
    w.deliver(ReceiptPart::Order(confirmed))
        .await
        .expect("recorded");
    let outcome = w
        .deliver(ReceiptPart::Payment(payment(order_id, user)))
        .await
        .expect("issued");
    let ReceiptOutcome::Issued(invoice) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(invoice.amount, 4_200);
    assert_eq!(invoice.id, InvoiceId::for_payment("pay_1"));
}

#[tokio::test]
async fn a_rendering_failure_stores_nothing() {
    let w = World::new();
    let (order_id, user) = (OrderId::new(), UserId::new());
    for part in [
        ReceiptPart::Payment(payment(order_id, user)),
        ReceiptPart::Order(order(order_id, user)),
    ] {
        let result = issue_receipt(
            &w.store,
            &w.docs,
            &BrokenRenderer,
            part,
            CorrelationId::new(),
            now(),
        )
        .await;
        if let Err(e) = result {
            assert!(matches!(e, InvoiceError::Unexpected(_)), "{e:?}");
        }
    }
    assert!(w.store.invoices().is_empty());
    assert!(w.store.outbox().is_empty());
    assert!(w.docs.keys().is_empty());
    // The retry with a working renderer issues it.
    assert!(matches!(
        w.deliver(ReceiptPart::Order(order(order_id, user)))
            .await
            .expect("retry"),
        ReceiptOutcome::Issued(_)
    ));
}

fn stored(user: UserId) -> Invoice {
    let id = InvoiceId::for_payment("pay_9");
    Invoice {
        document_key: document_key(user, &id),
        id,
        user_id: user,
        order_id: OrderId::new(),
        payment_id: "pay_9".into(),
        amount: 999,
        currency: Currency::USD,
        method: PaymentKind::Wallet,
        created_at: now(),
    }
}

#[tokio::test]
async fn the_owner_and_admins_get_a_download_link_and_nobody_else() {
    let store = InMemoryInvoiceStore::new();
    let docs = InMemoryDocuments::new();
    let owner = UserId::new();
    let invoice = stored(owner);
    store.insert(invoice.clone());
    let ttl = Duration::from_secs(300);

    let view = invoice_download(
        &store,
        &docs,
        Reader {
            user_id: owner,
            is_admin: false,
        },
        &invoice.id,
        ttl,
    )
    .await
    .expect("owner");
    assert_eq!(view.id, invoice.id);
    assert_eq!(view.order_id, invoice.order_id);
    assert_eq!((view.amount, view.currency), (999, Currency::USD));
    assert_eq!(view.created_at, now());
    assert_eq!(
        view.download_url,
        format!("memory://{}?valid_for=300", invoice.document_key)
    );
    assert_eq!(view.expires_in, 300);

    let admin = Reader {
        user_id: UserId::new(),
        is_admin: true,
    };
    assert!(
        invoice_download(&store, &docs, admin, &invoice.id, ttl)
            .await
            .is_ok()
    );

    let stranger = Reader {
        user_id: UserId::new(),
        is_admin: false,
    };
    let err = invoice_download(&store, &docs, stranger, &invoice.id, ttl)
        .await
        .expect_err("hidden");
    assert!(matches!(err, InvoiceError::NotFound));
    let unknown = InvoiceId::for_payment("pay_unknown");
    let err = invoice_download(&store, &docs, admin, &unknown, ttl)
        .await
        .expect_err("unknown");
    assert!(matches!(err, InvoiceError::NotFound));
}

#[tokio::test]
async fn link_validity_is_capped_at_seven_days() {
    let store = InMemoryInvoiceStore::new();
    let owner = UserId::new();
    let invoice = stored(owner);
    store.insert(invoice.clone());
    let view = invoice_download(
        &store,
        &InMemoryDocuments::new(),
        Reader {
            user_id: owner,
            is_admin: false,
        },
        &invoice.id,
        Duration::from_secs(30 * 24 * 3600),
    )
    .await
    .expect("view");
    assert_eq!(view.expires_in, 604_800);
}
