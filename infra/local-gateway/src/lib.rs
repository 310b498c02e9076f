//! `local-gateway`: a local stand-in for API Gateway HTTP API (payload format
//! 2.0). It reads the `HttpApi` routes of a SAM template, serves them over
//! HTTP, runs the Lambda authorizer and invokes the functions deployed in the
//! local AWS emulator through the Lambda Invoke API.
//!
//! Modules, in the order a request meets them: [`server`] (HTTP),
//! [`gateway`] (one request end to end), [`cors`], [`routing`],
//! [`authorizer`], [`event`] (Lambda events), [`lambda`] (invoking by logical
//! id), [`response`] (Lambda result to HTTP). [`template`] reads the SAM
//! template; [`aws`] holds the AWS SDK implementations; [`app`] starts it all.

pub mod app;
pub mod authorizer;
pub mod aws;
pub mod cli;
pub mod cors;
pub mod event;
pub mod gateway;
pub mod lambda;
pub mod response;
pub mod routing;
pub mod server;
pub mod template;

/// Logs to stderr; `RUST_LOG` overrides the default level.
pub fn init_logging() {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,aws_config=error,aws_smithy_runtime=warn,hyper=warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
