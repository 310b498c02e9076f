use consumer_kit::{Consumer, ConsumerSettings};
use notifications::wiring;
use notifications_contacts::{CONSUMER_NAME, ContactsProjection};
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let handler = ContactsProjection::new(wiring::contacts(&env, &sdk)?);
    let store = wiring::idempotency_store(&env, &sdk)?;
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;
    consumer_kit::run(Consumer::new(handler, store, settings)).await
}
