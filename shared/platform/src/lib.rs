//! AWS adapters shared by the functions. Everything here talks to AWS through
//! the SDK; endpoints come from the standard environment (`AWS_ENDPOINT_URL`
//! for emulators), so nothing in this crate or its callers knows whether it
//! runs locally.

pub mod archive;
pub mod config;
pub mod dynamo;
pub mod health;
pub mod idempotency;
pub mod outbox;
pub mod publisher;
pub mod secrets;
pub mod telemetry;

pub use config::{ConfigError, Env};
