//! The identity service: registration, login, token refresh with rotation
//! and reuse detection, logout, user administration. Business steps are plain
//! async functions over the [`store::IdentityStore`] port; the Lambda
//! functions in `functions/identity-*` only wire them to HTTP.

pub mod config;
pub mod dynamo;
pub mod error;
pub mod http;
pub mod memory;
pub mod model;
pub mod service;
pub mod store;
pub mod wiring;

pub use error::IdentityError;
