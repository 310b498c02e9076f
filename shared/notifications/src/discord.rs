//! The Discord channel: messages posted to a channel webhook.

use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::provider::{DeliveryReceipt, ProviderError};

/// Discord refuses longer messages with a 400.
pub const MAX_CONTENT_CHARS: usize = 2000;

/// One rendered Discord message (Discord-flavoured markdown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordMessage {
    pub content: String,
}

pub trait DiscordProvider: Send + Sync {
    fn send(
        &self,
        msg: &DiscordMessage,
    ) -> impl Future<Output = Result<DeliveryReceipt, ProviderError>> + Send;
}

#[cfg(feature = "discord")]
pub use webhook_adapter::DiscordWebhook;

#[cfg(feature = "discord")]
mod webhook_adapter {
    use super::*;
    use crate::webhook::{WebhookClient, WebhookSettings};

    const PROVIDER: &str = "discord";

    /// Posts `{"content", "username"}` to a webhook URL (read from Secrets
    /// Manager at cold start). Mentions are disabled: message text contains
    /// user-chosen names, and a name like `@everyone` must not ping anyone.
    #[derive(Clone)]
    pub struct DiscordWebhook {
        client: WebhookClient,
        username: String,
    }

    impl DiscordWebhook {
        pub fn new(url: &str, username: &str, settings: WebhookSettings) -> anyhow::Result<Self> {
            Ok(Self {
                client: WebhookClient::new(url, settings)?,
                username: username.to_owned(),
            })
        }
    }

    impl DiscordProvider for DiscordWebhook {
        async fn send(&self, msg: &DiscordMessage) -> Result<DeliveryReceipt, ProviderError> {
            let payload = serde_json::json!({
                "content": truncate(&msg.content, MAX_CONTENT_CHARS),
                "username": self.username,
                "allowed_mentions": {"parse": []},
            });
            let answer = self.client.post_json(&payload).await?;
            // 204 without `?wait=true`; 200 with the created message otherwise.
            Ok(DeliveryReceipt {
                provider: PROVIDER,
                message_id: answer.id(),
            })
        }
    }

    fn truncate(text: &str, max: usize) -> String {
        match text.char_indices().nth(max.saturating_sub(1)) {
            Some((cut, _)) if text.chars().count() > max => format!("{}…", &text[..cut]),
            _ => text.to_owned(),
        }
    }

    #[cfg(test)]
    mod tests {
        use std::time::Duration;

        use tokio::time::Instant;

        use super::*;
        use crate::deadline;
        use crate::test_server::{Reply, ScriptedServer};

        fn webhook(server: &ScriptedServer) -> DiscordWebhook {
            DiscordWebhook::new(&server.url, "Shop Bot", WebhookSettings::default())
                .expect("webhook")
        }

        fn message() -> DiscordMessage {
            DiscordMessage {
                content: "New member: **Ada**".into(),
            }
        }

        /// Runs `send` as an invocation with `left` before its deadline.
        async fn send_with(
            hook: &DiscordWebhook,
            left: Duration,
        ) -> Result<DeliveryReceipt, ProviderError> {
            deadline::within(Instant::now() + left, hook.send(&message())).await
        }

        #[tokio::test]
        async fn a_204_is_a_delivery_of_content_and_username() {
            let server = ScriptedServer::start(vec![Reply::status(204)]).await;

            let receipt = send_with(&webhook(&server), Duration::from_secs(10))
                .await
                .expect("delivered");

            assert_eq!(receipt.provider, "discord");
            assert_eq!(receipt.message_id, None);
            let received = server.received();
            assert_eq!(received.len(), 1);
            assert_eq!(received[0].method, "POST");
            assert_eq!(received[0].path, "/webhooks/123/token");
            assert!(
                received[0]
                    .header("content-type")
                    .is_some_and(|ct| ct.starts_with("application/json"))
            );
            let body = received[0].json();
            assert_eq!(body["content"], "New member: **Ada**");
            assert_eq!(body["username"], "Shop Bot");
            assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
        }

        #[tokio::test]
        async fn a_429_is_waited_out_once_when_the_invocation_has_time() {
            let server = ScriptedServer::start(vec![
                Reply::json(
                    429,
                    serde_json::json!({"message": "You are being rate limited.", "retry_after": 0.1, "global": false}),
                ),
                Reply::status(204),
            ])
            .await;

            send_with(&webhook(&server), Duration::from_secs(10))
                .await
                .expect("delivered after waiting");

            let received = server.received();
            assert_eq!(received.len(), 2, "one retry, one delivery");
            let waited = received[1].at - received[0].at;
            assert!(waited >= Duration::from_millis(100), "waited {waited:?}");
            assert_eq!(received[0].body, received[1].body);
        }

