use notifications::wiring;
use notifications_inbox::handle;
use platform::Env;

#[tokio::main]
async fn main() -> Result<(), http_kit::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let log = wiring::delivery_log(&env, &sdk)?;
    http_kit::run(|req, ctx| handle(&log, req, ctx)).await
}
