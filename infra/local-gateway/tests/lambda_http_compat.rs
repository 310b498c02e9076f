//! The events the gateway builds are read correctly by `lambda_http` and
//! `aws_lambda_events` (what the project's functions use), and what
//! `lambda_http` functions return maps back to the right HTTP response.

use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use lambda_http::RequestExt as _;
use lambda_http::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_http::request::RequestContext;
use local_gateway::event::{ApiIdentity, HttpRequest};
use local_gateway::gateway::Gateway;
use local_gateway::lambda::memory::{MemoryCatalog, MemoryInvoker};
use local_gateway::lambda::{Functions, Invocation};
use local_gateway::response::map_function_result;
use local_gateway::template;
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("fixtures/template.yaml");

async fn gateway(invoker: &MemoryInvoker) -> Gateway<MemoryInvoker, MemoryCatalog> {
    let spec = template::parse(FIXTURE).expect("fixture parses");
    let catalog = MemoryCatalog::with_functions([
        ("AuthorizerFunction", "Authorizer"),
        ("OrdersFunction", "Orders"),
    ]);
    let functions = Functions::new(invoker.clone(), catalog)
        .await
        .expect("stack loads");
    let api = ApiIdentity {
        account_id: "000000000000".to_owned(),
        api_id: "local".to_owned(),
        region: "us-east-1".to_owned(),
    };
    Gateway::new(&spec, functions, api, Duration::from_secs(5)).expect("valid routes")
}

fn request() -> HttpRequest {
    let headers = [
        ("host", "127.0.0.1:3000"),
        ("authorization", "Bearer abc"),
        ("content-type", "application/json"),
        ("cookie", "sid=1; theme=dark"),
        ("x-correlation-id", "corr-1"),
    ];
    HttpRequest {
        method: "PATCH".to_owned(),
        raw_path: "/orders/o%2F1".to_owned(),
        raw_query: "expand=lines&expand=total".to_owned(),
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        body: br#"{"status":"paid"}"#.to_vec(),
        source_ip: "127.0.0.1".parse().expect("ip"),
        protocol: "HTTP/1.1".to_owned(),
        local_port: 3000,
    }
}

/// Runs one authorized request and returns (authorizer event, function event).
async fn captured_events() -> (Value, Value) {
    let invoker = MemoryInvoker::new();
    invoker.returns(
        "Authorizer",
        json!({"isAuthorized": true, "context": {"userId": "u-1", "role": "admin"}}),
    );
    invoker.returns("Orders", json!({"statusCode": 200}));
    let handled = gateway(&invoker).await.handle(request()).await;
    assert_eq!(handled.response.status, 200);
    let auth = invoker.calls_to("Authorizer").remove(0);
    let function = invoker.calls_to("Orders").remove(0);
    (auth, function)
}

#[tokio::test]
async fn lambda_http_reads_the_function_event() {
    let (_, event) = captured_events().await;
    let request =
        lambda_http::request::from_str(&event.to_string()).expect("lambda_http parses the event");

    assert_eq!(request.method(), "PATCH");
    assert_eq!(request.uri().path(), "/orders/o%2F1");
    assert_eq!(request.headers()["x-correlation-id"], "corr-1");
    // lambda_http rebuilds the Cookie header from the `cookies` field.
    assert_eq!(request.headers()["cookie"], "sid=1; theme=dark");
    assert_eq!(
        request.path_parameters().first("orderId"),
        Some("o/1"),
        "path parameters are decoded"
    );
    assert_eq!(
        request.query_string_parameters().all("expand"),
        Some(vec!["lines", "total"])
    );
    match request.body() {
        Body::Text(text) => assert_eq!(text, r#"{"status":"paid"}"#),
        other => panic!("expected a text body, got {other:?}"),
    }
    let RequestContext::ApiGatewayV2(context) = request.request_context() else {
        panic!("expected an API Gateway v2 context");
    };
    assert_eq!(
        context.route_key.as_deref(),
        Some("PATCH /orders/{orderId}")
    );
    assert_eq!(context.stage.as_deref(), Some("$default"));
    assert_eq!(context.http.source_ip.as_deref(), Some("127.0.0.1"));
    // `requestContext.authorizer.lambda` lands in `fields`.
    let lambda = context.authorizer.expect("authorizer is present").fields;
    assert_eq!(lambda["userId"], "u-1");
    assert_eq!(lambda["role"], "admin");
}

#[tokio::test]
async fn aws_lambda_events_reads_the_authorizer_event() {
    let (event, _) = captured_events().await;
    let parsed: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_value(event).expect("authorizer event parses");
    assert_eq!(parsed.version.as_deref(), Some("2.0"));
    assert_eq!(parsed.type_.as_deref(), Some("REQUEST"));
    assert_eq!(parsed.identity_source, Some(vec!["Bearer abc".to_owned()]));
    assert_eq!(parsed.route_key.as_deref(), Some("PATCH /orders/{orderId}"));
    assert_eq!(
        parsed.route_arn.as_deref(),
        Some("arn:aws:execute-api:us-east-1:000000000000:local/$default/PATCH/orders/o%2F1")
    );
    assert_eq!(parsed.headers["authorization"], "Bearer abc");
    assert_eq!(parsed.path_parameters["orderId"], "o/1");
    assert_eq!(parsed.query_string_parameters["expand"], "lines,total");
    assert_eq!(parsed.cookies, ["sid=1", "theme=dark"]);
}

#[test]
fn lambda_http_style_response_maps_back() {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = 201;
    response
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.cookies = vec!["sid=2; HttpOnly".to_owned()];
    response.body = Some(Body::Text(r#"{"id":"o-1"}"#.to_owned()));
    let payload = serde_json::to_vec(&response).expect("serializes");

    let mapped = map_function_result(&payload).expect("maps");
    assert_eq!(mapped.status, 201);
    assert_eq!(mapped.body, br#"{"id":"o-1"}"#);
    assert_eq!(mapped.header("content-type"), Some("application/json"));
    assert_eq!(
        mapped.header_values("set-cookie").collect::<Vec<_>>(),
        ["sid=2; HttpOnly"]
    );
    assert_eq!(mapped.header_values("content-type").count(), 1);
}

#[test]
fn function_error_payload_from_lambda_runtime_is_read() {
    // lambda_runtime reports handler errors as {"errorType", "errorMessage"}.
    let invocation = Invocation {
        payload: br#"{"errorType":"&str","errorMessage":"Unauthorized"}"#.to_vec(),
        function_error: Some("Unhandled".to_owned()),
    };
    assert_eq!(invocation.error_message().as_deref(), Some("Unauthorized"));
}
