//! Command line and environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
Usage: local-gateway [--template PATH] [--stack-name NAME] [--listen ADDR] [--timeout SECS]

Serves the HttpApi routes of a SAM template like API Gateway HTTP API does,
running the Lambda authorizer and invoking the functions deployed in the
local emulator (AWS_ENDPOINT_URL) for the stack.

Options:
  --template PATH     SAM template to read [default: template.yaml]
  --stack-name NAME   deployed stack [env: STACK_NAME; default: serverless-commerce]
  --listen ADDR       address to serve on [env: GATEWAY_LISTEN; default: 127.0.0.1:3000]
  --timeout SECS      limit for each Lambda call, like API Gateway's
                      integration timeout [env: GATEWAY_TIMEOUT; default: 30]
  -h, --help          print this help
  -V, --version       print the version

AWS settings come from the usual variables (AWS_ENDPOINT_URL, AWS_REGION,
AWS_ACCESS_KEY_ID, ...). Logs go to stderr; RUST_LOG filters them.
";

pub const DEFAULT_STACK_NAME: &str = "serverless-commerce";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub template: PathBuf,
    pub stack_name: String,
    pub listen: SocketAddr,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Config),
    Help,
    Version,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("unknown argument {0}")]
    Unknown(String),
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("{what} {value:?} is not {expected}")]
    BadValue {
        what: String,
        value: String,
        expected: &'static str,
    },
}

/// Parses the arguments (without the program name); `env` reads variables.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, CliError> {
    let mut template = None;
    let mut stack_name = None;
    let mut listen = None;
    let mut timeout = None;

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let slot = match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--template" => &mut template,
            "--stack-name" => &mut stack_name,
            "--listen" => &mut listen,
            "--timeout" => &mut timeout,
            _ => return Err(CliError::Unknown(arg)),
        };
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| CliError::MissingValue(flag.clone()))?,
        };
        if value.is_empty() {
            return Err(CliError::MissingValue(flag));
        }
        *slot = Some(value);
    }

    let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let stack_name = stack_name
        .or_else(|| non_empty("STACK_NAME"))
        .unwrap_or_else(|| DEFAULT_STACK_NAME.to_owned());
    let (listen_what, listen) = match (listen, non_empty("GATEWAY_LISTEN")) {
        (Some(flag), _) => ("--listen", flag),
        (None, Some(var)) => ("GATEWAY_LISTEN", var),
        (None, None) => ("--listen", DEFAULT_LISTEN.to_owned()),
    };
    let listen = listen
        .parse::<SocketAddr>()
        .map_err(|_| CliError::BadValue {
            what: listen_what.to_owned(),
            value: listen.clone(),
            expected: "an address like 127.0.0.1:3000",
        })?;
    let (timeout_what, timeout) = match (timeout, non_empty("GATEWAY_TIMEOUT")) {
        (Some(flag), _) => ("--timeout", flag),
        (None, Some(var)) => ("GATEWAY_TIMEOUT", var),
        (None, None) => ("--timeout", DEFAULT_TIMEOUT_SECS.to_string()),
    };
    let timeout = timeout
        .parse::<u64>()
        .ok()
        .filter(|secs| *secs > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| CliError::BadValue {
            what: timeout_what.to_owned(),
            value: timeout.clone(),
            expected: "a positive number of seconds",
        })?;

    Ok(Command::Run(Config {
        template: PathBuf::from(template.unwrap_or_else(|| "template.yaml".to_owned())),
        stack_name,
        listen,
        timeout,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn run(list: &[&str], env: &[(&str, &str)]) -> Result<Command, CliError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        parse(args(list), move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn config(list: &[&str], env: &[(&str, &str)]) -> Config {
        match run(list, env).expect("parses") {
            Command::Run(config) => config,
            other => panic!("expected a run, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = config(&[], &[]);
        assert_eq!(c.template, PathBuf::from("template.yaml"));
        assert_eq!(c.stack_name, "serverless-commerce");
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.timeout, Duration::from_secs(30));
    }

    #[test]
    fn environment_then_flags_win() {
        let env = [
            ("STACK_NAME", "from-env"),
            ("GATEWAY_LISTEN", "127.0.0.1:4000"),
        ];
        let c = config(&[], &env);
        assert_eq!(c.stack_name, "from-env");
        assert_eq!(c.listen.port(), 4000);
        let c = config(
            &[
                "--stack-name",
                "flag",
                "--listen=127.0.0.1:5000",
                "--template",
                "t.yaml",
                "--timeout",
                "5",
            ],
            &env,
        );
        assert_eq!(c.stack_name, "flag");
        assert_eq!(c.listen.port(), 5000);
        assert_eq!(c.template, PathBuf::from("t.yaml"));
        assert_eq!(c.timeout, Duration::from_secs(5));
    }

    #[test]
    fn errors_and_help() {
        assert_eq!(run(&["--help"], &[]), Ok(Command::Help));
        assert_eq!(
            run(&["--nope"], &[]),
            Err(CliError::Unknown("--nope".to_owned()))
        );
        assert_eq!(
            run(&["--listen"], &[]),
            Err(CliError::MissingValue("--listen".to_owned()))
        );
        assert!(matches!(
            run(&["--listen", "3000"], &[]),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            run(&[], &[("GATEWAY_LISTEN", "x")]),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            run(&["--timeout", "0"], &[]),
            Err(CliError::BadValue { .. })
        ));
    }
}
