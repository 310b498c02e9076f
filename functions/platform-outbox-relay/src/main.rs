use lambda_runtime::{LambdaEvent, service_fn};
use platform::Env;
use platform::publisher::SnsPublisher;
use platform_outbox_relay::{StreamEvent, relay};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform::telemetry::init();
    let env = Env::process();
    let sdk = platform::config::sdk_config().await;
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), env.required("TOPIC_ARN")?);
    let publisher = &publisher;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            let published = relay(publisher, event.payload).await?;
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "published": published }))
        },
    ))
    .await
}
