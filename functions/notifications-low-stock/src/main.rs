use consumer_kit::{Consumer, ConsumerSettings};
use notifications::wiring;
use notifications_low_stock::{AdminRecipients, CONSUMER_NAME, LowStockAlert};
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let admins = AdminRecipients::from_env(&env)?;
    let sdk = platform::config::sdk_config().await;
    let handler = LowStockAlert::new(
        wiring::discord_webhook(&env, &sdk).await?,
        wiring::email_provider(&env, &sdk).await?,
        admins,
        wiring::deliveries(&env, &sdk)?,
    );
    let store = wiring::idempotency_store(&env, &sdk)?;
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;
    notifications::runtime::run(Consumer::new(handler, store, settings)).await
}
