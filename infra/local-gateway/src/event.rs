//! Builds the payload format 2.0 events API Gateway sends to Lambda: the
//! proxy integration event and the REQUEST authorizer event.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::routing::percent_decode;

/// An HTTP request as the gateway received it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    /// Path as sent, still percent-encoded.
    pub raw_path: String,
    /// Everything after `?`, as sent.
    pub raw_query: String,
    /// Header names lower-cased, in arrival order, one entry per occurrence.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: IpAddr,
    /// `HTTP/1.1`.
    pub protocol: String,
    /// Port the gateway listens on (for `x-forwarded-port`).
    pub local_port: u16,
}

impl HttpRequest {
    /// All values of a header joined with `,`; `name` must be lower-case.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }
}

/// What identifies this API and this request in the events.
#[derive(Debug, Clone)]
pub struct ApiIdentity {
    pub account_id: String,
    pub api_id: String,
    pub region: String,
}

/// Per-request facts shared by the authorizer event and the function event.
#[derive(Debug, Clone)]
pub struct RequestData {
    pub request_id: String,
    pub received_at: OffsetDateTime,
    pub route_key: String,
    pub path_parameters: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    cookies: Vec<String>,
    query: BTreeMap<String, String>,
}

impl RequestData {
    pub fn new(
        request: &HttpRequest,
        request_id: String,
        received_at: OffsetDateTime,
        route_key: String,
        path_parameters: BTreeMap<String, String>,
    ) -> Self {
        Self {
            request_id,
            received_at,
            route_key,
            path_parameters,
            headers: event_headers(request),
            cookies: cookies(request),
            query: query_parameters(&request.raw_query),
        }
    }
}

