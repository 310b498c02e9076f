use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use contracts::RawEnvelope;

/// Where events go once they leave a service (port, so the relay can be
/// unit-tested without SNS).
pub trait EventPublisher: Send + Sync {
    fn publish(
        &self,
        envelope: &RawEnvelope,
    ) -> impl std::future::Future<Output = anyhow::Result<String>> + Send;
}

/// Publishes envelopes to one SNS topic. The message body is the envelope
/// JSON; `event_type` (and friends) travel as message attributes so that
/// subscription filter policies can route without parsing bodies.
#[derive(Clone)]
pub struct SnsPublisher {
    client: Client,
    topic_arn: String,
}

impl SnsPublisher {
    pub fn new(client: Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }
}

impl EventPublisher for SnsPublisher {
    async fn publish(&self, envelope: &RawEnvelope) -> anyhow::Result<String> {
        let body = serde_json::to_string(envelope)?;
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
        };
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body)
            .message_attributes("event_type", attr(&envelope.event_type)?)
            .message_attributes("event_version", attr(&envelope.version.to_string())?)
            .message_attributes("source", attr(&envelope.source)?)
            .message_attributes("correlation_id", attr(envelope.correlation_id.as_str())?)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "publishing {} to {}: {}",
                    envelope.id,
                    self.topic_arn,
                    aws_sdk_sns::error::DisplayErrorContext(e)
                )
            })?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}
