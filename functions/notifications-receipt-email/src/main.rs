use consumer_kit::{Consumer, ConsumerSettings};
use documents::S3Documents;
use notifications::wiring;
use notifications_receipt_email::{CONSUMER_NAME, ReceiptEmail};
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let links = S3Documents::from_sdk(
        &sdk,
        env.required("DOCUMENTS_BUCKET_NAME")?,
        env.parsed_or("S3_FORCE_PATH_STYLE", false)?,
    );
    let handler = ReceiptEmail::new(
        wiring::email_provider(&env, &sdk).await?,
        wiring::contacts(&env, &sdk)?,
        links,
        wiring::deliveries(&env, &sdk)?,
    );
    let store = wiring::idempotency_store(&env, &sdk)?;
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;
    notifications::runtime::run(Consumer::new(handler, store, settings)).await
}
