use consumer_kit::{Consumer, ConsumerSettings};
use orders_inventory_reserved::{CONSUMER_NAME, MarkReserved};
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;
    let sdk = platform::config::sdk_config().await;
    let (store, idempotency) = orders::wiring::consumer_stores(&env, &sdk)?;
    consumer_kit::run(Consumer::new(
        MarkReserved::new(store),
        idempotency,
        settings,
    ))
    .await
}
