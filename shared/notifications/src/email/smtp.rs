//! Email over SMTP (lettre, rustls), the alternative to SES for teams with
//! their own relay or a transactional-mail service's SMTP endpoint.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use contracts::Email;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use crate::email::{EmailMessage, EmailProvider};
use crate::provider::{DeliveryReceipt, ProviderError};

const PROVIDER: &str = "smtp";

/// How the connection to the relay is secured (`SMTP_TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587); the upgrade is required.
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or a test server.
    None,
}

impl FromStr for SmtpTls {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            "none" => Ok(Self::None),
            _ => Err("expected \"starttls\", \"tls\" or \"none\""),
        }
    }
}

/// SMTP login, read from a Secrets Manager secret holding
/// `{"username": "...", "password": "..."}`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct SmtpCredentials {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl SmtpCredentials {
    /// `None` for a secret without a username (a relay that needs no login).
    pub fn from_secret(json: &str) -> anyhow::Result<Option<Self>> {
        let creds: Self = serde_json::from_str(json).context(
            "the SMTP secret must be JSON like {\"username\": \"...\", \"password\": \"...\"}",
        )?;
        Ok((!creds.username.is_empty()).then_some(creds))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<SmtpCredentials>,
    /// Per SMTP command; keep it well under the function timeout.
    pub timeout: Duration,
}

