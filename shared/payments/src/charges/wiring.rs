//! Cold-start construction of the Stripe pieces, shared by the charge and
//! refund consumers and the webhook.

use std::time::Duration;

use aws_config::SdkConfig;
use platform::secrets::fetch_secret;
use platform::{ConfigError, Env};

use crate::charges::signature::SigningSecret;
use crate::charges::stripe::{DEFAULT_API_BASE, DEFAULT_TIMEOUT, StripeClient};

/// Where Stripe is and how long one request may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSettings {
    /// `STRIPE_API_BASE`: `https://api.stripe.com` unless set (a local fake
    /// Stripe in offline runs).
    pub api_base: String,
    /// `STRIPE_SECRET_ID`: the Secrets Manager secret holding the secret key.
    pub secret_id: String,
    /// `STRIPE_TIMEOUT_MS`, 5000 unless set.
    pub timeout: Duration,
}

impl StripeSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let api_base: String = env.parsed_or("STRIPE_API_BASE", DEFAULT_API_BASE.to_owned())?;
        let timeout_ms: u64 =
            env.parsed_or("STRIPE_TIMEOUT_MS", DEFAULT_TIMEOUT.as_millis() as u64)?;
        Ok(Self {
            api_base,
            secret_id: env.required("STRIPE_SECRET_ID")?,
            timeout: Duration::from_millis(timeout_ms.max(1)),
        })
    }
}

/// The Stripe client, with its secret key read once from Secrets Manager.
pub async fn stripe_client(env: &Env, sdk: &SdkConfig) -> anyhow::Result<StripeClient> {
    let settings = StripeSettings::from_env(env)?;
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let key = fetch_secret(&secrets, &settings.secret_id).await?;
    StripeClient::new(&settings.api_base, key.expose(), settings.timeout)
}

/// The webhook signing secret named by `STRIPE_WEBHOOK_SECRET_ID`.
pub async fn webhook_secret(env: &Env, sdk: &SdkConfig) -> anyhow::Result<SigningSecret> {
    let secret_id = env.required("STRIPE_WEBHOOK_SECRET_ID")?;
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let secret = fetch_secret(&secrets, &secret_id).await?;
    if secret.expose().trim().is_empty() {
        anyhow::bail!("the Stripe webhook signing secret {secret_id} is empty");
    }
    Ok(SigningSecret::new(secret.expose().trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_the_real_api_and_need_a_secret() {
        let env = Env::from_pairs(&[("STRIPE_SECRET_ID", "stripe-key")]);
        assert_eq!(
            StripeSettings::from_env(&env),
            Ok(StripeSettings {
                api_base: "https://api.stripe.com".into(),
                secret_id: "stripe-key".into(),
                timeout: Duration::from_secs(5),
            })
        );
        let env = Env::from_pairs(&[
            ("STRIPE_SECRET_ID", "stripe-key"),
            ("STRIPE_API_BASE", "http://127.0.0.1:8420"),
            ("STRIPE_TIMEOUT_MS", "1500"),
        ]);
        let settings = StripeSettings::from_env(&env).expect("valid");
        assert_eq!(settings.api_base, "http://127.0.0.1:8420");
        assert_eq!(settings.timeout, Duration::from_millis(1500));
        assert_eq!(
            StripeSettings::from_env(&Env::from_pairs(&[])),
            Err(ConfigError::Missing("STRIPE_SECRET_ID"))
        );
        assert!(matches!(
            StripeSettings::from_env(&Env::from_pairs(&[
                ("STRIPE_SECRET_ID", "k"),
                ("STRIPE_TIMEOUT_MS", "soon"),
            ])),
            Err(ConfigError::Invalid {
                name: "STRIPE_TIMEOUT_MS",
                ..
            })
        ));
    }
}
