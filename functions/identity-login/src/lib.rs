use contracts::Email;
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    json, parse_json,
};
use identity::service::{Credentials, LoginDeps, login};
use identity::store::IdentityStore;
use security::Password;
use serde::Deserialize;

#[derive(Deserialize)]
struct LoginBody {
    email: Option<String>,
    password: Option<String>,
}

pub async fn handle<S: IdentityStore>(
    deps: &LoginDeps<S>,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let body: LoginBody = parse_json(&req, DEFAULT_BODY_LIMIT)?;
    let mut v = Validator::new();
    let email = v.parse("email", body.email, |e| Email::parse(&e));
    let password = v.parse("password", body.password, |p| {
        if p.is_empty() || p.len() > 1024 {
            Err("must be 1 to 1024 bytes")
        } else {
            Ok(Password::new(p))
        }
    });
    let (email, password) = v.finish(email.zip(password))?;
    let tokens = login(
        deps,
        Credentials { email, password },
        ctx.source_ip.as_deref(),
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    json(StatusCode::OK, &tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity::config::{LoginLimits, TokenPolicy};
    use identity::memory::InMemoryIdentityStore;
    use security::{JwtSettings, PasswordHasher, SigningKey, TokenIssuer};

    fn deps() -> LoginDeps<InMemoryIdentityStore> {
        LoginDeps {
            store: InMemoryIdentityStore::new(),
            hasher: PasswordHasher::new(),
            issuer: TokenIssuer::new(
                SigningKey::from_secret("0123456789abcdef0123456789abcdef-login").expect("key"),
                JwtSettings {
                    issuer: "i".into(),
                    audience: "a".into(),
                    access_ttl: time::Duration::minutes(5),
                },
            ),
            limits: LoginLimits {
                window_secs: 300,
                max_failures_per_account: 5,
                max_failures_per_ip: 50,
            },
            policy: TokenPolicy {
                refresh_ttl: time::Duration::days(1),
            },
        }
    }

    async fn call(body: &str) -> Result<Response<Body>, ApiError> {
        handle(
            &deps(),
            Request::new(Body::from(body.to_owned())),
            HttpContext::new("r", None),
        )
        .await
    }

    #[tokio::test]
    async fn missing_fields_are_400_with_each_field() {
        match call("{}").await {
            Err(ApiError::Validation(errors)) => {
                let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, vec!["email", "password"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn unknown_account_is_401() {
        let err = call(r#"{"email":"nobody@example.com","password":"whatever1"}"#)
            .await
            .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
}
