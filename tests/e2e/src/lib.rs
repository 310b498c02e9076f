//! Harness for the end-to-end tests: the HTTP API through the local gateway,
//! plus SDK clients on the emulator to observe side effects (tables, buckets,
//! queues). Each test creates its own users (unique e-mail addresses), so
//! tests run in parallel and re-runs against a long-lived stack do not clash.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use aws_config::BehaviorVersion;
use contracts::events::UserRegistered;
use contracts::{CorrelationId, Email, EventEnvelope, PersonName, UserId};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

pub mod discord;
pub mod shop;

pub use discord::DiscordReceiver;

pub struct Stack {
    pub api: String,
    pub http: reqwest::Client,
    pub outputs: HashMap<String, String>,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub endpoint: String,
    /// Where the Discord consumers' webhook calls land.
    pub discord: &'static DiscordReceiver,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The deployed stack, discovered from the files `infra/up` writes. Each
/// test gets its own clients: they must not outlive the test's runtime.
pub async fn stack() -> Stack {
    connect()
        .await
        .expect("the local stack is not running: start it with `infra/up` (or run `infra/test`)")
}

async fn connect() -> anyhow::Result<Stack> {
    let local = root().join(".local");
    let endpoint = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(e) => e,
        Err(_) => std::fs::read_to_string(local.join("endpoint"))
            .context("reading .local/endpoint")?
            .trim()
            .to_owned(),
    };
    let outputs: HashMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(local.join("stack-outputs.json"))
            .context("reading .local/stack-outputs.json")?,
    )?;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new(
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        ))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "e2e",
        ))
        .load()
        .await;
    // Started before anything else so no webhook call finds the port closed.
    let discord = discord::receiver();
    let api = std::env::var("API_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    http.get(format!("{api}/"))
        .send()
        .await
        .with_context(|| format!("gateway not reachable at {api}"))?;
    Ok(Stack {
        api,
        http,
        dynamo: aws_sdk_dynamodb::Client::new(&sdk),
        s3: aws_sdk_s3::Client::new(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        lambda: aws_sdk_lambda::Client::new(&sdk),
        outputs,
        endpoint,
        discord,
    })
}

/// A response reduced to what tests look at.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Field names listed in a validation problem document.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Stack {
    pub fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("stack output {name} missing; redeploy with infra/up"))
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.api));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request reaches the gateway");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn register(&self, email: &str, password: &str) -> Reply {
        self.register_named("Test User", email, password).await
    }

    pub async fn register_named(&self, name: &str, email: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"name": name, "email": email, "password": password})),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// Registers a fresh user and logs in: (user id, access token, refresh token).
    pub async fn new_user(&self) -> TestUser {
        self.new_user_named("Test User").await
    }

    /// [`Stack::new_user`] under a chosen display name (which the
    /// registration Discord message carries).
    pub async fn new_user_named(&self, name: &str) -> TestUser {
        let email = unique_email("user");
        let reg = self.register_named(name, &email, PASSWORD).await;
        assert_eq!(reg.status, StatusCode::CREATED, "register: {:?}", reg.body);
        let tokens = self.login(&email, PASSWORD).await;
        assert_eq!(tokens.status, StatusCode::OK, "login: {:?}", tokens.body);
        TestUser {
            id: reg.body["id"].as_str().unwrap_or_default().to_owned(),
            email,
            access_token: tokens.body["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            refresh_token: tokens.body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// The bootstrap administrator (infra/up passes its address as the
    /// `BootstrapAdminEmails` parameter). Registered on first use.
    pub async fn admin(&self) -> TestUser {
        let email = std::env::var("BOOTSTRAP_ADMIN_EMAILS")
            .ok()
            .and_then(|v| v.split(',').next().map(str::to_owned))
            .unwrap_or_else(|| "admin@serverless-commerce.test".into());
        let reg = self.register(&email, PASSWORD).await;
        assert!(
            reg.status == StatusCode::CREATED || reg.status == StatusCode::CONFLICT,
            "admin register: {:?}",
            reg.body
        );
        let tokens = self.login(&email, PASSWORD).await;
        assert_eq!(
            tokens.status,
            StatusCode::OK,
            "admin login: {:?}",
            tokens.body
        );
        let me = self
            .call(
                Method::GET,
                "/users/me",
                tokens.body["access_token"].as_str(),
                None,
            )
            .await;
        TestUser {
            id: me.body["id"].as_str().unwrap_or_default().to_owned(),
            email,
            access_token: tokens.body["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            refresh_token: tokens.body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// The access-token signing key, read the way the functions read it.
    pub async fn jwt_secret(&self) -> String {
        self.secrets
            .get_secret_value()
            .secret_id(self.output("JwtSecretId"))
            .send()
            .await
            .expect("jwt secret readable")
            .secret_string()
            .unwrap_or_default()
            .to_owned()
    }
}

pub const PASSWORD: &str = "correct horse battery";

pub struct TestUser {
    pub id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@e2e.example.com", uuid::Uuid::new_v4().simple())
}

/// Polls `probe` until it yields a value or `timeout` passes.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A `user.registered` event for a synthetic user on a day of its own, so
/// its counter is not shared with any other test or run.
pub fn synthetic_registration() -> (EventEnvelope<UserRegistered>, String) {
    let uuid = uuid::Uuid::new_v4();
    let bytes = uuid.as_bytes();
    let year = 1001 + i32::from(u16::from_le_bytes([bytes[0], bytes[1]]) % 7999);
    let ordinal = 1 + u16::from_le_bytes([bytes[2], bytes[3]]) % 365;
    let date = time::Date::from_ordinal_date(year, ordinal).expect("valid date");
    let at = date.midnight().assume_utc();
    let user_id = UserId::new();
    let event = EventEnvelope::new(
        UserRegistered {
            user_id,
            email: Email::parse(&format!("synthetic-{}@e2e.example.com", uuid.simple()))
                .expect("email"),
            name: PersonName::parse("Synthetic").expect("name"),
            registered_at: at,
        },
        CorrelationId::new(),
        at,
    );
    let day = at
        .format(&Rfc3339)
        .expect("format")
        .get(..10)
        .unwrap_or_default()
        .to_owned();
    (event, day)
}

pub async fn send_to_queue(st: &Stack, queue_output: &str, body: &str) {
    st.sqs
        .send_message()
        .queue_url(st.output(queue_output))
        .message_body(body)
        .send()
        .await
        .expect("send to queue");
}

pub type Item = HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// A string attribute of an item, or "" when absent.
pub fn attr(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

impl Stack {
    /// The user's delivery log entries (outcomes) on `channel` (email,
    /// discord, ...), straight from the notifications table.
    pub async fn deliveries(&self, user_id: &str, channel: &str) -> Vec<Item> {
        self.notification_log(user_id, channel, "DELIVERY#").await
    }

    /// The user's failed delivery attempts on `channel`.
    pub async fn attempts(&self, user_id: &str, channel: &str) -> Vec<Item> {
        self.notification_log(user_id, channel, "ATTEMPT#").await
    }

    async fn notification_log(&self, user_id: &str, channel: &str, prefix: &str) -> Vec<Item> {
        use aws_sdk_dynamodb::types::AttributeValue;
        self.dynamo
            .query()
            .table_name(self.output("NotificationsTableName"))
            .key_condition_expression("pk = :pk AND begins_with(sk, :d)")
            .filter_expression("channel = :c")
            .expression_attribute_values(":pk", AttributeValue::S(format!("USER#{user_id}")))
            .expression_attribute_values(":d", AttributeValue::S(prefix.into()))
            .expression_attribute_values(":c", AttributeValue::S(channel.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("query deliveries")
            .items
            .unwrap_or_default()
    }

    /// What SES was asked to send to `recipient`. MiniStack keeps every
    /// message and lists them on `/_ministack/ses/messages`.
    pub async fn emails_to(&self, recipient: &str) -> Vec<Value> {
        let sent: Value = self
            .http
            .get(format!("{}/_ministack/ses/messages", self.endpoint))
            .send()
            .await
            .expect("ses messages")
            .json()
            .await
            .unwrap_or_default();
        sent["messages"]
            .as_object()
            .into_iter()
            .flat_map(|accounts| accounts.values())
            .filter_map(|msgs| msgs.as_array())
            .flatten()
            .filter(|m| {
                m["To"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|t| t == recipient))
            })
            .cloned()
            .collect()
    }

    /// `Some(())` once the queue named by `dlq_output` holds a message
    /// whose body contains `marker`.
    pub async fn dlq_holds(&self, dlq_output: &str, marker: &str) -> Option<()> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(self.output(dlq_output))
            .max_number_of_messages(10)
            .visibility_timeout(1)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive from dlq");
        out.messages()
            .iter()
            .any(|m| m.body().is_some_and(|b| b.contains(marker)))
            .then_some(())
    }

    /// True when the queue holds no message, visible or in flight.
    pub async fn queue_drained(&self, queue_output: &str) -> bool {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(self.output(queue_output))
            .attribute_names(A::All)
            .send()
            .await
            .expect("queue attributes");
        let get = |name: A| {
            attrs
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        get(A::ApproximateNumberOfMessages) == 0
            && get(A::ApproximateNumberOfMessagesNotVisible) == 0
    }

    /// A fresh user whose wallet exists (opened by the `user.registered`
    /// consumer), and that wallet.
    pub async fn user_with_wallet(&self) -> (TestUser, Value) {
        let user = self.new_user().await;
        let wallet = self.wallet_of(&user).await;
        (user, wallet)
    }

    /// The user's wallet, waiting for the consumer that opens it.
    pub async fn wallet_of(&self, user: &TestUser) -> Value {
        eventually(
            "the wallet to be opened",
            Duration::from_secs(60),
            || async {
                let r = self
                    .call(Method::GET, "/wallet", Some(&user.access_token), None)
                    .await;
                (r.status == StatusCode::OK).then_some(r.body)
            },
        )
        .await
    }

    /// `POST /wallet/deposit`, with an `Idempotency-Key` when given.
    pub async fn deposit(&self, token: &str, key: Option<&str>, body: Value) -> Reply {
        let mut req = self
            .http
            .post(format!("{}/wallet/deposit", self.api))
            .bearer_auth(token)
            .json(&body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        self.send(req).await
    }
}