pub struct SmtpEmailProvider {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpEmailProvider {
    pub fn new(settings: SmtpSettings, from: &Email) -> anyhow::Result<Self> {
        let builder = match settings.tls {
            SmtpTls::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .with_context(|| format!("configuring STARTTLS to {}", settings.host))?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)
                .with_context(|| format!("configuring TLS to {}", settings.host))?,
            SmtpTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
        };
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        if let Some(creds) = settings.credentials {
            builder = builder.credentials(Credentials::new(creds.username, creds.password));
        }
        let from = from
            .as_str()
            .parse()
            .with_context(|| format!("EMAIL_FROM {from} is not a usable sender address"))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

impl EmailProvider for SmtpEmailProvider {
    async fn send(&self, msg: &EmailMessage) -> Result<DeliveryReceipt, ProviderError> {
        let to: Mailbox = msg.to.as_str().parse().map_err(|e| {
            ProviderError::Permanent(format!("recipient {} is not usable: {e}", msg.to))
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.as_str())
            .multipart(MultiPart::alternative_plain_html(
                msg.text.clone(),
                msg.html.clone(),
            ))
            .map_err(|e| ProviderError::Permanent(format!("building the message: {e}")))?;
        let response = self
            .transport
            .send(message)
            .await
            .map_err(|e| classify(&e))?;
        // Relays answer the final dot with their queue id ("2.0.0 Ok: queued as 4Bx…").
        let answer = response.message().collect::<Vec<_>>().join(" ");
        Ok(DeliveryReceipt {
            provider: PROVIDER,
            message_id: (!answer.is_empty()).then_some(answer),
        })
    }
}

/// A 5xx reply refuses the message for good (unknown mailbox, policy
/// rejection), except the 53x family: those say our login or TLS setup is
/// wrong, which an operator fixes before redriving the DLQ. 4xx replies,
/// timeouts and connection failures are retryable.
pub fn classify(err: &lettre::transport::smtp::Error) -> ProviderError {
    match err.status() {
        Some(code) if err.is_permanent() && !(530..540).contains(&u16::from(code)) => {
            ProviderError::Permanent(err.to_string())
        }
        _ => ProviderError::Retryable(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    use super::*;

    /// What the fake relay answers to RCPT TO and AUTH.
    #[derive(Clone, Copy)]
    struct Script {
        rcpt: &'static str,
        auth: Option<&'static str>,
    }

    const ACCEPT: Script = Script {
        rcpt: "250 2.1.5 Ok",
        auth: None,
    };

    /// A minimal SMTP server on loopback that follows one conversation and
    /// records every line the client sent.
    async fn fake_relay(script: Script) -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        tokio::spawn(async move {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            if send(&mut write, "220 fake.test ESMTP").await.is_err() {
                return;
            }
            let mut in_data = false;
            while let Ok(Some(line)) = lines.next_line().await {
                log.lock().expect("lock").push(line.clone());
                let answer = if in_data {
                    if line == "." {
                        in_data = false;
                        "250 2.0.0 Ok: queued as FAKE123".to_owned()
                    } else {
                        continue;
                    }
                } else {
                    let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                    match verb.as_str() {
                        "EHLO" if script.auth.is_some() => {
                            "250-fake.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME".to_owned()
                        }
                        "EHLO" => "250-fake.test\r\n250 8BITMIME".to_owned(),
                        "AUTH" => script.auth.unwrap_or("503 no auth").to_owned(),
                        "MAIL" | "RSET" => "250 2.1.0 Ok".to_owned(),
                        "RCPT" => script.rcpt.to_owned(),
                        "DATA" => {
                            in_data = true;
                            "354 End data with <CR><LF>.<CR><LF>".to_owned()
                        }
                        "QUIT" => {
                            let _ = send(&mut write, "221 2.0.0 Bye").await;
                            return;
                        }
                        _ => "502 5.5.2 Command not recognized".to_owned(),
                    }
                };
                if send(&mut write, &answer).await.is_err() {
                    return;
                }
            }
        });
        (port, seen)
    }

    async fn send(w: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> std::io::Result<()> {
        w.write_all(format!("{text}\r\n").as_bytes()).await
    }

    fn provider(port: u16, credentials: Option<SmtpCredentials>) -> SmtpEmailProvider {
        SmtpEmailProvider::new(
            SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                tls: SmtpTls::None,
                credentials,
                timeout: Duration::from_secs(5),
            },
            &Email::parse("noreply@example.com").expect("valid"),
        )
        .expect("provider")
    }

    fn message() -> EmailMessage {
        EmailMessage {
            to: Email::parse("ada@example.com").expect("valid"),
            subject: "Deposit received".into(),
            html: "<p>25.00 USD</p>".into(),
            text: "25.00 USD".into(),
        }
    }

    #[tokio::test]
    async fn an_accepted_message_carries_both_bodies_and_the_queue_id() {
        let (port, seen) = fake_relay(ACCEPT).await;

        let receipt = provider(port, None)
            .send(&message())
            .await
            .expect("accepted");

        assert_eq!(receipt.provider, "smtp");
        let id = receipt.message_id.expect("queue id");
        assert!(id.contains("FAKE123"), "{id}");
        let lines = seen.lock().expect("lock").clone();
        assert!(
            lines.contains(&"MAIL FROM:<noreply@example.com>".to_owned()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"RCPT TO:<ada@example.com>".to_owned()),
            "{lines:?}"
        );
        let data = lines.join("\n");
        assert!(data.contains("Subject: Deposit received"), "{data}");
        assert!(data.contains("text/plain"), "{data}");
        assert!(data.contains("text/html"), "{data}");
    }

    #[tokio::test]
    async fn an_unknown_mailbox_is_permanent() {
        let (port, _) = fake_relay(Script {
            rcpt: "550 5.1.1 <ada@example.com>: Recipient address rejected",
            auth: None,
        })
        .await;

        let err = provider(port, None)
            .send(&message())
            .await
            .expect_err("refused");

        match err {
            ProviderError::Permanent(reason) => assert!(reason.contains("550"), "{reason}"),
            other => panic!("expected permanent, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_temporary_refusal_is_retryable() {
        let (port, _) = fake_relay(Script {
            rcpt: "451 4.3.0 Try again later",
            auth: None,
        })
        .await;

        let err = provider(port, None)
            .send(&message())
            .await
            .expect_err("deferred");

        assert!(matches!(err, ProviderError::Retryable(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_rejected_login_is_retryable_because_the_fix_is_ours() {
        let (port, seen) = fake_relay(Script {
            rcpt: "250 2.1.5 Ok",
            auth: Some("535 5.7.8 Authentication credentials invalid"),
        })
        .await;
        let creds = SmtpCredentials {
            username: "mailer".into(),
            password: "wrong".into(),
        };

        let err = provider(port, Some(creds))
            .send(&message())
            .await
            .expect_err("login refused");

        assert!(matches!(err, ProviderError::Retryable(_)), "{err:?}");
        let lines = seen.lock().expect("lock").clone();
        assert!(lines.iter().any(|l| l.starts_with("AUTH")), "{lines:?}");
    }

    #[tokio::test]
    async fn an_unreachable_relay_is_retryable() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };

        let err = provider(port, None)
            .send(&message())
            .await
            .expect_err("down");

        assert!(matches!(err, ProviderError::Retryable(_)), "{err:?}");
    }

    #[test]
    fn credentials_come_from_a_json_secret_and_stay_out_of_debug_output() {
        let creds = SmtpCredentials::from_secret(r#"{"username":"mailer","password":"s3cret"}"#)
            .expect("json")
            .expect("credentials");
        assert_eq!(creds.username, "mailer");
        assert!(!format!("{creds:?}").contains("s3cret"));
        assert_eq!(SmtpCredentials::from_secret("{}").expect("json"), None);
        assert!(SmtpCredentials::from_secret("user:pass").is_err());
    }

    #[test]
    fn tls_mode_parses() {
        assert_eq!("STARTTLS".parse(), Ok(SmtpTls::StartTls));
        assert_eq!("tls".parse(), Ok(SmtpTls::Tls));
        assert_eq!("none".parse(), Ok(SmtpTls::None));
        assert!("ssl".parse::<SmtpTls>().is_err());
    }
}
