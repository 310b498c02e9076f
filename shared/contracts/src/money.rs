use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// ISO 4217 currencies the system accepts. A closed list: an unknown code is
/// a client error, not something to store and discover later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    USD,
    EUR,
    GBP,
    JPY,
    CHF,
    CAD,
    AUD,
    SEK,
    NOK,
    DKK,
    PLN,
    BRL,
}

impl Currency {
    pub fn code(&self) -> &'static str {
        match self {
            Currency::USD => "USD",
            Currency::EUR => "EUR",
            Currency::GBP => "GBP",
            Currency::JPY => "JPY",
            Currency::CHF => "CHF",
            Currency::CAD => "CAD",
            Currency::AUD => "AUD",
            Currency::SEK => "SEK",
            Currency::NOK => "NOK",
            Currency::DKK => "DKK",
            Currency::PLN => "PLN",
            Currency::BRL => "BRL",
        }
    }

    /// Digits after the decimal point (minor units per major unit = 10^n).
    pub fn minor_digits(&self) -> u32 {
        match self {
            Currency::JPY => 0,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "USD" => Currency::USD,
            "EUR" => Currency::EUR,
            "GBP" => Currency::GBP,
            "JPY" => Currency::JPY,
            "CHF" => Currency::CHF,
            "CAD" => Currency::CAD,
            "AUD" => Currency::AUD,
            "SEK" => Currency::SEK,
            "NOK" => Currency::NOK,
            "DKK" => Currency::DKK,
            "PLN" => Currency::PLN,
            "BRL" => Currency::BRL,
            _ => return Err("is not a supported ISO 4217 currency code"),
        })
    }
}

/// An amount of money: integer minor units (cents) plus currency. Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: i64,
    pub currency: Currency,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_codes_round_trip() {
        for code in ["USD", "EUR", "JPY", "BRL"] {
            assert_eq!(code.parse::<Currency>().expect("known").code(), code);
        }
        assert!("usd".parse::<Currency>().is_err());
        assert!("XXX".parse::<Currency>().is_err());
        assert_eq!(Currency::JPY.minor_digits(), 0);
    }

    #[test]
    fn money_serialises_as_minor_units_and_code() {
        let m = Money {
            amount: 1250,
            currency: Currency::EUR,
        };
        assert_eq!(
            serde_json::to_value(m).expect("json"),
            serde_json::json!({"amount": 1250, "currency": "EUR"})
        );
    }
}
