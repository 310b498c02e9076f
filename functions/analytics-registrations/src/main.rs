use analytics_registrations::{
    CONSUMER_NAME, Config, DynamoRegistrationCounter, RegistrationAnalytics,
};
use consumer_kit::{Consumer, ConsumerSettings};
use platform::archive::S3Archive;
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
    let handler = RegistrationAnalytics::new(
        DynamoRegistrationCounter::new(dynamo.clone(), config.table_name.clone()),
        S3Archive::new(aws_sdk_s3::Client::new(&sdk), config.bucket_name),
    );
    let store = DynamoIdempotencyStore::new(dynamo, config.table_name);

    consumer_kit::run(Consumer::new(handler, store, settings)).await
}
