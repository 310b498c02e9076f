use identity::config::TokenPolicy;
use identity_refresh::{Deps, handle};
use platform::Env;

#[tokio::main]
async fn main() -> Result<(), http_kit::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let deps = Deps {
        store: identity::wiring::store(&env, &sdk)?,
        issuer: identity::wiring::token_issuer(&env, &sdk).await?,
        policy: TokenPolicy::from_env(&env)?,
    };
    http_kit::run(|req, ctx| handle(&deps, req, ctx)).await
}
