//! Cold-start construction shared by the notification functions, so each
//! `main.rs` stays a few lines of visible wiring. Everything here runs once
//! per container; secrets are read here and then live in memory.
//!
//! | variable | used by | meaning |
//! |---|---|---|
//! | `TABLE_NAME` | all | notifications table |
//! | `BUCKET_NAME` | senders | rendered bodies |
//! | `EMAIL_PROVIDER` | email senders | `ses` (default) or `smtp` |
//! | `EMAIL_FROM` | email senders | sender address |
//! | `SMTP_HOST`, `SMTP_PORT` (587), `SMTP_TLS` (`starttls`/`tls`/`none`), `SMTP_SECRET_ID` (optional), `SMTP_TIMEOUT_SECS` (4) | SMTP | relay and login |
//! | `DISCORD_WEBHOOK_SECRET_ID`, `DISCORD_USERNAME` (optional) | Discord senders | webhook URL secret |
//! | `PUSH_WEBHOOK_SECRET_ID` | push senders | gateway URL secret |
//! | `SMS_SENDER_ID` (optional) | SMS senders | alphanumeric sender id |

use aws_config::SdkConfig;
use contracts::Email;
use platform::archive::S3Archive;
use platform::idempotency::DynamoIdempotencyStore;
use platform::{ConfigError, Env};

use crate::contacts::DynamoContactStore;
use crate::delivery::Deliveries;
use crate::delivery_log::DynamoDeliveryLog;
use crate::preferences::DynamoPreferenceStore;
use crate::sms::SnsSmsProvider;

/// The pipeline as deployed: log and preferences in the notifications
/// table, bodies in the notifications bucket.
pub type DynamoDeliveries = Deliveries<DynamoDeliveryLog, S3Archive, DynamoPreferenceStore>;

