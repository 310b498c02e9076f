//! JSON POSTs to a webhook URL (Discord, push gateway) with one failure
//! policy:
//!
//! - 2xx: accepted;
//! - 429: wait as long as the answer says (`retry_after` in the JSON body,
//!   in seconds, or the `Retry-After` header) and try once more, but only if
//!   the wait and the second request fit in the invocation's remaining time;
//!   otherwise retryable, so SQS brings the message back later;
//! - 5xx, 408, timeouts and connection failures: retryable;
//! - any other status: permanent, quoting the status and the start of the body.
//!
//! The URL carries the webhook's credentials, so it never appears in errors.

use std::time::Duration;

use anyhow::Context;
use reqwest::header::RETRY_AFTER;
use reqwest::{StatusCode, Url};

use crate::deadline;
use crate::provider::{ProviderError, snippet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Whole-request timeout of one attempt.
    pub timeout: Duration,
    /// Time kept in reserve after a second attempt, for recording the outcome.
    pub margin: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3),
            margin: Duration::from_secs(1),
        }
    }
}

/// What an accepting endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAnswer {
    pub status: StatusCode,
    pub body: String,
}

impl WebhookAnswer {
    /// The `id` field of a JSON answer, if there is one.
    pub fn id(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_str(&self.body).ok()?;
        match &value["id"] {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

enum Attempt {
    Answered(WebhookAnswer),
    RateLimited(Option<Duration>),
}

#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    url: Url,
    settings: WebhookSettings,
}

impl WebhookClient {
    pub fn new(url: &str, settings: WebhookSettings) -> anyhow::Result<Self> {
        // The URL is a credential: the error names the problem, not the value.
        let url =
            Url::parse(url.trim()).map_err(|e| anyhow::anyhow!("webhook URL is invalid: {e}"))?;
        if !matches!(url.scheme(), "https" | "http") {
            anyhow::bail!("webhook URL must be http(s), not {}", url.scheme());
        }
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(2)))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            url,
            settings,
        })
    }

    pub async fn post_json(
        &self,
        payload: &serde_json::Value,
    ) -> Result<WebhookAnswer, ProviderError> {
        let wait = match self.attempt(payload).await? {
            Attempt::Answered(answer) => return Ok(answer),
            Attempt::RateLimited(wait) => wait,
        };
        let Some(wait) = wait else {
            return Err(ProviderError::Retryable(
                "429 Too Many Requests without a retry delay".into(),
            ));
        };
        if !self.fits(wait) {
            return Err(ProviderError::Retryable(format!(
                "429 Too Many Requests: retry after {:.3}s, more than this invocation has left",
                wait.as_secs_f64()
            )));
        }
        tracing::info!(
            wait_ms = wait.as_millis() as u64,
            "webhook rate limited; waiting once"
        );
        tokio::time::sleep(wait).await;
        match self.attempt(payload).await? {
            Attempt::Answered(answer) => Ok(answer),
            Attempt::RateLimited(_) => Err(ProviderError::Retryable(
                "429 Too Many Requests again after waiting".into(),
            )),
        }
    }

    fn fits(&self, wait: Duration) -> bool {
        deadline::remaining()
            .is_some_and(|left| wait + self.settings.timeout + self.settings.margin <= left)
    }

    async fn attempt(&self, payload: &serde_json::Value) -> Result<Attempt, ProviderError> {
        let response = self
            .http
            .post(self.url.clone())
            .json(payload)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let header_wait = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(seconds);
        let body = response.text().await.map_err(transport_error)?;
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Ok(Attempt::RateLimited(body_wait(&body).or(header_wait)));
        }
        if status.is_success() {
            return Ok(Attempt::Answered(WebhookAnswer { status, body }));
        }
        let described = format!("{status}: {}", snippet(&body, 200));
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            Err(ProviderError::Retryable(described))
        } else {
            Err(ProviderError::Permanent(described))
        }
    }
}

fn transport_error(e: reqwest::Error) -> ProviderError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let cause = anyhow::Error::from(e.without_url());
    ProviderError::Retryable(format!("{kind}: {cause:#}"))
}

/// A non-negative, finite number of seconds.
fn seconds(raw: &str) -> Option<Duration> {
    let secs: f64 = raw.trim().parse().ok()?;
    Duration::try_from_secs_f64(secs).ok()
}

/// Discord's rate-limit answer: `{"message": …, "retry_after": 0.25, "global": false}`.
fn body_wait(body: &str) -> Option<Duration> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    Duration::try_from_secs_f64(value.get("retry_after")?.as_f64()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_are_read_from_body_or_header() {
        assert_eq!(
            body_wait(r#"{"retry_after": 0.25, "global": false}"#),
            Some(Duration::from_millis(250))
        );
        assert_eq!(body_wait(r#"{"retry_after": -1}"#), None);
        assert_eq!(body_wait("not json"), None);
        assert_eq!(seconds("2"), Some(Duration::from_secs(2)));
        assert_eq!(seconds("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(seconds("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }

    #[test]
    fn only_http_urls_are_accepted_and_errors_do_not_echo_them() {
        assert!(WebhookClient::new("https://example.com/hook", WebhookSettings::default()).is_ok());
        let err = WebhookClient::new("ftp://example.com/secret-token", WebhookSettings::default())
            .err()
            .expect("rejected");
        assert!(!err.to_string().contains("secret-token"), "{err}");
        let err = WebhookClient::new("not a url secret-token", WebhookSettings::default())
            .err()
            .expect("rejected");
        assert!(!err.to_string().contains("secret-token"), "{err}");
    }

    #[test]
    fn answer_ids_are_read_from_json_bodies() {
        let answer = |body: &str| WebhookAnswer {
            status: StatusCode::OK,
            body: body.into(),
        };
        assert_eq!(answer(r#"{"id":"42"}"#).id().as_deref(), Some("42"));
        assert_eq!(answer(r#"{"id":42}"#).id().as_deref(), Some("42"));
        assert_eq!(answer("").id(), None);
    }
}
