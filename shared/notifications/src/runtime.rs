//! Runs a notification consumer as the function's handler: the batch helper
//! of `consumer-kit`, with the invocation deadline made available to the
//! providers ([`crate::deadline`]).

use aws_lambda_events::sqs::SqsEvent;
use consumer_kit::{Consumer, EventHandler};
use lambda_runtime::{LambdaEvent, service_fn};
use platform::idempotency::IdempotencyStore;
use time::OffsetDateTime;

use crate::deadline;

pub async fn run<H, S>(consumer: Consumer<H, S>) -> Result<(), lambda_runtime::Error>
where
    H: EventHandler,
    S: IdempotencyStore,
{
    let consumer = &consumer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let wall_clock = event.context.deadline();
        let batch = consumer.process_batch(
            event.payload,
            OffsetDateTime::from(wall_clock),
            &event.context.request_id,
        );
        let response = deadline::within(deadline::instant_of(wall_clock), batch).await;
        Ok::<_, lambda_runtime::Error>(response)
    }))
    .await
}
