use contracts::{Email, PersonName};
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    json, parse_json,
};
use identity::service::{Registration, register};
use identity::store::IdentityStore;
use security::{Password, PasswordHasher, policy_violation};
use serde::Deserialize;

pub struct Deps<S> {
    pub store: S,
    pub hasher: PasswordHasher,
    pub admin_emails: Vec<Email>,
}

#[derive(Deserialize)]
struct RegisterBody {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

pub async fn handle<S: IdentityStore>(
    deps: &Deps<S>,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let body: RegisterBody = parse_json(&req, DEFAULT_BODY_LIMIT)?;
    let mut v = Validator::new();
    let name = v.parse("name", body.name, |n| PersonName::parse(&n));
    let email = v.parse("email", body.email, |e| Email::parse(&e));
    let password = v.parse("password", body.password, |p| match policy_violation(&p) {
        Some(problem) => Err(problem),
        None => Ok(Password::new(p)),
    });
    let (name, (email, password)) = v.finish(name.zip(email.zip(password)))?;
    let user = register(
        &deps.store,
        &deps.hasher,
        &deps.admin_emails,
        Registration {
            name,
            email,
            password,
        },
        ctx.correlation_id,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    let mut response = json(StatusCode::CREATED, &user)?;
    if let Ok(location) = format!("/users/{}", user.id).parse() {
        response.headers_mut().insert("location", location);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity::memory::InMemoryIdentityStore;

    fn deps() -> Deps<InMemoryIdentityStore> {
        Deps {
            store: InMemoryIdentityStore::new(),
            hasher: PasswordHasher::new(),
            admin_emails: vec![],
        }
    }

    fn post(body: &str) -> Request {
        Request::new(Body::from(body.to_owned()))
    }

    async fn call(
        deps: &Deps<InMemoryIdentityStore>,
        body: &str,
    ) -> Result<Response<Body>, ApiError> {
        handle(deps, post(body), HttpContext::new("req", None)).await
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn registers_and_answers_201() {
        let deps = deps();
        let response = call(
            &deps,
            r#"{"name":"Ada","email":"ada@example.com","password":"long enough"}"#,
        )
        .await
        .expect("created");
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("json");
        assert_eq!(body["email"], "ada@example.com");
        assert!(body.get("password_hash").is_none());
        assert_eq!(deps.store.outbox().len(), 1);
    }

    #[tokio::test]
    async fn reports_every_invalid_field() {
        let err = call(&deps(), r#"{"email":"nope","password":"short"}"#)
            .await
            .expect_err("invalid");
        assert_eq!(fields(err), vec!["name", "email", "password"]);
    }

    #[tokio::test]
    async fn duplicate_is_409() {
        let deps = deps();
        let body = r#"{"name":"Ada","email":"ada@example.com","password":"long enough"}"#;
        call(&deps, body).await.expect("first");
        let err = call(&deps, body).await.expect_err("second");
        assert_eq!(err.status(), StatusCode::CONFLICT);
    }
}
