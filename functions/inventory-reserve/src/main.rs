use consumer_kit::{Consumer, ConsumerSettings};
use inventory_reserve::{CONSUMER_NAME, ReserveOrder};
use platform::idempotency::DynamoIdempotencyStore;
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;

    let sdk = platform::config::sdk_config().await;
    let store = inventory::wiring::store(&env, &sdk)?;
    let idempotency = DynamoIdempotencyStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        env.required("TABLE_NAME")?,
    );

    consumer_kit::run(Consumer::new(
        ReserveOrder::new(store),
        idempotency,
        settings,
    ))
    .await
}
