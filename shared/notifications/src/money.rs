//! Money as people read it. Amounts travel as integer minor units; the
//! currency says how many of the digits are decimals.

use contracts::Currency;

/// `2500` USD -> `"25.00 USD"`, `2500` JPY -> `"2500 JPY"`, `-5` EUR -> `"-0.05 EUR"`.
pub fn format_money(minor_units: i64, currency: Currency) -> String {
    let digits = currency.minor_digits();
    let sign = if minor_units < 0 { "-" } else { "" };
    // unsigned_abs: i64::MIN has no positive i64 counterpart.
    let abs = minor_units.unsigned_abs();
    if digits == 0 {
        return format!("{sign}{abs} {currency}");
    }
    let scale = 10u64.pow(digits);
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_minor_units_with_the_currencys_decimals() {
        assert_eq!(format_money(2500, Currency::USD), "25.00 USD");
        assert_eq!(format_money(1, Currency::EUR), "0.01 EUR");
        assert_eq!(format_money(10, Currency::GBP), "0.10 GBP");
        assert_eq!(format_money(0, Currency::USD), "0.00 USD");
        assert_eq!(format_money(123_456_789, Currency::BRL), "1234567.89 BRL");
        assert_eq!(format_money(2500, Currency::JPY), "2500 JPY");
        assert_eq!(format_money(-5, Currency::EUR), "-0.05 EUR");
        assert_eq!(format_money(-2500, Currency::JPY), "-2500 JPY");
    }

    #[test]
    fn the_extremes_do_not_overflow() {
        assert_eq!(
            format_money(i64::MIN, Currency::USD),
            "-92233720368547758.08 USD"
        );
        assert_eq!(
            format_money(i64::MAX, Currency::USD),
            "92233720368547758.07 USD"
        );
    }
}
