use consumer_kit::{Consumer, ConsumerSettings};
use payments::dynamo::DynamoPaymentsStore;
use payments_charge::{CONSUMER_NAME, ChargeOrders, Config};
use platform::idempotency::DynamoIdempotencyStore;
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let config = Config::from_env(&env)?;
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;

    let sdk = platform::config::sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let stripe = payments::charges::wiring::stripe_client(&env, &sdk).await?;
    let handler = ChargeOrders::new(
        DynamoPaymentsStore::new(dynamo.clone(), config.table_name.clone()),
        stripe,
    );
    let store = DynamoIdempotencyStore::new(dynamo, config.table_name);

    consumer_kit::run(Consumer::new(handler, store, settings)).await
}
