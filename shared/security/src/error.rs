use thiserror::Error;

/// Failures of this crate's own operations (hashing, key setup, token
/// issuing, refresh-token parsing).
///
/// Verification of an access token reports [`crate::TokenError`] instead,
/// and password verification simply answers `bool`.
///
/// Messages never contain secrets, passwords or tokens.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityError {
    /// The operating system's random number generator failed.
    #[error("operating system random number generator failed: {0}")]
    Rng(String),

    /// argon2 refused to hash (e.g. invalid parameters or salt).
    #[error("password hashing failed: {0}")]
    PasswordHashing(String),

    /// The JWT signing secret is shorter than the minimum.
    #[error("JWT signing key too short: {actual} bytes, at least {min} required")]
    SigningKeyTooShort {
        /// Minimum accepted length in bytes.
        min: usize,
        /// Length that was supplied.
        actual: usize,
    },

    /// The JWT settings or the claims to issue are unusable.
    #[error("invalid JWT settings or claims: {0}")]
    InvalidJwtInput(&'static str),

    /// Encoding/signing the JWT failed.
    #[error("JWT encoding failed: {0}")]
    TokenEncoding(String),

    /// A refresh token presented by a client is not well formed.
    #[error("malformed refresh token")]
    MalformedRefreshToken,
}
