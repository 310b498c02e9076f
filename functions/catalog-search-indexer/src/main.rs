use catalog::search::dynamo::DynamoSearchStore;
use catalog_search_indexer::{CONSUMER_NAME, IndexProducts};
use consumer_kit::{Consumer, ConsumerSettings};
use platform::idempotency::DynamoIdempotencyStore;
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let table = env.required("SEARCH_TABLE_NAME")?;
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;

    let sdk = platform::config::sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let handler = IndexProducts::new(DynamoSearchStore::new(dynamo.clone(), table.clone()));
    let store = DynamoIdempotencyStore::new(dynamo, table);

    consumer_kit::run(Consumer::new(handler, store, settings)).await
}
