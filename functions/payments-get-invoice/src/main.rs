use platform::Env;

#[tokio::main]
async fn main() -> Result<(), http_kit::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let ttl = invoices::config::download_url_ttl(&env)?;
    let sdk = platform::config::sdk_config().await;
    let store = invoices::wiring::store(&env, &sdk)?;
    let documents = invoices::wiring::documents(&env, &sdk)?;
    http_kit::run(|req, ctx| payments_get_invoice::handle(&store, &documents, ttl, req, ctx)).await
}
