use contracts::Currency;
use platform::{ConfigError, Env};

/// Currency of new wallets: `DEFAULT_CURRENCY` (an ISO 4217 code the system
/// supports), USD when unset.
pub fn default_currency(env: &Env) -> Result<Currency, ConfigError> {
    env.parsed_or("DEFAULT_CURRENCY", Currency::USD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_currency_is_usd_and_configurable() {
        assert_eq!(default_currency(&Env::from_pairs(&[])), Ok(Currency::USD));
        assert_eq!(
            default_currency(&Env::from_pairs(&[("DEFAULT_CURRENCY", "EUR")])),
            Ok(Currency::EUR)
        );
        assert!(matches!(
            default_currency(&Env::from_pairs(&[("DEFAULT_CURRENCY", "euro")])),
            Err(ConfigError::Invalid {
                name: "DEFAULT_CURRENCY",
                ..
            })
        ));
    }
}
