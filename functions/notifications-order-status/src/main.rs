use consumer_kit::{Consumer, ConsumerSettings};
use notifications::wiring;
use notifications_order_status::{CONSUMER_NAME, OrderStatusEmail};
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let handler = OrderStatusEmail::new(
        wiring::email_provider(&env, &sdk).await?,
        wiring::contacts(&env, &sdk)?,
        wiring::deliveries(&env, &sdk)?,
    );
    let store = wiring::idempotency_store(&env, &sdk)?;
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;
    notifications::runtime::run(Consumer::new(handler, store, settings)).await
}
