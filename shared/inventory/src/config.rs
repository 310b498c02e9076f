use platform::{ConfigError, Env};

/// Low-stock threshold of stock records created from `product.created`
/// (admins change it per SKU afterwards).
pub const DEFAULT_LOW_STOCK_THRESHOLD: u32 = 5;

/// `DEFAULT_LOW_STOCK_THRESHOLD`, 5 when unset.
pub fn default_threshold(env: &Env) -> Result<u32, ConfigError> {
    let threshold = env.parsed_or("DEFAULT_LOW_STOCK_THRESHOLD", DEFAULT_LOW_STOCK_THRESHOLD)?;
    if threshold > crate::model::MAX_UNITS {
        return Err(ConfigError::Invalid {
            name: "DEFAULT_LOW_STOCK_THRESHOLD",
            value: threshold.to_string(),
            reason: format!("must be at most {}", crate::model::MAX_UNITS),
        });
    }
    Ok(threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_threshold_is_five_and_configurable() {
        assert_eq!(default_threshold(&Env::from_pairs(&[])), Ok(5));
        assert_eq!(
            default_threshold(&Env::from_pairs(&[("DEFAULT_LOW_STOCK_THRESHOLD", "12")])),
            Ok(12)
        );
        for bad in ["-1", "five", "2000000000"] {
            assert!(
                matches!(
                    default_threshold(&Env::from_pairs(&[("DEFAULT_LOW_STOCK_THRESHOLD", bad)])),
                    Err(ConfigError::Invalid { .. })
                ),
                "{bad}"
            );
        }
    }
}