        #[tokio::test]
        async fn the_retry_after_header_is_honoured_too() {
            let server = ScriptedServer::start(vec![
                Reply::status(429).header("retry-after", "0.05"),
                Reply::json(200, serde_json::json!({"id": "1100"})),
            ])
            .await;

            let receipt = send_with(&webhook(&server), Duration::from_secs(10))
                .await
                .expect("delivered");

            assert_eq!(receipt.message_id.as_deref(), Some("1100"));
            assert_eq!(server.received().len(), 2);
        }

        #[tokio::test]
        async fn a_429_longer_than_the_time_left_is_retryable_without_waiting() {
            let server = ScriptedServer::start(vec![Reply::json(
                429,
                serde_json::json!({"retry_after": 30.0, "global": false}),
            )])
            .await;
            let started = Instant::now();

            let err = send_with(&webhook(&server), Duration::from_secs(5))
                .await
                .expect_err("not delivered");

            assert!(matches!(err, ProviderError::Retryable(_)), "{err:?}");
            assert!(started.elapsed() < Duration::from_secs(2));
            assert_eq!(server.received().len(), 1);
        }

        #[tokio::test]
        async fn a_second_429_is_retryable() {
            let server = ScriptedServer::start(vec![
                Reply::json(429, serde_json::json!({"retry_after": 0.01})),
                Reply::json(429, serde_json::json!({"retry_after": 0.01})),
            ])
            .await;

            let err = send_with(&webhook(&server), Duration::from_secs(10))
                .await
                .expect_err("still limited");

            assert!(matches!(err, ProviderError::Retryable(_)), "{err:?}");
            assert_eq!(server.received().len(), 2, "retried once, not more");
        }

        #[tokio::test]
        async fn a_500_is_retryable() {
            let server = ScriptedServer::start(vec![Reply::status(500)]).await;

            let err = send_with(&webhook(&server), Duration::from_secs(10))
                .await
                .expect_err("server error");

            assert!(matches!(err, ProviderError::Retryable(_)), "{err:?}");
            assert_eq!(server.received().len(), 1);
        }

        #[tokio::test]
        async fn a_400_is_permanent_with_status_and_body() {
            let server = ScriptedServer::start(vec![Reply::json(
                400,
                serde_json::json!({"message": "Cannot send an empty message", "code": 50006}),
            )])
            .await;

            let err = send_with(&webhook(&server), Duration::from_secs(10))
                .await
                .expect_err("refused");

            match err {
                ProviderError::Permanent(reason) => {
                    assert!(reason.starts_with("400 Bad Request"), "{reason}");
                    assert!(reason.contains("Cannot send an empty message"), "{reason}");
                    assert!(!reason.contains("token"), "the URL leaked: {reason}");
                }
                other => panic!("expected permanent, got {other:?}"),
            }
        }

        #[tokio::test]
        async fn an_unreachable_webhook_is_retryable_and_does_not_leak_the_url() {
            let port = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                listener.local_addr().expect("addr").port()
            };
            let hook = DiscordWebhook::new(
                &format!("http://127.0.0.1:{port}/webhooks/1/secret-token"),
                "Shop Bot",
                WebhookSettings::default(),
            )
            .expect("webhook");

            let err = send_with(&hook, Duration::from_secs(10))
                .await
                .expect_err("down");

            match err {
                ProviderError::Retryable(reason) => {
                    assert!(!reason.contains("secret-token"), "{reason}")
                }
                other => panic!("expected retryable, got {other:?}"),
            }
        }

        #[test]
        fn long_content_is_cut_to_discords_limit() {
            let long = "é".repeat(MAX_CONTENT_CHARS + 10);
            let cut = truncate(&long, MAX_CONTENT_CHARS);
            assert_eq!(cut.chars().count(), MAX_CONTENT_CHARS);
            assert!(cut.ends_with('…'));
            assert_eq!(truncate("short", MAX_CONTENT_CHARS), "short");
        }
    }
}

/// Keeps what it is asked to send; fails every send while a failure is set.
/// Clones share their state.
#[derive(Clone, Default)]
pub struct InMemoryDiscord {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    sent: Vec<DiscordMessage>,
    failure: Option<ProviderError>,
}

impl InMemoryDiscord {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn failing_with(error: ProviderError) -> Self {
        let provider = Self::default();
        provider.lock().failure = Some(error);
        provider
    }

    pub fn sent(&self) -> Vec<DiscordMessage> {
        self.lock().sent.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl DiscordProvider for InMemoryDiscord {
    async fn send(&self, msg: &DiscordMessage) -> Result<DeliveryReceipt, ProviderError> {
        let mut state = self.lock();
        if let Some(error) = &state.failure {
            return Err(error.clone());
        }
        state.sent.push(msg.clone());
        Ok(DeliveryReceipt {
            provider: "in-memory",
            message_id: None,
        })
    }
}
