use std::collections::HashMap;

use contracts::UserId;
use security::TokenVerifier;
use serde::{Deserialize, Serialize};

/// The parts of the HTTP API authorizer event (payload 2.0) we read.
#[derive(Debug, Deserialize)]
pub struct AuthorizerRequest {
    #[serde(default)]
    pub headers: HashMap<String, String>,
    #[serde(rename = "identitySource", default)]
    pub identity_source: Vec<String>,
}

/// Simple response format (`EnableSimpleResponses: true`).
#[derive(Debug, Serialize, PartialEq)]
pub struct AuthorizerResponse {
    #[serde(rename = "isAuthorized")]
    pub is_authorized: bool,
    pub context: HashMap<String, String>,
}

/// The error message API Gateway answers with 401. Every refusal uses it;
/// the precise reason is only logged, never told to the caller.
pub const UNAUTHORIZED: &str = "Unauthorized";

fn bearer(req: &AuthorizerRequest) -> Option<&str> {
    let value = req
        .headers
        .get("authorization")
        .or_else(|| req.identity_source.first())?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Verifies the bearer token. `Err(reason)` means "answer 401".
pub fn authorize(
    verifier: &TokenVerifier,
    req: &AuthorizerRequest,
) -> Result<AuthorizerResponse, String> {
    let token = bearer(req).ok_or("missing bearer token")?;
    let claims = verifier
        .verify(token)
        .map_err(|e| format!("token rejected: {e}"))?;
    let user_id: UserId = claims
        .sub
        .parse()
        .map_err(|_| "token subject is not a user id".to_owned())?;
    let context = [
        ("user_id".to_owned(), user_id.to_string()),
        ("roles".to_owned(), claims.roles.join(",")),
    ]
    .into_iter()
    .collect();
    Ok(AuthorizerResponse {
        is_authorized: true,
        context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use security::{JwtSettings, SigningKey, TokenIssuer};

    const SECRET: &str = "0123456789abcdef0123456789abcdef-authorizer";

    fn settings(audience: &str) -> JwtSettings {
        JwtSettings {
            issuer: "iss".into(),
            audience: audience.into(),
            access_ttl: time::Duration::minutes(5),
        }
    }

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(
            SigningKey::from_secret(SECRET).expect("key"),
            settings("aud"),
        )
    }

    fn token(audience: &str, subject: &str) -> String {
        TokenIssuer::new(
            SigningKey::from_secret(SECRET).expect("key"),
            settings(audience),
        )
        .issue(
            subject,
            &["user".into(), "admin".into()],
            time::OffsetDateTime::now_utc(),
        )
        .expect("token")
        .token
    }

    fn request(authorization: &str) -> AuthorizerRequest {
        AuthorizerRequest {
            headers: [("authorization".to_owned(), authorization.to_owned())]
                .into_iter()
                .collect(),
            identity_source: vec![authorization.to_owned()],
        }
    }

    #[test]
    fn valid_token_passes_user_and_roles() {
        let id = UserId::new();
        let response = authorize(
            &verifier(),
            &request(&format!("Bearer {}", token("aud", &id.to_string()))),
        )
        .expect("authorized");
        assert!(response.is_authorized);
        assert_eq!(response.context["user_id"], id.to_string());
        assert_eq!(response.context["roles"], "user,admin");
    }

    #[test]
    fn refusals() {
        let id = UserId::new().to_string();
        assert!(authorize(&verifier(), &request("")).is_err());
        assert!(
            authorize(&verifier(), &request(&token("aud", &id))).is_err(),
            "no scheme"
        );
        assert!(
            authorize(
                &verifier(),
                &request(&format!("Basic {}", token("aud", &id)))
            )
            .is_err()
        );
        assert!(
            authorize(
                &verifier(),
                &request(&format!("Bearer {}", token("other", &id)))
            )
            .is_err()
        );
        assert!(
            authorize(
                &verifier(),
                &request(&format!("Bearer {}", token("aud", "not-a-uuid")))
            )
            .is_err()
        );
        assert!(authorize(&verifier(), &request("Bearer garbage")).is_err());
    }
}
