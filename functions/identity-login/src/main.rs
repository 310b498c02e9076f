use identity::config::{LoginLimits, TokenPolicy};
use identity::service::LoginDeps;
use identity_login::handle;
use platform::Env;

#[tokio::main]
async fn main() -> Result<(), http_kit::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let deps = LoginDeps {
        store: identity::wiring::store(&env, &sdk)?,
        hasher: security::PasswordHasher::new(),
        issuer: identity::wiring::token_issuer(&env, &sdk).await?,
        limits: LoginLimits::from_env(&env)?,
        policy: TokenPolicy::from_env(&env)?,
    };
    http_kit::run(|req, ctx| handle(&deps, req, ctx)).await
}
