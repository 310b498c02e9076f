use http_kit::{ApiError, FieldError};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

/// An inclusive range of UTC days, from `?from=yyyy-mm-dd&to=yyyy-mm-dd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: Date,
    pub to: Date,
}

/// Reports cover at most this many days per request.
pub const MAX_DAYS: i64 = 366;

impl DayRange {
    /// Missing bounds default to the 30 days ending today.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Self, ApiError> {
        let fmt = format_description!("[year]-[month]-[day]");
        let mut errors = Vec::new();
        let mut parse = |field: &str, raw: Option<&str>, default: Date| match raw {
            None => Some(default),
            Some(v) => match Date::parse(v, &fmt) {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.push(FieldError::new(field, "must be a date like 2026-11-21"));
                    None
                }
            },
        };
        let to = parse("to", to, today);
        let from = parse("from", from, to.unwrap_or(today) - Duration::days(29));
        let (Some(from), Some(to)) = (from, to) else {
            return Err(ApiError::Validation(errors));
        };
        if from > to {
            return Err(ApiError::Validation(vec![FieldError::new(
                "from",
                "must not be after `to`",
            )]));
        }
        if (to - from).whole_days() >= MAX_DAYS {
            return Err(ApiError::Validation(vec![FieldError::new(
                "to",
                format!("the range may cover at most {MAX_DAYS} days"),
            )]));
        }
        Ok(Self { from, to })
    }

    pub fn today() -> Date {
        OffsetDateTime::now_utc().date()
    }

    pub fn days(&self) -> impl Iterator<Item = Date> + '_ {
        let mut day = Some(self.from);
        std::iter::from_fn(move || {
            let current = day.filter(|d| *d <= self.to)?;
            day = current.next_day();
            Some(current)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn defaults_to_the_last_thirty_days() {
        let r = DayRange::parse(None, None, date!(2026 - 11 - 21)).expect("range");
        assert_eq!(r.from, date!(2026 - 10 - 23));
        assert_eq!(r.days().count(), 30);
    }

    #[test]
    fn rejects_bad_dates_and_ranges() {
        let today = date!(2026 - 11 - 21);
        assert!(DayRange::parse(Some("yesterday"), None, today).is_err());
        assert!(DayRange::parse(Some("2026-11-22"), Some("2026-11-21"), today).is_err());
        assert!(DayRange::parse(Some("2020-01-01"), Some("2026-01-01"), today).is_err());
        assert!(DayRange::parse(Some("2026-02-30"), None, today).is_err());
        let one = DayRange::parse(Some("2026-11-01"), Some("2026-11-01"), today).expect("one day");
        assert_eq!(one.days().count(), 1);
    }
}
