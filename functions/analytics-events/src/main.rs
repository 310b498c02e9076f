use analytics::DynamoStatsStore;
use analytics_events::{CONSUMER_NAME, EventAnalytics};
use consumer_kit::{Consumer, ConsumerSettings};
use platform::archive::S3Archive;
use platform::idempotency::DynamoIdempotencyStore;
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;
    let table = env.required("TABLE_NAME")?;
    let bucket = env.required("BUCKET_NAME")?;

    let sdk = platform::config::sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let handler = EventAnalytics::new(
        DynamoStatsStore::new(dynamo.clone(), table.clone()),
        S3Archive::new(aws_sdk_s3::Client::new(&sdk), bucket),
    );
    let store = DynamoIdempotencyStore::new(dynamo, table);
    consumer_kit::run(Consumer::new(handler, store, settings)).await
}
