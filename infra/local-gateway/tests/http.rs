//! The gateway over real HTTP on a loopback port, with in-memory Lambda.

use std::sync::Arc;
use std::time::{Duration, Instant};

use local_gateway::event::ApiIdentity;
use local_gateway::gateway::Gateway;
use local_gateway::lambda::memory::{MemoryCatalog, MemoryInvoker};
use local_gateway::lambda::{Functions, Invocation};
use local_gateway::{server, template};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const FIXTURE: &str = include_str!("fixtures/template.yaml");

struct Running {
    address: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start(invoker: &MemoryInvoker) -> Running {
    let spec = template::parse(FIXTURE).expect("fixture parses");
    let catalog = MemoryCatalog::with_functions([
        ("AuthorizerFunction", "Authorizer"),
        ("RegisterFunction", "Register"),
        ("UsersMeFunction", "UsersMe"),
        ("FilesFunction", "Files"),
    ]);
    let functions = Functions::new(invoker.clone(), catalog)
        .await
        .expect("stack loads");
    let api = ApiIdentity {
        account_id: "000000000000".to_owned(),
        api_id: "local".to_owned(),
        region: "us-east-1".to_owned(),
    };
    let gateway =
        Gateway::new(&spec, functions, api, Duration::from_secs(10)).expect("valid routes");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, Arc::new(gateway), async move {
        let _ = stopped.await;
    }));
    Running {
        address,
        stop: Some(stop),
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the reply.
async fn send(address: std::net::SocketAddr, head: &str, body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(address).await.expect("connects");
    let request = format!("{head}\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("writes head");
    stream.write_all(body).await.expect("writes body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("reads reply");

    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("reply has a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

#[tokio::test]
async fn ten_identical_requests_are_served_concurrently() {
    let delay = Duration::from_millis(300);
    let invoker = MemoryInvoker::new().with_delay(delay);
    invoker.returns(
        "Register",
        json!({"statusCode": 201, "body": "{\"ok\":true}"}),
    );
    let running = start(&invoker).await;

    let body = br#"{"email":"a@b.c"}"#;
    let head = format!(
        "POST /auth/register HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}",
        body.len()
    );
    let started = Instant::now();
    let replies: Vec<Reply> = {
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let head = head.clone();
                let address = running.address;
                tokio::spawn(async move { send(address, &head, body).await })
            })
            .collect();
        let mut replies = Vec::new();
        for task in tasks {
            replies.push(task.await.expect("task completes"));
        }
        replies
    };
    let elapsed = started.elapsed();

    assert!(replies.iter().all(|r| r.status == 201), "{replies:?}");
    assert!(
        elapsed < delay * 5,
        "10 requests took {elapsed:?}: not concurrent"
    );
    let mut ids: Vec<&str> = replies
        .iter()
        .map(|r| r.header("apigw-requestid").expect("request id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 10, "request ids are unique");
    assert_eq!(invoker.calls_to("Register").len(), 10);
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let invoker = MemoryInvoker::new();
    let running = start(&invoker).await;
    let reply = send(running.address, "GET /nowhere HTTP/1.1", b"").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json(), json!({"message": "Not Found"}));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.header("apigw-requestid").is_some());
}

#[tokio::test]
async fn oversized_body_is_413() {
    let invoker = MemoryInvoker::new();
    invoker.returns("Register", json!({"statusCode": 200}));
    let running = start(&invoker).await;
    let head = format!(
        "POST /auth/register HTTP/1.1\r\nContent-Length: {}",
        10 * 1024 * 1024 + 1
    );
    let reply = send(running.address, &head, b"").await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json(), json!({"message": "Request Entity Too Large"}));
    assert!(invoker.calls().is_empty());
}

#[tokio::test]
async fn cookies_binary_bodies_and_cors_cross_the_wire() {
    let invoker = MemoryInvoker::new();
    invoker.on("Files", |event| {
        // Echo the (base64) request body back as a binary response.
        Invocation::ok(
            json!({
                "statusCode": 200,
                "headers": {"content-type": "application/octet-stream", "content-length": "999"},
                "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
                "body": event["body"],
                "isBase64Encoded": event["isBase64Encoded"],
            })
            .to_string(),
        )
    });
    let running = start(&invoker).await;
    let body = [0u8, 159, 146, 150, 255];
    let head = format!(
        "PUT /files/x/y.bin HTTP/1.1\r\nOrigin: http://localhost:5173\r\nContent-Type: application/octet-stream\r\nContent-Length: {}",
        body.len()
    );
    let reply = send(running.address, &head, &body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, body);
    assert_eq!(reply.header("content-length"), Some("5"));
    let cookies: Vec<&str> = reply
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; HttpOnly"]);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));

    let event = &invoker.calls_to("Files")[0];
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["pathParameters"], json!({"proxy": "x/y.bin"}));
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["requestContext"]["http"]["protocol"], "HTTP/1.1");
}

#[tokio::test]
async fn preflight_over_the_wire_is_204() {
    let invoker = MemoryInvoker::new();
    let running = start(&invoker).await;
    let reply = send(
        running.address,
        "OPTIONS /users/me HTTP/1.1\r\nOrigin: http://localhost:5173\r\nAccess-Control-Request-Method: GET",
        b"",
    )
    .await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(reply.header("access-control-max-age"), Some("600"));
    assert!(invoker.calls().is_empty());
}
