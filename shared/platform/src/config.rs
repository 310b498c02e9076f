use std::str::FromStr;

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration once per cold start. Region, credentials and
/// endpoint (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`) come from the
/// environment the Lambda service (or the emulator) provides.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set (it is defined in template.yaml)")]
    Missing(&'static str),
    #[error("environment variable {name} has an invalid value {value:?}: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// Reads typed settings from a key/value source; `Env::process()` is the real
/// environment, `Env::from_pairs` lets config structs be unit-tested.
type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub struct Env {
    lookup: Lookup,
}

impl Env {
    pub fn process() -> Self {
        Self {
            lookup: Box::new(|k| std::env::var(k).ok()),
        }
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self {
            lookup: Box::new(move |k| {
                owned
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            }),
        }
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        match (self.lookup)(name) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ConfigError::Missing(name)),
        }
    }

    pub fn parsed_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match (self.lookup)(name) {
            None => Ok(default),
            Some(v) if v.trim().is_empty() => Ok(default),
            Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                value: v.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_and_defaults() {
        let env = Env::from_pairs(&[
            ("TABLE", "t1"),
            ("LIMIT", "5"),
            ("BAD", "x"),
            ("EMPTY", " "),
        ]);
        assert_eq!(env.required("TABLE").as_deref(), Ok("t1"));
        assert_eq!(env.required("NOPE"), Err(ConfigError::Missing("NOPE")));
        assert_eq!(env.required("EMPTY"), Err(ConfigError::Missing("EMPTY")));
        assert_eq!(env.parsed_or("LIMIT", 1u32), Ok(5));
        assert_eq!(env.parsed_or("MISSING", 7u32), Ok(7));
        assert!(matches!(
            env.parsed_or("BAD", 1u32),
            Err(ConfigError::Invalid { name: "BAD", .. })
        ));
    }
}
