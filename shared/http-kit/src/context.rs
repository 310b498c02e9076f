use std::str::FromStr;

use contracts::{CorrelationId, Role, UserId};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::error::ApiError;

/// The authenticated caller, as established by the HTTP API Lambda
/// authorizer (which verified the access token) and passed in the request
/// context. Functions trust it because only API Gateway can set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub roles: Vec<Role>,
}

impl Caller {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// 403 unless the caller has `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.has_role(role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// Per-request facts every handler may need.
#[derive(Debug, Clone)]
pub struct HttpContext {
    pub request_id: String,
    pub correlation_id: CorrelationId,
    pub source_ip: Option<String>,
    caller: Option<Caller>,
}

impl HttpContext {
    pub fn from_request(req: &Request) -> Self {
        let api = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => Some(ctx),
            _ => None,
        };
        let request_id = api
            .and_then(|c| c.request_id.clone())
            .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
            .unwrap_or_default();
        let correlation_id = req
            .headers()
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok())
            .and_then(CorrelationId::from_header)
            .unwrap_or_default();
        let source_ip = api.and_then(|c| c.http.source_ip.clone());
        let caller = api
            .and_then(|c| c.authorizer.as_ref())
            .and_then(|a| caller_from_fields(&a.fields));
        Self {
            request_id,
            correlation_id,
            source_ip,
            caller,
        }
    }

    /// For tests and for callers that build contexts by hand.
    pub fn new(request_id: &str, caller: Option<Caller>) -> Self {
        Self {
            request_id: request_id.to_owned(),
            correlation_id: CorrelationId::new(),
            source_ip: Some("127.0.0.1".into()),
            caller,
        }
    }

    /// The authenticated caller, or 401 when the route was reached without
    /// one (a misconfigured route must fail closed).
    pub fn caller(&self) -> Result<&Caller, ApiError> {
        self.caller.as_ref().ok_or(ApiError::Unauthorized)
    }
}

fn caller_from_fields(
    fields: &std::collections::HashMap<String, serde_json::Value>,
) -> Option<Caller> {
    let user_id = fields.get("user_id")?.as_str()?.parse().ok()?;
    let roles = match fields.get("roles") {
        Some(serde_json::Value::String(s)) => s
            .split(',')
            .filter(|r| !r.is_empty())
            .filter_map(|r| r.parse().ok())
            .collect(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|r| r.as_str()?.parse().ok())
            .collect(),
        _ => Vec::new(),
    };
    Some(Caller { user_id, roles })
}

/// A path parameter parsed into its newtype. A value that does not parse
/// cannot name an existing resource, hence 404 rather than 400.
pub fn path_param<T: FromStr>(req: &Request, name: &str) -> Result<T, ApiError> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .and_then(|v| v.parse().ok())
        .ok_or(ApiError::NotFound)
}

/// An optional query parameter, as text.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_is_read_from_authorizer_fields() {
        let id = UserId::new();
        let fields = [
            ("user_id".to_owned(), serde_json::json!(id.to_string())),
            ("roles".to_owned(), serde_json::json!("user,admin")),
        ]
        .into_iter()
        .collect();
        let caller = caller_from_fields(&fields).expect("caller");
        assert_eq!(caller.user_id, id);
        assert!(caller.has_role(Role::Admin));
        assert!(caller.require(Role::Admin).is_ok());
    }

    #[test]
    fn missing_or_bad_user_id_means_no_caller() {
        let fields = [("user_id".to_owned(), serde_json::json!("nope"))]
            .into_iter()
            .collect();
        assert!(caller_from_fields(&fields).is_none());
        assert!(caller_from_fields(&Default::default()).is_none());
    }

    #[test]
    fn non_admin_is_forbidden() {
        let caller = Caller {
            user_id: UserId::new(),
            roles: vec![Role::User],
        };
        assert!(matches!(
            caller.require(Role::Admin),
            Err(ApiError::Forbidden)
        ));
    }
}
