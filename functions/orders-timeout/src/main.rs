use lambda_runtime::{LambdaEvent, service_fn};
use orders_timeout::handle;
use platform::Env;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let saga_timeout = orders::config::saga_timeout(&env)?;
    let sdk = platform::config::sdk_config().await;
    let store = orders::wiring::store(&env, &sdk)?;
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let report = handle(
            store,
            saga_timeout,
            event.payload,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
        Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
    }))
    .await
}
