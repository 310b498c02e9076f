//! Amounts as a receipt prints them: grouped thousands, the currency's
//! decimals, the ISO code after the figure.

use contracts::Currency;

/// `123456` USD -> `"1,234.56 USD"`, `5000` JPY -> `"5,000 JPY"`.
pub fn format(minor_units: i128, currency: Currency) -> String {
    let digits = currency.minor_digits();
    let sign = if minor_units < 0 { "-" } else { "" };
    let abs = minor_units.unsigned_abs();
    let scale = 10u128.pow(digits);
    let whole = group(abs / scale);
    if digits == 0 {
        format!("{sign}{whole} {currency}")
    } else {
        format!(
            "{sign}{whole}.{:0width$} {currency}",
            abs % scale,
            width = digits as usize
        )
    }
}

fn group(n: u128) -> String {
    let plain = n.to_string();
    let mut out = String::with_capacity(plain.len() + plain.len() / 3);
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && (plain.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands_and_keeps_the_currencys_decimals() {
        assert_eq!(format(0, Currency::USD), "0.00 USD");
        assert_eq!(format(5, Currency::EUR), "0.05 EUR");
        assert_eq!(format(123_456, Currency::USD), "1,234.56 USD");
        assert_eq!(format(100_000_000, Currency::GBP), "1,000,000.00 GBP");
        assert_eq!(format(5_000, Currency::JPY), "5,000 JPY");
        assert_eq!(format(-123_456, Currency::USD), "-1,234.56 USD");
        assert_eq!(format(999, Currency::JPY), "999 JPY");
    }
}
