use orders_cart_put_item::handle;
use platform::Env;

#[tokio::main]
async fn main() -> Result<(), http_kit::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let store = orders::wiring::store(&env, &sdk)?;
    http_kit::run(|req, ctx| handle(&store, req, ctx)).await
}
