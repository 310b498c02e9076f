//! The local Discord receiver: a small HTTP/1.1 server on the address the
//! deployed `DiscordWebhookUrl` points at (`127.0.0.1:3999` unless
//! `DISCORD_RECEIVER_ADDR` says otherwise). It records every webhook call
//! and answers `204`, or what a test scripted for messages that carry its
//! token, so a test can make Discord fail once, refuse, or stay down.
//!
//! One receiver per test process, started by the harness: the consumers
//! post for every registration and deposit, whichever test caused them.
//! It runs on a thread and runtime of its own because each `#[tokio::test]`
//! has its own runtime, which dies with its test.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One webhook call as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub body: serde_json::Value,
    /// The status the receiver answered with.
    pub answered: u16,
}

impl Received {
    /// The message text (`content` of the webhook payload).
    pub fn content(&self) -> &str {
        self.body["content"].as_str().unwrap_or_default()
    }
}

/// Answers for the messages whose body contains `token`: the statuses in
/// `first`, one per call, then `then` for every later call.
struct Script {
    token: String,
    first: VecDeque<u16>,
    then: u16,
}

#[derive(Default)]
struct State {
    scripts: Vec<Script>,
    received: Vec<Received>,
}

impl State {
    fn answer(&mut self, raw_body: &str) -> u16 {
        self.scripts
            .iter_mut()
            .find(|s| raw_body.contains(&s.token))
            .map(|s| s.first.pop_front().unwrap_or(s.then))
            .unwrap_or(204)
    }
}

pub struct DiscordReceiver {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

const DEFAULT_ADDR: &str = "127.0.0.1:3999";
/// How long to wait for the port when an earlier test process still holds it.
const BIND_PATIENCE: Duration = Duration::from_secs(60);

/// The process's receiver, started on first use.
pub fn receiver() -> &'static DiscordReceiver {
    static RECEIVER: OnceLock<DiscordReceiver> = OnceLock::new();
    RECEIVER.get_or_init(|| {
        let addr = std::env::var("DISCORD_RECEIVER_ADDR").unwrap_or_else(|_| DEFAULT_ADDR.into());
        DiscordReceiver::start(&addr)
            .unwrap_or_else(|e| panic!("cannot start the local Discord receiver on {addr}: {e}"))
    })
}

impl DiscordReceiver {
    fn start(addr: &str) -> std::io::Result<Self> {
        let listener = bind_patiently(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        std::thread::Builder::new()
            .name("discord-receiver".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("receiver runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("tokio listener");
                    while let Ok((socket, _)) = listener.accept().await {
                        tokio::spawn(serve(socket, shared.clone()));
                    }
                });
            })?;
        Ok(Self { addr, state })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Scripts the answers to messages containing `token` (see [`Script`]).
    pub fn script(&self, token: &str, first: &[u16], then: u16) {
        self.lock().scripts.push(Script {
            token: token.to_owned(),
            first: first.iter().copied().collect(),
            then,
        });
    }

    /// Every call whose body contains `token`, in arrival order.
    pub fn received(&self, token: &str) -> Vec<Received> {
        self.lock()
            .received
            .iter()
            .filter(|r| r.body.to_string().contains(token))
            .cloned()
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn bind_patiently(addr: &str) -> std::io::Result<std::net::TcpListener> {
    let started = Instant::now();
    loop {
        match std::net::TcpListener::bind(addr) {
            Err(e) if e.kind() == ErrorKind::AddrInUse && started.elapsed() < BIND_PATIENCE => {
                std::thread::sleep(Duration::from_millis(250));
            }
            other => return other,
        }
    }
}

/// One request per connection (`connection: close`), which every HTTP
/// client handles; that is all a webhook receiver needs.
async fn serve(mut socket: TcpStream, state: Arc<Mutex<State>>) {
    let Some((path, body)) = read_request(&mut socket).await else {
        return;
    };
    let answered = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        let answered = state.answer(&body);
        state.received.push(Received {
            path,
            body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
            answered,
        });
        answered
    };
    let reason = match answered {
        204 => "No Content",
        200 => "OK",
        400 => "Bad Request",
        429 => "Too Many Requests",
        _ => "Status",
    };
    let response =
        format!("HTTP/1.1 {answered} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

async fn read_request(socket: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let end = buf.len().min(header_end + length);
    Some((
        path,
        String::from_utf8_lossy(&buf[header_end..end]).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(addr: SocketAddr, content: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("http://{addr}/discord?wait=false"))
            .json(&serde_json::json!({"content": content}))
            .send()
            .await
            .expect("post")
            .status()
            .as_u16()
    }

    #[tokio::test]
    async fn answers_as_scripted_and_records_every_call() {
        let receiver = DiscordReceiver::start("127.0.0.1:0").expect("start");
        receiver.script("tok-a", &[500], 204);
        receiver.script("tok-b", &[], 400);
        let addr = receiver.addr();

        assert_eq!(post(addr, "hello tok-a").await, 500);
        assert_eq!(post(addr, "hello tok-a").await, 204);
        assert_eq!(post(addr, "tok-b").await, 400);
        assert_eq!(post(addr, "tok-b").await, 400);
        assert_eq!(post(addr, "anyone else").await, 204);

        let a = receiver.received("tok-a");
        assert_eq!(a.iter().map(|r| r.answered).collect::<Vec<_>>(), [500, 204]);
        assert_eq!(a[0].content(), "hello tok-a");
        assert_eq!(a[0].path, "/discord?wait=false");
        assert_eq!(receiver.received("tok-b").len(), 2);
        assert!(receiver.received("nobody").is_empty());
    }
}
