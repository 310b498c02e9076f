//! Cold-start construction shared by the orders functions, so each
//! `main.rs` stays a few lines of visible wiring.

use aws_config::SdkConfig;
use platform::Env;
use platform::idempotency::DynamoIdempotencyStore;

use crate::dynamo::DynamoOrdersStore;

/// The orders table named by `TABLE_NAME`.
pub fn store(env: &Env, sdk: &SdkConfig) -> anyhow::Result<DynamoOrdersStore> {
    Ok(DynamoOrdersStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("TABLE_NAME")?,
    ))
}

/// For consumers: the orders store and the consumer idempotency records,
/// both in the orders table, over one client.
pub fn consumer_stores(
    env: &Env,
    sdk: &SdkConfig,
) -> anyhow::Result<(DynamoOrdersStore, DynamoIdempotencyStore)> {
    let table = env.required("TABLE_NAME")?;
    let client = aws_sdk_dynamodb::Client::new(sdk);
    Ok((
        DynamoOrdersStore::new(client.clone(), table.clone()),
        DynamoIdempotencyStore::new(client, table),
    ))
}
