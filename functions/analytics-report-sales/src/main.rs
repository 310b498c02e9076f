use analytics::DynamoStatsStore;
use platform::Env;

#[tokio::main]
async fn main() -> Result<(), http_kit::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let stats = DynamoStatsStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        env.required("TABLE_NAME")?,
    );
    http_kit::run(|req, ctx| analytics_report_sales::handle(&stats, req, ctx)).await
}
