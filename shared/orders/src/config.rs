use platform::{ConfigError, Env};
use time::Duration;

/// How long an order may wait for a saga step before the timeout cancels
/// it: `SAGA_TIMEOUT_SECONDS`, 900 when unset, at least 1.
pub fn saga_timeout(env: &Env) -> Result<Duration, ConfigError> {
    let seconds: u32 = env.parsed_or("SAGA_TIMEOUT_SECONDS", 900)?;
    if seconds == 0 {
        return Err(ConfigError::Invalid {
            name: "SAGA_TIMEOUT_SECONDS",
            value: "0".into(),
            reason: "must be at least 1 second".into(),
        });
    }
    Ok(Duration::seconds(i64::from(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saga_timeout_defaults_to_fifteen_minutes_and_is_checked() {
        assert_eq!(
            saga_timeout(&Env::from_pairs(&[])),
            Ok(Duration::minutes(15))
        );
        assert_eq!(
            saga_timeout(&Env::from_pairs(&[("SAGA_TIMEOUT_SECONDS", "5")])),
            Ok(Duration::seconds(5))
        );
        for bad in ["0", "-1", "soon"] {
            assert!(matches!(
                saga_timeout(&Env::from_pairs(&[("SAGA_TIMEOUT_SECONDS", bad)])),
                Err(ConfigError::Invalid {
                    name: "SAGA_TIMEOUT_SECONDS",
                    ..
                })
            ));
        }
    }
}
