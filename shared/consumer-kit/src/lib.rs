//! Consumers handle one message; this crate lifts that to an SQS batch.
//!
//! For every record of a batch, [`process_batch`]:
//! - decodes the body as an event envelope (raw SNS delivery, or the SNS
//!   notification wrapper when raw delivery is off); undecodable records are
//!   reported as failures so SQS redrives them to the dead-letter queue
//!   instead of them being dropped;
//! - claims the event id in the idempotency store, so a redelivered event
//!   (SNS and SQS are both at-least-once) has no second effect;
//! - runs the handler with panics caught, so a panic fails only its record;
//! - reports failed records in `batchItemFailures` (`ReportBatchItemFailures`),
//!   so one bad record never makes the whole batch retry.

mod batch;
mod decode;

pub use batch::{BatchResponse, Consumer, ConsumerSettings, EventHandler, HandlerError, run};
pub use decode::{AnyEvent, DecodeError, FromEnvelope};
