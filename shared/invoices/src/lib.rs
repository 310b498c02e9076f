//! Receipts of the payments service: an invoice per successful payment,
//! issued once both the payment (`payment.succeeded`) and the confirmed
//! order with its lines (`order.confirmed`) are known; its PDF in the
//! documents bucket; `invoice.generated` through the outbox; and the
//! owner's (or an admin's) download link. Business steps are in
//! [`service`] over the [`store::InvoiceStore`] port and the
//! `documents` ports; the functions only wire them.

pub mod config;
pub mod dynamo;
pub mod error;
pub mod memory;
pub mod model;
pub mod service;
pub mod store;
pub mod wiring;

pub use error::InvoiceError;
pub use model::{Invoice, InvoiceId, InvoiceView};
pub use service::{Reader, ReceiptOutcome, ReceiptRenderer, invoice_download, issue_receipt};
pub use store::{InvoiceStore, ReceiptPart, ReceiptParts, StoreError};
