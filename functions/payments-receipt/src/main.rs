use consumer_kit::{Consumer, ConsumerSettings};
use payments_receipt::{CONSUMER_NAME, Config, IssueReceipt, PdfReceipts};
use platform::idempotency::DynamoIdempotencyStore;
use platform::{Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let env = Env::process();
    let config = Config::from_env(&env)?;
    let settings = ConsumerSettings::from_env(&env, CONSUMER_NAME)?;

    let sdk = platform::config::sdk_config().await;
    let handler = IssueReceipt::new(
        invoices::wiring::store(&env, &sdk)?,
        invoices::wiring::documents(&env, &sdk)?,
        PdfReceipts::new(config.seller_name),
    );
    let store = DynamoIdempotencyStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        env.required("TABLE_NAME")?,
    );
    consumer_kit::run(Consumer::new(handler, store, settings)).await
}
