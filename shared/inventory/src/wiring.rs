//! Cold-start construction shared by the inventory functions, so each
//! `main.rs` stays a few lines of visible wiring.

use aws_config::SdkConfig;
use platform::Env;

use crate::dynamo::DynamoInventoryStore;

/// The inventory table named by `TABLE_NAME`.
pub fn store(env: &Env, sdk: &SdkConfig) -> anyhow::Result<DynamoInventoryStore> {
    Ok(DynamoInventoryStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("TABLE_NAME")?,
    ))
}