fn dynamo(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

pub fn deliveries(env: &Env, sdk: &SdkConfig) -> Result<DynamoDeliveries, ConfigError> {
    let table = env.required("TABLE_NAME")?;
    let client = dynamo(sdk);
    Ok(Deliveries::new(
        DynamoDeliveryLog::new(client.clone(), table.clone()),
        S3Archive::new(aws_sdk_s3::Client::new(sdk), env.required("BUCKET_NAME")?),
        DynamoPreferenceStore::new(client, table),
    ))
}

pub fn delivery_log(env: &Env, sdk: &SdkConfig) -> Result<DynamoDeliveryLog, ConfigError> {
    Ok(DynamoDeliveryLog::new(
        dynamo(sdk),
        env.required("TABLE_NAME")?,
    ))
}

pub fn preferences(env: &Env, sdk: &SdkConfig) -> Result<DynamoPreferenceStore, ConfigError> {
    Ok(DynamoPreferenceStore::new(
        dynamo(sdk),
        env.required("TABLE_NAME")?,
    ))
}

pub fn contacts(env: &Env, sdk: &SdkConfig) -> Result<DynamoContactStore, ConfigError> {
    Ok(DynamoContactStore::new(
        dynamo(sdk),
        env.required("TABLE_NAME")?,
    ))
}

/// Consumers keep their idempotency records in the notifications table.
pub fn idempotency_store(
    env: &Env,
    sdk: &SdkConfig,
) -> Result<DynamoIdempotencyStore, ConfigError> {
    Ok(DynamoIdempotencyStore::new(
        dynamo(sdk),
        env.required("TABLE_NAME")?,
    ))
}

/// `EMAIL_FROM`, a plain address.
pub fn email_from(env: &Env) -> Result<Email, ConfigError> {
    let from = env.required("EMAIL_FROM")?;
    Email::parse(&from).map_err(|reason| ConfigError::Invalid {
        name: "EMAIL_FROM",
        value: from.clone(),
        reason: format!("{reason} (expected a plain address such as noreply@example.com)"),
    })
}

pub fn sms_provider(env: &Env, sdk: &SdkConfig) -> SnsSmsProvider {
    SnsSmsProvider::new(
        aws_sdk_sns::Client::new(sdk),
        env.required("SMS_SENDER_ID").ok(),
    )
}

#[cfg(any(feature = "email", feature = "discord", feature = "push"))]
async fn secret(
    env: &Env,
    sdk: &SdkConfig,
    name: &'static str,
) -> anyhow::Result<platform::secrets::Secret> {
    let id = env.required(name)?;
    platform::secrets::fetch_secret(&aws_sdk_secretsmanager::Client::new(sdk), &id).await
}

#[cfg(feature = "email")]
pub use email::{email_provider, smtp_settings};

#[cfg(feature = "email")]
mod email {
    use std::time::Duration;

    use super::*;
    use crate::email::smtp::{SmtpCredentials, SmtpEmailProvider, SmtpSettings, SmtpTls};
    use crate::email::{AnyEmailProvider, EmailProviderKind, ses::SesEmailProvider};

    /// The adapter `EMAIL_PROVIDER` names, ready to send.
    pub async fn email_provider(env: &Env, sdk: &SdkConfig) -> anyhow::Result<AnyEmailProvider> {
        let from = email_from(env)?;
        match env.parsed_or("EMAIL_PROVIDER", EmailProviderKind::Ses)? {
            EmailProviderKind::Ses => Ok(AnyEmailProvider::Ses(SesEmailProvider::new(
                aws_sdk_sesv2::Client::new(sdk),
                from.to_string(),
            ))),
            EmailProviderKind::Smtp => {
                let credentials = match env.required("SMTP_SECRET_ID") {
                    Ok(_) => SmtpCredentials::from_secret(
                        secret(env, sdk, "SMTP_SECRET_ID").await?.expose(),
                    )?,
                    Err(_) => None,
                };
                let settings = smtp_settings(env, credentials)?;
                Ok(AnyEmailProvider::Smtp(Box::new(SmtpEmailProvider::new(
                    settings, &from,
                )?)))
            }
        }
    }

    pub fn smtp_settings(
        env: &Env,
        credentials: Option<SmtpCredentials>,
    ) -> Result<SmtpSettings, ConfigError> {
        Ok(SmtpSettings {
            host: env.required("SMTP_HOST")?,
            port: env.parsed_or("SMTP_PORT", 587u16)?,
            tls: env.parsed_or("SMTP_TLS", SmtpTls::StartTls)?,
            credentials,
            timeout: Duration::from_secs(env.parsed_or("SMTP_TIMEOUT_SECS", 4u64)?),
        })
    }
}

#[cfg(feature = "discord")]
pub async fn discord_webhook(
    env: &Env,
    sdk: &SdkConfig,
) -> anyhow::Result<crate::discord::DiscordWebhook> {
    let url = secret(env, sdk, "DISCORD_WEBHOOK_SECRET_ID").await?;
    let username = env
        .required("DISCORD_USERNAME")
        .unwrap_or_else(|_| "Serverless Commerce".to_owned());
    crate::discord::DiscordWebhook::new(
        url.expose(),
        &username,
        crate::webhook::WebhookSettings::default(),
    )
}

#[cfg(feature = "push")]
pub async fn push_webhook(env: &Env, sdk: &SdkConfig) -> anyhow::Result<crate::push::WebhookPush> {
    let url = secret(env, sdk, "PUSH_WEBHOOK_SECRET_ID").await?;
    crate::push::WebhookPush::new(url.expose(), crate::webhook::WebhookSettings::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::smtp::SmtpTls;

    #[test]
    fn the_sender_must_be_a_plain_address() {
        let ok = Env::from_pairs(&[("EMAIL_FROM", "NoReply@Example.com")]);
        assert_eq!(
            email_from(&ok).expect("valid").as_str(),
            "noreply@example.com"
        );
        let bad = Env::from_pairs(&[("EMAIL_FROM", "Shop <noreply@example.com>")]);
        assert!(matches!(
            email_from(&bad),
            Err(ConfigError::Invalid {
                name: "EMAIL_FROM",
                ..
            })
        ));
        assert_eq!(
            email_from(&Env::from_pairs(&[])),
            Err(ConfigError::Missing("EMAIL_FROM"))
        );
    }

    #[test]
    fn smtp_settings_have_defaults_and_validate() {
        let env = Env::from_pairs(&[("SMTP_HOST", "smtp.example.com")]);
        let s = smtp_settings(&env, None).expect("valid");
        assert_eq!(s.port, 587);
        assert_eq!(s.tls, SmtpTls::StartTls);
        let env = Env::from_pairs(&[
            ("SMTP_HOST", "localhost"),
            ("SMTP_PORT", "1025"),
            ("SMTP_TLS", "none"),
        ]);
        let s = smtp_settings(&env, None).expect("valid");
        assert_eq!((s.port, s.tls), (1025, SmtpTls::None));
        let bad = Env::from_pairs(&[("SMTP_HOST", "h"), ("SMTP_TLS", "ssl3")]);
        assert!(matches!(
            smtp_settings(&bad, None),
            Err(ConfigError::Invalid {
                name: "SMTP_TLS",
                ..
            })
        ));
        assert_eq!(
            smtp_settings(&Env::from_pairs(&[]), None),
            Err(ConfigError::Missing("SMTP_HOST"))
        );
    }

    #[test]
    fn an_unknown_email_provider_is_a_config_error() {
        let env = Env::from_pairs(&[("EMAIL_PROVIDER", "carrier-pigeon")]);
        assert!(matches!(
            env.parsed_or("EMAIL_PROVIDER", crate::email::EmailProviderKind::Ses),
            Err(ConfigError::Invalid {
                name: "EMAIL_PROVIDER",
                ..
            })
        ));
    }
}
