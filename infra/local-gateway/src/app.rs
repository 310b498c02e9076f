//! Start-up: template, AWS clients, stack, routes table, server.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use tokio::net::TcpListener;

use crate::aws::{CloudFormationCatalog, LambdaInvoker};
use crate::cli::Config;
use crate::event::ApiIdentity;
use crate::gateway::Gateway;
use crate::lambda::{FunctionCatalog, Functions, Invoker, StackSnapshot};
use crate::template::{self, ApiSpec, FunctionRef, RouteAuth};
use crate::{server, template::IMPLICIT_API_ID};

/// Used when the stack ARN gives no account.
const DEFAULT_ACCOUNT_ID: &str = "000000000000";

pub async fn run(config: Config) -> anyhow::Result<()> {
    let spec = template::load(&config.template)?;
    for warning in &spec.warnings {
        tracing::warn!("{warning}");
    }

    let sdk = aws_config::load_from_env().await;
    let region = sdk.region().map(ToString::to_string).ok_or_else(|| {
        anyhow!(
            "no AWS region configured: export AWS_REGION=us-east-1 \
             (and AWS_ENDPOINT_URL=http://localhost:4566 for the local emulator)"
        )
    })?;
    let functions = Functions::new(
        LambdaInvoker::new(&sdk),
        CloudFormationCatalog::new(&sdk, config.stack_name.clone()),
    )
    .await?;
    let snapshot = functions.snapshot().await;

    let api = ApiIdentity {
        account_id: snapshot
            .account_id
            .clone()
            .unwrap_or_else(|| DEFAULT_ACCOUNT_ID.to_owned()),
        api_id: snapshot
            .resources
            .get(&spec.api)
            .filter(|id| !id.is_empty())
            .cloned()
            .unwrap_or_else(|| "local".to_owned()),
        region,
    };
    let gateway = Gateway::new(&spec, functions, api, config.timeout).with_context(|| {
        format!(
            "template {} has an invalid route",
            config.template.display()
        )
    })?;

    let listener = TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "cannot listen on {}: is another local-gateway running? \
             (choose another address with --listen or GATEWAY_LISTEN)",
            config.listen
        )
    })?;
    let address = listener
        .local_addr()
        .context("listening socket has no address")?;

    eprint!("{}", routes_table(&spec, &gateway, &snapshot, &config));
    eprintln!("local gateway listening on http://{address}");

    server::serve(listener, Arc::new(gateway), shutdown_signal()).await;
    eprintln!("local gateway stopped");
    Ok(())
}

async fn shutdown_signal() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!("cannot listen for Ctrl-C: {e}");
        std::future::pending::<()>().await;
    }
}

fn deployed(snapshot: &StackSnapshot, function: &FunctionRef) -> String {
    match function {
        FunctionRef::Logical(id) => match snapshot.functions.get(id) {
            Some(name) => format!("{id} ({name})"),
            None => format!("{id} (NOT DEPLOYED in the stack: run `./dev up`)"),
        },
        FunctionRef::Name(name) => name.clone(),
    }
}

/// The routes and what serves them, for the start-up banner.
fn routes_table<I: Invoker, C: FunctionCatalog>(
    spec: &ApiSpec,
    gateway: &Gateway<I, C>,
    snapshot: &StackSnapshot,
    config: &Config,
) -> String {
    let api = if spec.api == IMPLICIT_API_ID {
        "implicit HttpApi".to_owned()
    } else {
        format!("HttpApi {}", spec.api)
    };
    let mut out = format!(
        "{api} from {} (stack {}):\n",
        config.template.display(),
        config.stack_name
    );
    let mut routes: Vec<_> = gateway.router().routes().iter().collect();
    routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    let path_width = routes.iter().map(|r| r.path.len()).max().unwrap_or(0);
    let auth_width = routes
        .iter()
        .map(|r| match &r.auth {
            RouteAuth::None => 4,
            RouteAuth::Lambda(name) => name.len(),
        })
        .max()
        .unwrap_or(0);
    for route in routes {
        let auth = match &route.auth {
            RouteAuth::None => "NONE",
            RouteAuth::Lambda(name) => name.as_str(),
        };
        let function = deployed(snapshot, &FunctionRef::Logical(route.function.clone()));
        let _ = writeln!(
            out,
            "  {:<7} {:<path_width$}  auth {:<auth_width$}  -> {function}",
            route.method, route.path, auth
        );
    }
    for (name, authorizer) in &spec.authorizers {
        let mut identity: Vec<String> = authorizer
            .identity_headers
            .iter()
            .map(|h| format!("header {h}"))
            .collect();
        identity.extend(
            authorizer
                .identity_query_strings
                .iter()
                .map(|q| format!("query {q}")),
        );
        let _ = writeln!(
            out,
            "  authorizer {name}: {} [{}; {} responses]",
            deployed(snapshot, &authorizer.function),
            if identity.is_empty() {
                "no identity source".to_owned()
            } else {
                identity.join(", ")
            },
            if authorizer.simple_responses {
                "simple"
            } else {
                "IAM policy"
            }
        );
    }
    if let Some(cors) = &spec.cors {
        let _ = writeln!(out, "  CORS: origins {}", cors.allow_origins.join(", "));
    }
    out
}
