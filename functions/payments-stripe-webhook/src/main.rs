use payments::charges::wiring::{stripe_client, webhook_secret};
use payments_stripe_webhook::{Webhook, handle};
use platform::Env;

#[tokio::main]
async fn main() -> Result<(), http_kit::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let hook = Webhook::new(
        payments::wiring::store(&env, &sdk)?,
        stripe_client(&env, &sdk).await?,
        webhook_secret(&env, &sdk).await?,
    );
    http_kit::run(|req, ctx| handle(&hook, req, ctx, time::OffsetDateTime::now_utc())).await
}
