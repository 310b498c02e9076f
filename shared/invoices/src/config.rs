use std::time::Duration;

use documents::MAX_LINK_VALIDITY;
use platform::{ConfigError, Env};

/// Validity of the download URL `GET /invoices/{id}` hands out:
/// `DOWNLOAD_URL_TTL_SECONDS`, 300 when unset, at most 7 days.
pub fn download_url_ttl(env: &Env) -> Result<Duration, ConfigError> {
    let seconds: u64 = env.parsed_or("DOWNLOAD_URL_TTL_SECONDS", 300)?;
    if seconds == 0 || seconds > MAX_LINK_VALIDITY.as_secs() {
        return Err(ConfigError::Invalid {
            name: "DOWNLOAD_URL_TTL_SECONDS",
            value: seconds.to_string(),
            reason: format!("must be between 1 and {}", MAX_LINK_VALIDITY.as_secs()),
        });
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_ttl_defaults_to_five_minutes_and_is_bounded() {
        assert_eq!(
            download_url_ttl(&Env::from_pairs(&[])),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(
            download_url_ttl(&Env::from_pairs(&[("DOWNLOAD_URL_TTL_SECONDS", "60")])),
            Ok(Duration::from_secs(60))
        );
        for bad in ["0", "604801", "soon"] {
            assert!(
                download_url_ttl(&Env::from_pairs(&[("DOWNLOAD_URL_TTL_SECONDS", bad)])).is_err(),
                "{bad}"
            );
        }
    }
}
