use http_kit::{ApiError, FieldError};

use crate::model::{MAX_IMAGES, Sku};
use crate::store::StoreError;

/// Failures of the catalog use cases, mapped to HTTP once (below).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("product not found")]
    NotFound,
    #[error("sku {0} is used by another product")]
    SkuTaken(Sku),
    /// Stock, carts and orders are keyed by SKU, so a product keeps its SKU
    /// for life; a new SKU is a new product.
    #[error("the sku of a product cannot change (it is {current})")]
    SkuChanged { current: Sku },
    /// A change was asked for without naming the version it applies to.
    #[error("no If-Match header and no version in the body")]
    PreconditionRequired,
    /// `If-Match` named a version that is not the current one.
    #[error("If-Match does not match the current version {current}")]
    PreconditionFailed { current: u64 },
    /// The body's `version` is not the current one.
    #[error("version {given} is not the current version {current}")]
    VersionConflict { given: u64, current: u64 },
    #[error("the product has {MAX_IMAGES} images already")]
    TooManyImages,
    /// Optimistic concurrency gave up: every attempt lost to another write.
    #[error("the product kept changing concurrently")]
    Busy,
    #[error("invalid cursor")]
    BadCursor,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for CatalogError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Other(e) => CatalogError::Unexpected(e),
            other => {
                CatalogError::Unexpected(anyhow::anyhow!("unexpected storage answer: {other}"))
            }
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound => ApiError::NotFound,
            CatalogError::SkuTaken(sku) => ApiError::Conflict(format!(
                "The SKU {sku} is already used by another product; SKUs are unique."
            )),
            CatalogError::SkuChanged { current } => ApiError::Validation(vec![FieldError::new(
                "sku",
                format!(
                    "cannot change: it is {current} for the life of the product (stock and orders \
                     are kept by SKU); create a new product for a new SKU"
                ),
            )]),
            CatalogError::PreconditionRequired => ApiError::PreconditionRequired(
                "Changing a product requires the version you read: send it as the `If-Match` \
                 header (the ETag of GET /products/{id}) or as `version` in the body."
                    .into(),
            ),
            CatalogError::PreconditionFailed { current } => ApiError::PreconditionFailed(format!(
                "The product was changed since you read it; its current ETag is \"{current}\". \
                 Read it again and reapply your change."
            )),
            CatalogError::VersionConflict { given, current } => ApiError::Conflict(format!(
                "The product was changed since you read it: you sent version {given}, the \
                 current version is {current}. Read it again and reapply your change."
            )),
            CatalogError::TooManyImages => {
                ApiError::Conflict(format!("A product has at most {MAX_IMAGES} images."))
            }
            CatalogError::Busy => {
                ApiError::Conflict("The product is being changed by other requests; retry.".into())
            }
            CatalogError::BadCursor => {
                ApiError::Validation(vec![FieldError::new("cursor", "is not a valid cursor")])
            }
            CatalogError::Unexpected(e) => ApiError::Internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_kit::StatusCode;

    #[test]
    fn every_error_has_its_status() {
        let cases = [
            (CatalogError::NotFound, StatusCode::NOT_FOUND),
            (
                CatalogError::SkuTaken(Sku::parse("A").expect("sku")),
                StatusCode::CONFLICT,
            ),
            (
                CatalogError::PreconditionRequired,
                StatusCode::PRECONDITION_REQUIRED,
            ),
            (
                CatalogError::PreconditionFailed { current: 2 },
                StatusCode::PRECONDITION_FAILED,
            ),
            (
                CatalogError::VersionConflict {
                    given: 1,
                    current: 2,
                },
                StatusCode::CONFLICT,
            ),
            (CatalogError::TooManyImages, StatusCode::CONFLICT),
            (CatalogError::Busy, StatusCode::CONFLICT),
            (CatalogError::BadCursor, StatusCode::BAD_REQUEST),
            (
                CatalogError::Unexpected(anyhow::anyhow!("boom")),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).status(), status);
        }
    }
}
