//! Cold-start construction shared by the identity functions, so each
//! `main.rs` stays a few lines of visible wiring.

use aws_config::SdkConfig;
use contracts::Email;
use platform::Env;
use platform::secrets::fetch_secret;
use security::{SigningKey, TokenIssuer, TokenVerifier};

use crate::config::jwt_settings;
use crate::dynamo::DynamoIdentityStore;

pub fn store(env: &Env, sdk: &SdkConfig) -> anyhow::Result<DynamoIdentityStore> {
    Ok(DynamoIdentityStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.required("TABLE_NAME")?,
    ))
}

async fn signing_key(env: &Env, sdk: &SdkConfig) -> anyhow::Result<SigningKey> {
    let secret_id = env.required("JWT_SECRET_ID")?;
    let secret = fetch_secret(&aws_sdk_secretsmanager::Client::new(sdk), &secret_id).await?;
    Ok(SigningKey::from_secret(secret.expose())?)
}

/// Reads the signing key from Secrets Manager (once, at cold start).
pub async fn token_issuer(env: &Env, sdk: &SdkConfig) -> anyhow::Result<TokenIssuer> {
    Ok(TokenIssuer::new(
        signing_key(env, sdk).await?,
        jwt_settings(env)?,
    ))
}

pub async fn token_verifier(env: &Env, sdk: &SdkConfig) -> anyhow::Result<TokenVerifier> {
    Ok(TokenVerifier::new(
        signing_key(env, sdk).await?,
        jwt_settings(env)?,
    ))
}

/// Addresses that receive the admin role on registration (deployment
/// parameter `BootstrapAdminEmails`; empty in production unless set).
pub fn admin_emails(env: &Env) -> Vec<Email> {
    env.required("BOOTSTRAP_ADMIN_EMAILS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|e| Email::parse(e).ok())
        .collect()
}
