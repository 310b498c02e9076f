//! The push channel: notifications handed to a push gateway through an
//! HTTPS webhook (the gateway owns device tokens and talks to APNs/FCM).

use std::future::Future;
use std::sync::{Arc, Mutex};

use contracts::UserId;

use crate::provider::{DeliveryReceipt, ProviderError};

#[derive(Debug, Clone, PartialEq)]
pub struct PushMessage {
    pub user_id: UserId,
    pub title: String,
    pub body: String,
    /// Extra key/values for the app (a conversation id, a deep link).
    pub data: serde_json::Map<String, serde_json::Value>,
}

pub trait PushProvider: Send + Sync {
    fn send(
        &self,
        msg: &PushMessage,
    ) -> impl Future<Output = Result<DeliveryReceipt, ProviderError>> + Send;
}

#[cfg(feature = "push")]
pub use webhook_adapter::WebhookPush;

#[cfg(feature = "push")]
mod webhook_adapter {
    use super::*;
    use crate::webhook::{WebhookClient, WebhookSettings};

    const PROVIDER: &str = "push-webhook";

    /// POSTs `{"user_id", "title", "body", "data"}` to the gateway's URL
    /// (read from Secrets Manager at cold start); the gateway's JSON `id`,
    /// if any, becomes the message id.
    #[derive(Clone)]
    pub struct WebhookPush {
        client: WebhookClient,
    }

    impl WebhookPush {
        pub fn new(url: &str, settings: WebhookSettings) -> anyhow::Result<Self> {
            Ok(Self {
                client: WebhookClient::new(url, settings)?,
            })
        }
    }

    impl PushProvider for WebhookPush {
        async fn send(&self, msg: &PushMessage) -> Result<DeliveryReceipt, ProviderError> {
            let payload = serde_json::json!({
                "user_id": msg.user_id,
                "title": msg.title,
                "body": msg.body,
                "data": msg.data,
            });
            let answer = self.client.post_json(&payload).await?;
            Ok(DeliveryReceipt {
                provider: PROVIDER,
                message_id: answer.id(),
            })
        }
    }

    #[cfg(test)]
    mod tests {
        use std::time::Duration;

        use super::*;
        use crate::deadline;
        use crate::test_server::{Reply, ScriptedServer};

        fn message(user_id: UserId) -> PushMessage {
            let mut data = serde_json::Map::new();
            data.insert("conversation_id".into(), "c-1".into());
            PushMessage {
                user_id,
                title: "New message".into(),
                body: "Ada: hello".into(),
                data,
            }
        }

        async fn send(
            server: &ScriptedServer,
            msg: &PushMessage,
        ) -> Result<DeliveryReceipt, ProviderError> {
            let push = WebhookPush::new(&server.url, WebhookSettings::default()).expect("push");
            deadline::within(
                tokio::time::Instant::now() + Duration::from_secs(10),
                push.send(msg),
            )
            .await
        }

        #[tokio::test]
        async fn an_accepted_push_returns_the_gateway_id() {
            let server =
                ScriptedServer::start(vec![Reply::json(202, serde_json::json!({"id": "push-7"}))])
                    .await;
            let user = UserId::new();

            let receipt = send(&server, &message(user)).await.expect("accepted");

            assert_eq!(receipt.provider, "push-webhook");
            assert_eq!(receipt.message_id.as_deref(), Some("push-7"));
            let body = server.received()[0].json();
            assert_eq!(body["user_id"], user.to_string());
            assert_eq!(body["title"], "New message");
            assert_eq!(body["body"], "Ada: hello");
            assert_eq!(body["data"]["conversation_id"], "c-1");
        }

        #[tokio::test]
        async fn gateway_errors_are_classified() {
            let server = ScriptedServer::start(vec![
                Reply::status(503),
                Reply::json(404, serde_json::json!({"error": "no device registered"})),
            ])
            .await;
            let msg = message(UserId::new());

            let first = send(&server, &msg).await.expect_err("unavailable");
            let second = send(&server, &msg).await.expect_err("unknown device");

            assert!(matches!(first, ProviderError::Retryable(_)), "{first:?}");
            match second {
                ProviderError::Permanent(reason) => {
                    assert!(reason.contains("404"), "{reason}");
                    assert!(reason.contains("no device registered"), "{reason}");
                }
                other => panic!("expected permanent, got {other:?}"),
            }
        }
    }
}

/// Keeps what it is asked to send; fails every send while a failure is set.
#[derive(Clone, Default)]
pub struct InMemoryPush {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    sent: Vec<PushMessage>,
    failure: Option<ProviderError>,
}

impl InMemoryPush {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn failing_with(error: ProviderError) -> Self {
        let provider = Self::default();
        provider.lock().failure = Some(error);
        provider
    }

    pub fn sent(&self) -> Vec<PushMessage> {
        self.lock().sent.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PushProvider for InMemoryPush {
    async fn send(&self, msg: &PushMessage) -> Result<DeliveryReceipt, ProviderError> {
        let mut state = self.lock();
        if let Some(error) = &state.failure {
            return Err(error.clone());
        }
        state.sent.push(msg.clone());
        Ok(DeliveryReceipt {
            provider: "in-memory",
            message_id: Some(format!("in-memory-{}", state.sent.len())),
        })
    }
}
