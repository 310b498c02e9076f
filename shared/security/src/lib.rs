//! Security primitives shared by the identity Lambdas and the HTTP API
//! Lambda authorizer.
//!
//! * [`password`]: argon2id password hashing with OWASP parameters.
//! * [`jwt`]: HS256 access tokens (issuing and strict verification).
//! * [`refresh`]: opaque refresh tokens and their storage fingerprint.
//!
//! The crate has no AWS, Lambda or async-runtime dependency. Password
//! hashing and verification are deliberately CPU-heavy (tens of
//! milliseconds); async callers should run them on the blocking pool, e.g.
//! `tokio::task::spawn_blocking(move || hasher.verify(&password, &hash))`.

mod error;
pub mod jwt;
pub mod password;
pub mod refresh;

pub use error::SecurityError;
pub use jwt::{
    Claims, IssuedToken, JwtSettings, SigningKey, TokenError, TokenIssuer, TokenVerifier,
};
pub use password::{Password, PasswordHash, PasswordHasher, policy_violation};
pub use refresh::RefreshToken;