/// Headers as API Gateway forwards them: names lower-cased, repeated headers
/// joined with `,`, `cookie` moved to the `cookies` field, and the
/// `x-forwarded-*` / `x-amzn-trace-id` headers API Gateway adds.
fn event_headers(request: &HttpRequest) -> BTreeMap<String, String> {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &request.headers {
        if name == "cookie" {
            continue;
        }
        headers
            .entry(name.clone())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let ip = request.source_ip.to_string();
    headers
        .entry("x-forwarded-for".to_owned())
        .and_modify(|chain| {
            chain.push_str(", ");
            chain.push_str(&ip);
        })
        .or_insert(ip);
    headers.insert("x-forwarded-proto".to_owned(), "http".to_owned());
    headers.insert(
        "x-forwarded-port".to_owned(),
        request.local_port.to_string(),
    );
    headers
        .entry("x-amzn-trace-id".to_owned())
        .or_insert_with(trace_id);
    headers
}

fn trace_id() -> String {
    let epoch = OffsetDateTime::now_utc().unix_timestamp();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{epoch:08x}-{}", &random[..24])
}

fn cookies(request: &HttpRequest) -> Vec<String> {
    request
        .headers
        .iter()
        .filter(|(name, _)| name == "cookie")
        .flat_map(|(_, value)| value.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Query string parameters, decoded; repeated names joined with `,`.
pub fn query_parameters(raw_query: &str) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode(&s.replace('+', " "));
        let (name, value) = (decode(name), decode(value));
        params
            .entry(name)
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    params
}

/// Whether API Gateway passes a body of this content type as text.
fn is_text_content_type(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.is_empty()
        || essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/graphql"
        )
}

/// The body field and `isBase64Encoded`.
fn event_body(request: &HttpRequest) -> (Option<String>, bool) {
    if request.body.is_empty() {
        return (None, false);
    }
    let content_type = request.header("content-type");
    match std::str::from_utf8(&request.body) {
        Ok(text) if is_text_content_type(content_type.as_deref()) => (Some(text.to_owned()), false),
        _ => (Some(BASE64.encode(&request.body)), true),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    pub account_id: String,
    pub api_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<AuthorizerDescription>,
    pub domain_name: String,
    pub domain_prefix: String,
    pub http: HttpDescription,
    pub request_id: String,
    pub route_key: String,
    pub stage: String,
    pub time: String,
    pub time_epoch: i64,
}

#[derive(Debug, Serialize)]
pub struct AuthorizerDescription {
    pub lambda: Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpDescription {
    pub method: String,
    pub path: String,
    pub protocol: String,
    pub source_ip: String,
    pub user_agent: String,
}

/// Payload format 2.0 proxy integration event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestEvent<'a> {
    pub version: &'static str,
    pub route_key: &'a str,
    pub raw_path: &'a str,
    pub raw_query_string: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub cookies: &'a [String],
    pub headers: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub query_string_parameters: &'a BTreeMap<String, String>,
    pub request_context: RequestContext,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub path_parameters: &'a BTreeMap<String, String>,
    pub is_base64_encoded: bool,
}

/// Payload format 2.0 REQUEST authorizer event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerEvent<'a> {
    pub version: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub route_arn: String,
    pub identity_source: Vec<String>,
    pub route_key: &'a str,
    pub raw_path: &'a str,
    pub raw_query_string: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub cookies: &'a [String],
    pub headers: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub query_string_parameters: &'a BTreeMap<String, String>,
    pub request_context: RequestContext,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub path_parameters: &'a BTreeMap<String, String>,
}

/// `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`.
pub fn format_request_time(at: OffsetDateTime) -> String {
    let format =
        format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

fn request_context(
    request: &HttpRequest,
    data: &RequestData,
    api: &ApiIdentity,
    authorizer: Option<Value>,
) -> RequestContext {
    let host = request.header("host").unwrap_or_default();
    let domain_name = strip_port(&host);
    let domain_name = if domain_name.is_empty() {
        "localhost".to_owned()
    } else {
        domain_name.to_owned()
    };
    let domain_prefix = domain_name.split('.').next().unwrap_or_default().to_owned();
    let at = data.received_at;
    RequestContext {
        account_id: api.account_id.clone(),
        api_id: api.api_id.clone(),
        authorizer: authorizer.map(|lambda| AuthorizerDescription { lambda }),
        domain_name,
        domain_prefix,
        http: HttpDescription {
            method: request.method.clone(),
            path: request.raw_path.clone(),
            protocol: request.protocol.clone(),
            source_ip: request.source_ip.to_string(),
            user_agent: request.header("user-agent").unwrap_or_default(),
        },
        request_id: data.request_id.clone(),
        route_key: data.route_key.clone(),
        stage: "$default".to_owned(),
        time: format_request_time(at),
        time_epoch: i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or_default(),
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [::1]:3000
        return rest.split(']').next().unwrap_or_default();
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// The event for the route's function. `authorizer` is the context the
/// Lambda authorizer returned, when one ran.
pub fn request_event<'a>(
    request: &'a HttpRequest,
    data: &'a RequestData,
    api: &ApiIdentity,
    authorizer: Option<Value>,
) -> RequestEvent<'a> {
    let (body, is_base64_encoded) = event_body(request);
    RequestEvent {
        version: "2.0",
        route_key: &data.route_key,
        raw_path: &request.raw_path,
        raw_query_string: &request.raw_query,
        cookies: &data.cookies,
        headers: &data.headers,
        query_string_parameters: &data.query,
        request_context: request_context(request, data, api, authorizer),
        body,
        path_parameters: &data.path_parameters,
        is_base64_encoded,
    }
}

/// The event for a REQUEST authorizer with payload format 2.0.
pub fn authorizer_event<'a>(
    request: &'a HttpRequest,
    data: &'a RequestData,
    api: &ApiIdentity,
    identity_source: Vec<String>,
) -> AuthorizerEvent<'a> {
    AuthorizerEvent {
        version: "2.0",
        kind: "REQUEST",
        route_arn: format!(
            "arn:aws:execute-api:{}:{}:{}/$default/{}{}",
            api.region, api.account_id, api.api_id, request.method, request.raw_path
        ),
        identity_source,
        route_key: &data.route_key,
        raw_path: &request.raw_path,
        raw_query_string: &request.raw_query,
        cookies: &data.cookies,
        headers: &data.headers,
        query_string_parameters: &data.query,
        request_context: request_context(request, data, api, None),
        path_parameters: &data.path_parameters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::net::Ipv4Addr;

    fn request(method: &str, path: &str, query: &str) -> HttpRequest {
        HttpRequest {
            method: method.to_owned(),
            raw_path: path.to_owned(),
            raw_query: query.to_owned(),
            headers: vec![("host".to_owned(), "127.0.0.1:3000".to_owned())],
            body: Vec::new(),
            source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            protocol: "HTTP/1.1".to_owned(),
            local_port: 3000,
        }
    }

    fn api() -> ApiIdentity {
        ApiIdentity {
            account_id: "000000000000".to_owned(),
            api_id: "api123".to_owned(),
            region: "us-east-1".to_owned(),
        }
    }

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_584_039_838).expect("valid timestamp")
    }

    fn event_json(req: &HttpRequest, params: &[(&str, &str)], auth: Option<Value>) -> Value {
        let params = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let data = RequestData::new(
            req,
            "req-1".to_owned(),
            at(),
            "GET /x/{id}".to_owned(),
            params,
        );
        serde_json::to_value(request_event(req, &data, &api(), auth)).expect("serializes")
    }

    #[test]
    fn request_event_has_the_2_0_shape() {
        let mut req = request("GET", "/x/a%20b", "");
        req.headers
            .push(("user-agent".to_owned(), "curl/8".to_owned()));
        let event = event_json(&req, &[("id", "a b")], None);
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "GET /x/{id}");
        assert_eq!(event["rawPath"], "/x/a%20b");
        assert_eq!(event["rawQueryString"], "");
        assert_eq!(event["pathParameters"], json!({"id": "a b"}));
        assert_eq!(event["isBase64Encoded"], false);
        // Empty optional parts are left out, as API Gateway does.
        for absent in ["body", "cookies", "queryStringParameters"] {
            assert!(event.get(absent).is_none(), "{absent} should be omitted");
        }
        let ctx = &event["requestContext"];
        assert!(ctx.get("authorizer").is_none());
        assert_eq!(ctx["accountId"], "000000000000");
        assert_eq!(ctx["apiId"], "api123");
        assert_eq!(ctx["domainName"], "127.0.0.1");
        assert_eq!(ctx["domainPrefix"], "127");
        assert_eq!(ctx["requestId"], "req-1");
        assert_eq!(ctx["routeKey"], "GET /x/{id}");
        assert_eq!(ctx["stage"], "$default");
        assert_eq!(ctx["time"], "12/Mar/2020:19:03:58 +0000");
        assert_eq!(ctx["timeEpoch"], 1_584_039_838_000_i64);
        assert_eq!(
            ctx["http"],
            json!({"method": "GET", "path": "/x/a%20b", "protocol": "HTTP/1.1",
                   "sourceIp": "127.0.0.1", "userAgent": "curl/8"})
        );
    }

    #[test]
    fn headers_are_lower_case_joined_and_cookies_split() {
        let mut req = request("GET", "/x/1", "");
        req.headers.extend(
            [
                ("accept", "text/html"),
                ("accept", "application/json"),
                ("cookie", "a=1; b=2"),
                ("cookie", "c=3"),
                ("x-forwarded-for", "10.0.0.1"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned())),
        );
        let event = event_json(&req, &[], None);
        let headers = &event["headers"];
        assert_eq!(headers["accept"], "text/html,application/json");
        assert_eq!(headers["host"], "127.0.0.1:3000");
        assert!(headers.get("cookie").is_none());
        assert_eq!(headers["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-port"], "3000");
        assert!(
            headers["x-amzn-trace-id"]
                .as_str()
                .is_some_and(|t| t.starts_with("Root=1-"))
        );
        assert_eq!(event["cookies"], json!(["a=1", "b=2", "c=3"]));
    }

    #[test]
    fn query_parameters_are_decoded_and_repeats_joined() {
        let req = request("GET", "/x/1", "a=1&a=2&b=x%20y&c&d=p+q&&e=%F0%9F%98%80");
        let event = event_json(&req, &[], None);
        assert_eq!(
            event["rawQueryString"],
            "a=1&a=2&b=x%20y&c&d=p+q&&e=%F0%9F%98%80"
        );
        assert_eq!(
            event["queryStringParameters"],
            json!({"a": "1,2", "b": "x y", "c": "", "d": "p q", "e": "😀"})
        );
    }

    #[test]
    fn text_body_is_passed_as_is() {
        let mut req = request("POST", "/x/1", "");
        req.headers.push((
            "content-type".to_owned(),
            "application/json; charset=utf-8".to_owned(),
        ));
        req.body = br#"{"email":"a@b.c"}"#.to_vec();
        let event = event_json(&req, &[], None);
        assert_eq!(event["body"], r#"{"email":"a@b.c"}"#);
        assert_eq!(event["isBase64Encoded"], false);
    }

    #[test]
    fn binary_body_is_base64_encoded() {
        // Invalid UTF-8 with a text content type.
        let mut req = request("POST", "/x/1", "");
        req.headers
            .push(("content-type".to_owned(), "text/plain".to_owned()));
        req.body = vec![0xff, 0x00, 0x61];
        let event = event_json(&req, &[], None);
        assert_eq!(event["body"], "/wBh");
        assert_eq!(event["isBase64Encoded"], true);

        // Valid UTF-8 with a binary content type.
        let mut req = request("PUT", "/x/1", "");
        req.headers.push((
            "content-type".to_owned(),
            "application/octet-stream".to_owned(),
        ));
        req.body = b"hello".to_vec();
        let event = event_json(&req, &[], None);
        assert_eq!(event["body"], "aGVsbG8=");
        assert_eq!(event["isBase64Encoded"], true);
    }

    #[test]
    fn authorizer_context_lands_under_lambda() {
        let req = request("GET", "/x/1", "");
        let event = event_json(&req, &[], Some(json!({"userId": "u1"})));
        assert_eq!(
            event["requestContext"]["authorizer"],
            json!({"lambda": {"userId": "u1"}})
        );
    }

    #[test]
    fn authorizer_event_has_route_arn_and_identity_source() {
        let mut req = request("DELETE", "/x/7", "q=1");
        req.headers
            .push(("authorization".to_owned(), "Bearer t".to_owned()));
        let data = RequestData::new(
            &req,
            "req-2".to_owned(),
            at(),
            "DELETE /x/{id}".to_owned(),
            BTreeMap::from([("id".to_owned(), "7".to_owned())]),
        );
        let event = serde_json::to_value(authorizer_event(
            &req,
            &data,
            &api(),
            vec!["Bearer t".to_owned()],
        ))
        .expect("serializes");
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["type"], "REQUEST");
        assert_eq!(
            event["routeArn"],
            "arn:aws:execute-api:us-east-1:000000000000:api123/$default/DELETE/x/7"
        );
        assert_eq!(event["identitySource"], json!(["Bearer t"]));
        assert_eq!(event["routeKey"], "DELETE /x/{id}");
        assert_eq!(event["rawQueryString"], "q=1");
        assert_eq!(event["queryStringParameters"], json!({"q": "1"}));
        assert_eq!(event["pathParameters"], json!({"id": "7"}));
        assert_eq!(event["headers"]["authorization"], "Bearer t");
        assert_eq!(event["requestContext"]["requestId"], "req-2");
        assert!(event.get("body").is_none());
    }

    #[test]
    fn host_port_is_stripped_from_domain_name() {
        assert_eq!(strip_port("localhost:3000"), "localhost");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:3000"), "::1");
    }
}
