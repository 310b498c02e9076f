use std::convert::Infallible;
use std::future::Future;

use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, Response, service_fn};
use tracing::Instrument;

use crate::context::HttpContext;
use crate::error::ApiError;

/// Runs one request through `handler` and maps the outcome to a response.
/// Errors become problem documents here and nowhere else; 5xx causes are
/// logged with the request id and kept out of the body.
pub async fn handle<F, Fut>(handler: &F, req: Request) -> Response<Body>
where
    F: Fn(Request, HttpContext) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let ctx = HttpContext::from_request(&req);
    let span = tracing::info_span!(
        "http",
        request_id = %ctx.request_id,
        correlation_id = %ctx.correlation_id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let request_id = ctx.request_id.clone();
    let correlation_id = ctx.correlation_id.clone();
    async move {
        let mut response = match handler(req, ctx).await {
            Ok(response) => response,
            Err(err) => {
                let status = err.status();
                if status.is_server_error() {
                    tracing::error!(status = status.as_u16(), error = %err, "request failed");
                } else {
                    tracing::info!(status = status.as_u16(), error = %err, "request rejected");
                }
                err.into_response(&request_id)
            }
        };
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            headers.insert("x-request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(correlation_id.as_str()) {
            headers.insert("x-correlation-id", v);
        }
        if let Ok(origin) = std::env::var("CORS_ALLOW_ORIGIN")
            && let Ok(v) = HeaderValue::from_str(&origin)
        {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            headers.insert(header::VARY, HeaderValue::from_static("origin"));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        tracing::info!(status = response.status().as_u16(), "request handled");
        response
    }
    .instrument(span)
    .await
}

/// Runs an HTTP function. The handler never makes the runtime report an
/// invocation error: every outcome is an HTTP response, so API Gateway never
/// turns a handled failure into an opaque 502.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request, HttpContext) -> Fut + Sync,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send,
{
    let handler = &handler;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(handle(handler, req).await)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::StatusCode;

    #[tokio::test]
    async fn errors_are_mapped_and_ids_stamped() {
        let handler = |_req: Request, _ctx: HttpContext| async { Err(ApiError::NotFound) };
        let req = lambda_http::http::Request::builder()
            .uri("/x")
            .header("x-correlation-id", "corr-1")
            .body(Body::Empty)
            .expect("request");
        let response = handle(&handler, req).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["x-correlation-id"], "corr-1");
        assert!(response.headers().contains_key("x-request-id"));
    }
}
