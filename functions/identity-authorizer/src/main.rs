use identity_authorizer::{AuthorizerRequest, UNAUTHORIZED, authorize};
use lambda_runtime::{LambdaEvent, service_fn};
use platform::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let verifier = identity::wiring::token_verifier(&env, &sdk).await?;
    let verifier = &verifier;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<AuthorizerRequest>| async move {
            authorize(verifier, &event.payload).map_err(|reason| {
                tracing::info!(request_id = %event.context.request_id, reason, "request refused");
                lambda_runtime::Error::from(UNAUTHORIZED)
            })
        },
    ))
    .await
}
