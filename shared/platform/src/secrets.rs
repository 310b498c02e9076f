use std::fmt;

use aws_sdk_secretsmanager::Client;

/// A secret value that never appears in logs or `Debug` output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Reads a Secrets Manager secret (string form). Called once at cold start;
/// the value then lives in the function's memory for its lifetime.
pub async fn fetch_secret(client: &Client, secret_id: &str) -> anyhow::Result<Secret> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "reading secret {secret_id}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            )
        })?;
    let value = out
        .secret_string()
        .ok_or_else(|| anyhow::anyhow!("secret {secret_id} has no string value"))?;
    Ok(Secret(value.to_owned()))
}
