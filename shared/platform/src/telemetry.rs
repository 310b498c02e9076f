use tracing_subscriber::EnvFilter;

/// JSON logs, one object per line, with the fields of the current span
/// (request id, correlation id) flattened into every line. The level comes
/// from `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced logging controls) or
/// `RUST_LOG`, defaulting to `info`.
pub fn init() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|l| l.to_lowercase())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_owned());
    // A second init (tests, or a binary that already set one) is harmless.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(filter))
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}
