//! HTTP/1.1 front end: accepts connections, reads requests (10 MiB limit),
//! hands them to the [`Gateway`] and writes one access-log line per request.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::event::HttpRequest;
use crate::gateway::{Gateway, Handled, MAX_BODY_BYTES};
use crate::lambda::{FunctionCatalog, Invoker};
use crate::response::HttpResponse;

/// Serves until `shutdown` completes. Each connection runs on its own task,
/// so requests are handled concurrently.
pub async fn serve<I, C>(
    listener: TcpListener,
    gateway: Arc<Gateway<I, C>>,
    shutdown: impl Future<Output = ()>,
) where
    I: Invoker,
    C: FunctionCatalog,
{
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let local_port = stream.local_addr().map(|a| a.port()).unwrap_or_default();
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let gateway = Arc::clone(&gateway);
                async move { Ok::<_, Infallible>(respond(&gateway, request, peer, local_port).await) }
            });
            if let Err(e) = http1::Builder::new()
                // Enables hyper's 30 s limit for reading request headers.
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
}

async fn respond<I, C>(
    gateway: &Gateway<I, C>,
    request: Request<Incoming>,
    peer: SocketAddr,
    local_port: u16,
) -> Response<Full<Bytes>>
where
    I: Invoker,
    C: FunctionCatalog,
{
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let raw_path = parts.uri.path().to_owned();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let origin = headers
        .iter()
        .find(|(name, _)| name == "origin")
        .map(|(_, v)| v.clone());

    let declared_length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let handled = if declared_length.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        gateway.reject(origin.as_deref(), HttpResponse::too_large())
    } else {
        match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(collected) => {
                let request = HttpRequest {
                    method: method.clone(),
                    raw_path: raw_path.clone(),
                    raw_query: parts.uri.query().unwrap_or_default().to_owned(),
                    headers,
                    body: collected.to_bytes().to_vec(),
                    source_ip: peer.ip(),
                    protocol: protocol(parts.version).to_owned(),
                    local_port,
                };
                gateway.handle(request).await
            }
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                gateway.reject(origin.as_deref(), HttpResponse::too_large())
            }
            Err(e) => {
                tracing::debug!("cannot read request body: {e}");
                gateway.reject(origin.as_deref(), HttpResponse::message(400, "Bad Request"))
            }
        }
    };

    let Handled {
        response,
        route_key,
        function,
    } = handled;
    tracing::info!(
        target: "access",
        method = %method,
        path = %raw_path,
        route = route_key.as_deref().unwrap_or("-"),
        status = response.status,
        latency_ms = started.elapsed().as_millis() as u64,
        function = %function.as_deref().unwrap_or("-"),
    );
    to_hyper(response)
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

fn to_hyper(response: HttpResponse) -> Response<Full<Bytes>> {
    let mut out = Response::new(Full::new(Bytes::from(response.body)));
    *out.status_mut() = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = out.headers_mut();
    for (name, value) in response.headers {
        // Framing is hyper's job: a function's own length or encoding would
        // contradict the body actually sent.
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::warn!("dropping invalid response header {name:?}: {value:?}"),
        }
    }
    out
}
