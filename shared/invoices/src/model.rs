use std::fmt;
use std::str::FromStr;

use contracts::events::PaymentKind;
use contracts::{Currency, OrderId, UserId};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// `inv_<32 hex>`, derived from the payment it documents: every attempt at
/// the receipt of one payment names the same invoice, which is what makes
/// issuing it idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct InvoiceId(String);

const PREFIX: &str = "inv_";
const HEX_LEN: usize = 32;

impl InvoiceId {
    pub fn for_payment(payment_id: &str) -> Self {
        let digest = Sha256::digest(format!("invoice|{payment_id}").as_bytes());
        let hex: String = digest[..HEX_LEN / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self(format!("{PREFIX}{hex}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InvoiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an invoice id (expected inv_ and 32 hex digits)")]
pub struct InvalidInvoiceId;

impl FromStr for InvoiceId {
    type Err = InvalidInvoiceId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix(PREFIX).ok_or(InvalidInvoiceId)?;
        if hex.len() == HEX_LEN && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidInvoiceId)
        }
    }
}

/// Where an invoice's PDF lives in the documents bucket.
pub fn document_key(user_id: UserId, id: &InvoiceId) -> String {
    format!("invoices/{user_id}/{id}.pdf")
}

pub const PDF_CONTENT_TYPE: &str = "application/pdf";

/// A receipt issued for one successful payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: InvoiceId,
    /// The owner: the user who paid.
    pub user_id: UserId,
    pub order_id: OrderId,
    pub payment_id: String,
    pub amount: i64,
    pub currency: Currency,
    pub method: PaymentKind,
    pub document_key: String,
    pub created_at: OffsetDateTime,
}

/// `GET /invoices/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceView {
    pub id: InvoiceId,
    pub order_id: OrderId,
    /// Minor units.
    pub amount: i64,
    pub currency: Currency,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// A presigned GET of the PDF.
    pub download_url: String,
    /// Seconds the URL stays valid.
    pub expires_in: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invoice_id_is_derived_from_its_payment() {
        let a = InvoiceId::for_payment("pay_1");
        assert_eq!(a, InvoiceId::for_payment("pay_1"));
        assert_ne!(a, InvoiceId::for_payment("pay_2"));
        assert!(a.as_str().starts_with("inv_"));
        assert_eq!(a.as_str().len(), 4 + 32);
        assert_eq!(a.as_str().parse::<InvoiceId>(), Ok(a));
    }

    #[test]
    fn only_well_formed_ids_parse() {
        for bad in [
            "",
            "inv_",
            "inv_XYZ",
            "inv_0123456789abcdef0123456789ABCDEF",
            "inv_0123456789abcdef0123456789abcde",
            "pay_0123456789abcdef0123456789abcdef",
            "inv_0123456789abcdef0123456789abcdef/../x",
        ] {
            assert_eq!(bad.parse::<InvoiceId>(), Err(InvalidInvoiceId), "{bad}");
        }
    }

    #[test]
    fn documents_are_filed_by_owner() {
        let user = UserId::new();
        let id = InvoiceId::for_payment("pay_1");
        assert_eq!(document_key(user, &id), format!("invoices/{user}/{id}.pdf"));
    }
}
