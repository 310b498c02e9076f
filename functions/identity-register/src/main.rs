use identity_register::{Deps, handle};
use platform::Env;

#[tokio::main]
async fn main() -> Result<(), http_kit::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let deps = Deps {
        store: identity::wiring::store(&env, &sdk)?,
        hasher: security::PasswordHasher::new(),
        admin_emails: identity::wiring::admin_emails(&env),
    };
    http_kit::run(|req, ctx| handle(&deps, req, ctx)).await
}
