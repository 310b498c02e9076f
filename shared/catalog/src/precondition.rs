//! Optimistic concurrency for clients: the version a change applies to,
//! given as `If-Match` (RFC 9110 13.1.1, the product's ETag is
//! `"<version>"`) or as `version` in the body.

use crate::error::CatalogError;

/// One entity tag of an `If-Match` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Version(u64),
    /// A weak tag (`W/"3"`) or an opaque one we never issued: `If-Match`
    /// compares strongly, so it can never match.
    NeverMatches,
}

/// A parsed `If-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version (the product must exist).
    Any,
    Tags(Vec<Tag>),
}

impl IfMatch {
    /// Parses `*` or a comma-separated list of entity tags.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        const SYNTAX: &str =
            "must be * or a list of entity tags such as \"3\" (the ETag of the product)";
        let raw = raw.trim();
        if raw == "*" {
            return Ok(Self::Any);
        }
        let mut tags = Vec::new();
        for part in raw.split(',') {
            let part = part.trim();
            let (weak, quoted) = match part.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, part),
            };
            let opaque = quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .ok_or(SYNTAX)?;
            if opaque.contains('"') || opaque.chars().any(|c| c.is_control()) {
                return Err(SYNTAX);
            }
            let tag = match opaque.parse::<u64>() {
                Ok(v) if !weak => Tag::Version(v),
                _ => Tag::NeverMatches,
            };
            tags.push(tag);
        }
        Ok(Self::Tags(tags))
    }

    pub fn matches(&self, version: u64) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.contains(&Tag::Version(version)),
        }
    }

    fn pins_a_version(&self) -> bool {
        !matches!(self, Self::Any)
    }
}

/// What a change request said about the version it applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    pub if_match: Option<IfMatch>,
    pub body_version: Option<u64>,
}

impl Preconditions {
    pub fn if_match(if_match: Option<IfMatch>) -> Self {
        Self {
            if_match,
            body_version: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.if_match.is_none() && self.body_version.is_none()
    }

    /// Whether the request is for one version only; if not, a change that
    /// loses a race may be retried on the newer version.
    pub fn pins_a_version(&self) -> bool {
        self.body_version.is_some() || self.if_match.as_ref().is_some_and(IfMatch::pins_a_version)
    }

    /// Checks the preconditions against the current version: `If-Match`
    /// first (412), then the body's version (409).
    pub fn check(&self, current: u64) -> Result<(), CatalogError> {
        if let Some(m) = &self.if_match
            && !m.matches(current)
        {
            return Err(CatalogError::PreconditionFailed { current });
        }
        if let Some(given) = self.body_version
            && given != current
        {
            return Err(CatalogError::VersionConflict { given, current });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_lists_and_star() {
        assert_eq!(IfMatch::parse("*"), Ok(IfMatch::Any));
        let m = IfMatch::parse("\"3\"").expect("tag");
        assert!(m.matches(3));
        assert!(!m.matches(4));
        let list = IfMatch::parse(" \"1\" , \"4\"").expect("list");
        assert!(list.matches(4) && list.matches(1) && !list.matches(2));
        // Weak and foreign tags are valid syntax that never matches.
        assert!(!IfMatch::parse("W/\"3\"").expect("weak").matches(3));
        assert!(!IfMatch::parse("\"abc\"").expect("opaque").matches(3));
        for bad in ["3", "", "\"3", "3\"", "\"3\"\"", "W/3", "\"1\",,"] {
            assert!(IfMatch::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn checks_if_match_then_body_version() {
        let pre = Preconditions {
            if_match: Some(IfMatch::parse("\"2\"").expect("tag")),
            body_version: Some(2),
        };
        assert!(pre.check(2).is_ok());
        assert!(matches!(
            pre.check(3),
            Err(CatalogError::PreconditionFailed { current: 3 })
        ));
        let body_only = Preconditions {
            if_match: None,
            body_version: Some(1),
        };
        assert!(matches!(
            body_only.check(2),
            Err(CatalogError::VersionConflict {
                given: 1,
                current: 2
            })
        ));
        assert!(body_only.pins_a_version());
        let any = Preconditions::if_match(Some(IfMatch::Any));
        assert!(any.check(9).is_ok());
        assert!(!any.pins_a_version());
        assert!(!any.is_empty());
        assert!(Preconditions::default().is_empty());
    }
}
