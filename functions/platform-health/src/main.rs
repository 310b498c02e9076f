use platform::Env;
use platform::health::{Clients, parse_checks};
use platform_health::{Deps, handle};

#[tokio::main]
async fn main() -> Result<(), http_kit::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let deps = Deps {
        clients: Clients {
            dynamo: aws_sdk_dynamodb::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            s3: aws_sdk_s3::Client::new(&sdk),
        },
        checks: parse_checks(&env.required("HEALTH_CHECKS")?)?,
        require_admin: env.parsed_or("HEALTH_REQUIRE_ADMIN", false)?,
    };
    http_kit::run(|req, ctx| handle(&deps, req, ctx)).await
}
