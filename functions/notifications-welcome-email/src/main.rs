use consumer_kit::{Consumer, ConsumerSettings};
use notifications::wiring;
use notifications_welcome_email::{CONSUMER_NAME, WelcomeEmail};
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let handler = WelcomeEmail::new(
        wiring::email_provider(&env, &sdk).await?,
        wiring::deliveries(&env, &sdk)?,
    );
    let store = wiring::idempotency_store(&env, &sdk)?;
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;
    notifications::runtime::run(Consumer::new(handler, store, settings)).await
}
