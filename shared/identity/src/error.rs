use http_kit::{ApiError, FieldError};

use crate::store::StoreError;

/// Failures of the identity use cases, mapped to HTTP once (below).
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("an account with this e-mail address already exists")]
    EmailTaken,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid or expired refresh token")]
    InvalidRefreshToken,
    #[error("too many failed attempts")]
    RateLimited { retry_after_secs: u64 },
    #[error("user not found")]
    UserNotFound,
    #[error("invalid cursor")]
    BadCursor,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for IdentityError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => IdentityError::BadCursor,
            StoreError::Conflict => {
                IdentityError::Unexpected(anyhow::anyhow!("unexpected storage conflict"))
            }
            StoreError::Other(e) => IdentityError::Unexpected(e),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::EmailTaken => ApiError::Conflict(e.to_string()),
            // One answer for unknown e-mail and wrong password alike.
            IdentityError::InvalidCredentials | IdentityError::InvalidRefreshToken => {
                ApiError::Unauthorized
            }
            IdentityError::RateLimited { retry_after_secs } => {
                ApiError::TooManyRequests { retry_after_secs }
            }
            IdentityError::UserNotFound => ApiError::NotFound,
            IdentityError::BadCursor => {
                ApiError::Validation(vec![FieldError::new("cursor", "is not a valid cursor")])
            }
            IdentityError::Unexpected(e) => ApiError::Internal(e),
        }
    }
}
