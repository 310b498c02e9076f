use http_kit::ApiError;

use crate::store::StoreError;

/// Failures of the invoice use cases, mapped to HTTP once (below) and to
/// retryable/permanent by the receipt consumer.
#[derive(Debug, thiserror::Error)]
pub enum InvoiceError {
    /// Unknown, or not the caller's: the same answer, so ids cannot be probed.
    #[error("invoice not found")]
    NotFound,
    /// The two parts of a receipt contradict each other; no retry can fix
    /// that, a person has to look.
    #[error("inconsistent receipt: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for InvoiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Other(e) => InvoiceError::Unexpected(e),
            other => {
                InvoiceError::Unexpected(anyhow::anyhow!("unexpected storage answer: {other}"))
            }
        }
    }
}

impl From<InvoiceError> for ApiError {
    fn from(e: InvoiceError) -> Self {
        match e {
            InvoiceError::NotFound => ApiError::NotFound,
            InvoiceError::Inconsistent(reason) => ApiError::Internal(anyhow::anyhow!(reason)),
            InvoiceError::Unexpected(e) => ApiError::Internal(e),
        }
    }
}
