//! The email channel: the provider port, an in-memory adapter for tests and,
//! with the `email` feature, the SES and SMTP adapters and the choice
//! between them (`EMAIL_PROVIDER=ses|smtp`).

use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use contracts::Email;

use crate::provider::{DeliveryReceipt, ProviderError};

#[cfg(feature = "email")]
pub mod ses;
#[cfg(feature = "email")]
pub mod smtp;

/// One rendered email, ready for a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    pub to: Email,
    pub subject: String,
    pub html: String,
    pub text: String,
}

pub trait EmailProvider: Send + Sync {
    fn send(
        &self,
        msg: &EmailMessage,
    ) -> impl Future<Output = Result<DeliveryReceipt, ProviderError>> + Send;
}

/// Which email adapter a function uses (`EMAIL_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmailProviderKind {
    #[default]
    Ses,
    Smtp,
}

impl FromStr for EmailProviderKind {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ses" => Ok(Self::Ses),
            "smtp" => Ok(Self::Smtp),
            _ => Err("unknown email provider (expected \"ses\" or \"smtp\")"),
        }
    }
}

/// The adapter chosen at cold start. An enum rather than a trait object
/// because the port returns `impl Future`.
#[cfg(feature = "email")]
pub enum AnyEmailProvider {
    Ses(ses::SesEmailProvider),
    // Boxed: the SMTP transport is much larger than the SES client handle.
    Smtp(Box<smtp::SmtpEmailProvider>),
}

#[cfg(feature = "email")]
impl EmailProvider for AnyEmailProvider {
    async fn send(&self, msg: &EmailMessage) -> Result<DeliveryReceipt, ProviderError> {
        match self {
            AnyEmailProvider::Ses(p) => p.send(msg).await,
            AnyEmailProvider::Smtp(p) => p.send(msg).await,
        }
    }
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
            message_id: Some(format!("in-memory-{}", state.sent.len())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_kind_parses_case_insensitively() {
        assert_eq!("ses".parse(), Ok(EmailProviderKind::Ses));
        assert_eq!("SMTP".parse(), Ok(EmailProviderKind::Smtp));
        assert!("sendgrid".parse::<EmailProviderKind>().is_err());
    }
}
