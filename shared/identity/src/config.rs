use platform::{ConfigError, Env};

/// Login throttling: failed attempts allowed per window, per account and per
/// client IP. Both are fixed windows counted in DynamoDB.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub window_secs: i64,
    pub max_failures_per_account: u32,
    pub max_failures_per_ip: u32,
}

impl LoginLimits {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            window_secs: env.parsed_or("LOGIN_WINDOW_SECS", 300i64)?.max(1),
            max_failures_per_account: env.parsed_or("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5u32)?,
            max_failures_per_ip: env.parsed_or("LOGIN_MAX_FAILURES_PER_IP", 50u32)?,
        })
    }
}

/// Settings of token issuance.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    pub refresh_ttl: time::Duration,
}

impl TokenPolicy {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            refresh_ttl: time::Duration::days(env.parsed_or("REFRESH_TOKEN_TTL_DAYS", 30i64)?),
        })
    }
}

/// JWT settings shared by the issuing functions and the authorizer.
pub fn jwt_settings(env: &Env) -> Result<security::JwtSettings, ConfigError> {
    Ok(security::JwtSettings {
        issuer: env.required("JWT_ISSUER")?,
        audience: env.required("JWT_AUDIENCE")?,
        access_ttl: time::Duration::seconds(env.parsed_or("ACCESS_TOKEN_TTL_SECS", 900i64)?),
    })
}
