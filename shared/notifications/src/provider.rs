use std::future::Future;
use std::sync::{Arc, Mutex};

use contracts::Email;

/// One rendered email, ready for a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    pub to: Email,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// What a provider answers when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReceipt {
    pub provider: &'static str,
    pub message_id: String,
}

/// Why a provider did not accept a message. The split decides what the
/// consumer does: a retryable failure goes back to the queue (and finally to
/// the DLQ), a permanent one is recorded as a failed delivery and dropped,
/// because sending the same message again would be refused the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("provider unavailable: {0}")]
    Retryable(String),
    #[error("provider refused the message: {0}")]
    Permanent(String),
}

pub trait EmailProvider: Send + Sync {
    fn send(
        &self,
        msg: &EmailMessage,
    ) -> impl Future<Output = Result<DeliveryReceipt, ProviderError>> + Send;
}

/// Keeps what it is asked to send; fails every send while a failure is set.
/// Clones share their state, so a test keeps one and hands one out.
#[derive(Clone, Default)]
pub struct InMemoryEmailProvider {
    state: Arc<Mutex<ProviderState>>,
}

#[derive(Default)]
struct ProviderState {
    sent: Vec<EmailMessage>,
    failure: Option<ProviderError>,
}

impl InMemoryEmailProvider {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn failing_with(error: ProviderError) -> Self {
        let provider = Self::default();
        provider.lock().failure = Some(error);
        provider
    }

    /// Messages the provider accepted, in order.
    pub fn sent(&self) -> Vec<EmailMessage> {
        self.lock().sent.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProviderState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EmailProvider for InMemoryEmailProvider {
    async fn send(&self, msg: &EmailMessage) -> Result<DeliveryReceipt, ProviderError> {
        let mut state = self.lock();
        if let Some(error) = &state.failure {
            return Err(error.clone());
        }
        state.sent.push(msg.clone());
        Ok(DeliveryReceipt {
            provider: "in-memory",
            message_id: format!("in-memory-{}", state.sent.len()),
        })
    }
}
