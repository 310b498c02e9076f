//! In-memory [`InvoiceStore`] with the DynamoDB adapter's semantics, for
//! unit tests of the use cases and handlers (concurrent ones included).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use contracts::{OrderId, RawEnvelope};
use time::OffsetDateTime;

use crate::model::{Invoice, InvoiceId};
use crate::store::{InvoiceStore, ReceiptPart, ReceiptParts, StoreError, StoreResult};

#[derive(Default)]
struct State {
    parts: HashMap<OrderId, ReceiptParts>,
    invoices: HashMap<InvoiceId, Invoice>,
    outbox: Vec<RawEnvelope>,
}

/// Clones share one state, like handles on one table.
#[derive(Clone, Default)]
pub struct InMemoryInvoiceStore {
    state: Arc<Mutex<State>>,
}

/// Yields before touching the state, as a network round trip would, so
/// concurrent tasks interleave between reads and writes.
async fn round_trip() {
    tokio::task::yield_now().await;
}

impl InMemoryInvoiceStore {
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

    pub fn invoices(&self) -> Vec<Invoice> {
        self.state().invoices.values().cloned().collect()
    }

    /// Stores an invoice as if issued earlier (for read tests).
    pub fn insert(&self, invoice: Invoice) {
        self.state().invoices.insert(invoice.id.clone(), invoice);
    }
}

impl InvoiceStore for InMemoryInvoiceStore {
    async fn add_receipt_part(
        &self,
        part: &ReceiptPart,
        _now: OffsetDateTime,
    ) -> StoreResult<ReceiptParts> {
        round_trip().await;
        let mut s = self.state();
        let parts = s.parts.entry(part.order_id()).or_default();
        match part {
            ReceiptPart::Payment(p) => {
                parts.payment.get_or_insert_with(|| p.clone());
            }
            ReceiptPart::Order(o) => {
                parts.order.get_or_insert_with(|| o.clone());
            }
        }
        Ok(parts.clone())
    }

    async fn invoice(&self, id: &InvoiceId) -> StoreResult<Option<Invoice>> {
        round_trip().await;
        Ok(self.state().invoices.get(id).cloned())
    }

    async fn create_invoice(
        &self,
        invoice: &Invoice,
        event: &RawEnvelope,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        if s.invoices.contains_key(&invoice.id) {
            return Err(StoreError::InvoiceExists);
        }
        s.invoices.insert(invoice.id.clone(), invoice.clone());
        s.outbox.push(event.clone());
        Ok(())
    }
}
