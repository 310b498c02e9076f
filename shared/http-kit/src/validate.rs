use std::fmt::Display;

use crate::error::{ApiError, FieldError};

/// Collects every field problem of a request so the client sees all of them
/// at once, then hands back the parsed values ("parse, don't validate").
///
/// ```ignore
/// let mut v = Validator::new();
/// let email = v.parse("email", dto.email, Email::parse);
/// let name = v.parse("name", dto.name, PersonName::parse);
/// let (email, name) = v.finish(email.zip(name))?;
/// ```
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// A required field parsed by `parse`; missing or invalid values are recorded.
    pub fn parse<R, T, E>(
        &mut self,
        field: &str,
        raw: Option<R>,
        parse: impl FnOnce(R) -> Result<T, E>,
    ) -> Option<T>
    where
        E: Display,
    {
        match raw {
            None => {
                self.errors.push(FieldError::new(field, "is required"));
                None
            }
            Some(raw) => self.check(field, parse(raw)),
        }
    }

    /// Records the error of an already computed result.
    pub fn check<T, E: Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(FieldError::new(field, e.to_string()));
                None
            }
        }
    }

    /// Records a problem found by a cross-field rule.
    pub fn reject(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// `Ok(value)` if no problem was recorded.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            // A `None` without a recorded error is a bug in the caller; still
            // a client-visible 400 rather than a panic.
            _ if self.errors.is_empty() => Err(ApiError::Validation(vec![FieldError::new(
                "body",
                "is invalid",
            )])),
            _ => Err(ApiError::Validation(self.errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positive(s: String) -> Result<u32, &'static str> {
        s.parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or("must be a positive integer")
    }

    #[test]
    fn collects_every_problem() {
        let mut v = Validator::new();
        let a = v.parse("a", None::<String>, positive);
        let b = v.parse("b", Some("0".to_owned()), positive);
        let c = v.parse("c", Some("5".to_owned()), positive);
        assert_eq!(c, Some(5));
        match v.finish(a.zip(b)) {
            Err(ApiError::Validation(errors)) => {
                assert_eq!(errors.len(), 2);
                assert_eq!(errors[0], FieldError::new("a", "is required"));
                assert_eq!(errors[1].field, "b");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn finishes_with_the_value_when_clean() {
        let mut v = Validator::new();
        let a = v.parse("a", Some("3".to_owned()), positive);
        assert_eq!(v.finish(a).ok(), Some(3));
    }
}
