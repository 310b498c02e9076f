use std::future::Future;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use futures::{FutureExt, StreamExt};
use lambda_runtime::{LambdaEvent, service_fn};
use platform::Env;
use platform::config::ConfigError;
use platform::idempotency::{Claim, ClaimRequest, IdempotencyStore, payload_hash};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use tracing::{Instrument, field};

use crate::decode::{FromEnvelope, envelope_from_body};

/// Why a handler could not finish a message.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth another try (a dependency is down, throttling, a timeout). The
    /// record returns to the queue and is retried until `maxReceiveCount`.
    #[error("{0:#}")]
    Retryable(anyhow::Error),
    /// Will fail the same way every time (the message itself is unusable).
    /// Still reported as a failure, so it reaches the DLQ rather than being
    /// dropped, but logged as such so nobody waits for it to heal.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

impl From<anyhow::Error> for HandlerError {
    fn from(e: anyhow::Error) -> Self {
        HandlerError::Retryable(e)
    }
}

/// Business logic for one message.
pub trait EventHandler: Send + Sync {
    type Input: FromEnvelope;
    fn handle(&self, input: Self::Input) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// Namespaces idempotency keys: two consumers of one event each run once.
    pub name: String,
    /// How long a completed event id is remembered. Must exceed the longest
    /// time a duplicate can arrive: queue retention plus DLQ redrive delays.
    pub idempotency_ttl: Duration,
    /// Records of one batch processed at the same time.
    pub concurrency: usize,
}

impl ConsumerSettings {
    pub fn from_env(env: &Env, name: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            name: name.to_owned(),
            idempotency_ttl: Duration::hours(env.parsed_or("IDEMPOTENCY_TTL_HOURS", 24 * 7)?),
            concurrency: env.parsed_or("BATCH_CONCURRENCY", 10usize)?.max(1),
        })
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    pub fn failed_ids(&self) -> Vec<&str> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }
}

pub struct Consumer<H, S> {
    handler: H,
    store: S,
    settings: ConsumerSettings,
}

enum Outcome {
    Done,
    Duplicate,
    Failed,
}

impl<H, S> Consumer<H, S>
where
    H: EventHandler,
    S: IdempotencyStore,
{
    pub fn new(handler: H, store: S, settings: ConsumerSettings) -> Self {
        Self {
            handler,
            store,
            settings,
        }
    }

    /// Processes a batch; `deadline` is the invocation's deadline, used as
    /// the expiry of in-progress claims so a timed-out run does not block the
    /// retry of its records.
    pub async fn process_batch(
        &self,
        event: SqsEvent,
        deadline: OffsetDateTime,
        request_id: &str,
    ) -> BatchResponse {
        let results: Vec<(String, Outcome)> = futures::stream::iter(event.records)
            .map(|record| async move {
                let id = record.message_id.clone().unwrap_or_default();
                let span = tracing::info_span!(
                    "record",
                    request_id,
                    consumer = %self.settings.name,
                    message_id = %id,
                    event_id = field::Empty,
                    event_type = field::Empty,
                    correlation_id = field::Empty,
                );
                let outcome = self.process_record(record, deadline).instrument(span).await;
                (id, outcome)
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;

        let mut response = BatchResponse::default();
        let (mut done, mut duplicates) = (0, 0);
        for (id, outcome) in results {
            match outcome {
                Outcome::Done => done += 1,
                Outcome::Duplicate => duplicates += 1,
                Outcome::Failed => response.batch_item_failures.push(ItemFailure {
                    item_identifier: id,
                }),
            }
        }
        tracing::info!(
            request_id,
            consumer = %self.settings.name,
            done,
            duplicates,
            failed = response.batch_item_failures.len(),
            "batch processed"
        );
        response
    }

    async fn process_record(&self, record: SqsMessage, deadline: OffsetDateTime) -> Outcome {
        let raw = match envelope_from_body(record.body.as_deref()) {
            Ok(raw) => raw,
            Err(e) => {
                tracing::error!(error = %e, "undecodable record; failing it so it reaches the DLQ");
                return Outcome::Failed;
            }
        };
        let span = tracing::Span::current();
        span.record("event_id", raw.id.as_str());
        span.record("event_type", raw.event_type.as_str());
        span.record("correlation_id", raw.correlation_id.as_str());

        let key = format!("{}#{}", self.settings.name, raw.id);
        let hash = payload_hash(record.body.as_deref().unwrap_or_default().as_bytes());
        let input = match H::Input::from_envelope(raw) {
            Ok(input) => input,
            Err(e) => {
                tracing::error!(error = %e, "record does not match the expected event; failing it");
                return Outcome::Failed;
            }
        };

        let now = OffsetDateTime::now_utc();
        let claim = self
            .store
            .claim(ClaimRequest {
                key: &key,
                payload_hash: &hash,
                now,
                in_progress_until: deadline.max(now + Duration::seconds(1)),
                expires_at: now + self.settings.idempotency_ttl,
            })
            .await;
        match claim {
            Ok(Claim::Acquired) => {}
            Ok(Claim::Completed { .. }) => {
                tracing::info!("duplicate delivery; already processed, skipping");
                return Outcome::Duplicate;
            }
            Ok(Claim::InProgress) => {
                tracing::warn!("another invocation is processing this event; retrying later");
                return Outcome::Failed;
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "idempotency store unavailable");
                return Outcome::Failed;
            }
        }

        let result = AssertUnwindSafe(self.handler.handle(input))
            .catch_unwind()
            .await;
        let failure = match result {
            Ok(Ok(())) => None,
            Ok(Err(HandlerError::Retryable(e))) => Some(format!("retryable: {e:#}")),
            Ok(Err(HandlerError::Permanent(e))) => Some(format!("permanent: {e:#}")),
            Err(panic) => Some(format!("panicked: {}", panic_message(&*panic))),
        };
        match failure {
            None => {
                let expires = OffsetDateTime::now_utc() + self.settings.idempotency_ttl;
                if let Err(e) = self.store.complete(&key, None, expires).await {
                    // The effect happened; failing the record now would run it
                    // again once the in-progress claim expires. The claim still
                    // blocks duplicates until then, which is the best we can do.
                    tracing::error!(error = %format!("{e:#}"), "could not mark event completed");
                }
                Outcome::Done
            }
            Some(reason) => {
                tracing::error!(reason, "handler failed; record will be retried");
                if let Err(e) = self.store.release(&key).await {
                    tracing::error!(error = %format!("{e:#}"), "could not release idempotency claim; it expires with the invocation deadline");
                }
                Outcome::Failed
            }
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Runs a consumer as the Lambda function's handler. Called from `main`
/// after the clients are built.
pub async fn run<H, S>(consumer: Consumer<H, S>) -> Result<(), lambda_runtime::Error>
where
    H: EventHandler,
    S: IdempotencyStore,
{
    let consumer = &consumer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = OffsetDateTime::from(event.context.deadline());
        let response = consumer
            .process_batch(event.payload, deadline, &event.context.request_id)
            .await;
        Ok::<_, lambda_runtime::Error>(response)
    }))
    .await
}

#[cfg(test)]
mod tests;
