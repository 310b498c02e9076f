use contracts::{Role, UserId};
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    json, parse_json, path_param,
};
use identity::service::set_roles;
use identity::store::IdentityStore;
use serde::Deserialize;

#[derive(Deserialize)]
struct RolesBody {
    roles: Option<Vec<String>>,
}

pub async fn handle<S: IdentityStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let id: UserId = path_param(&req, "id")?;
    let body: RolesBody = parse_json(&req, DEFAULT_BODY_LIMIT)?;
    let mut v = Validator::new();
    let roles = v.parse("roles", body.roles, |raw: Vec<String>| {
        if raw.is_empty() {
            return Err("must list at least one role".to_owned());
        }
        raw.iter()
            .map(|r| r.parse::<Role>().map_err(|e| format!("{r:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()
    });
    let roles = v.finish(roles)?;
    let user = set_roles(store, id, roles, time::OffsetDateTime::now_utc()).await?;
    json(StatusCode::OK, &user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{Email, PersonName};
    use http_kit::Caller;
    use identity::memory::InMemoryIdentityStore;
    use identity::model::User;
    use identity::store::IdentityStore;
    use lambda_http::RequestExt;

    fn caller(role: Role) -> HttpContext {
        HttpContext::new(
            "req",
            Some(Caller {
                user_id: UserId::new(),
                roles: vec![Role::User, role],
            }),
        )
    }

    fn request(id: &str, body: &str) -> Request {
        Request::new(Body::from(body.to_owned())).with_path_parameters(
            [("id".to_owned(), vec![id.to_owned()])]
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        )
    }

    async fn seeded() -> (InMemoryIdentityStore, UserId) {
        let store = InMemoryIdentityStore::new();
        let now = time::OffsetDateTime::now_utc();
        let user = User {
            id: UserId::new(),
            email: Email::parse("u@example.com").expect("email"),
            name: PersonName::parse("U").expect("name"),
            roles: vec![Role::User],
            password_hash: security::PasswordHash::from_stored("x".into()),
            created_at: now,
            updated_at: now,
        };
        let event = contracts::EventEnvelope::new(
            contracts::events::UserRegistered {
                user_id: user.id,
                email: user.email.clone(),
                name: user.name.clone(),
                registered_at: now,
            },
            contracts::CorrelationId::new(),
            now,
        )
        .into_raw()
        .expect("raw");
        store.create_user(&user, &event, now).await.expect("seed");
        (store, user.id)
    }

    #[tokio::test]
    async fn only_admins_may_set_roles() {
        let (store, id) = seeded().await;
        let err = handle(
            &store,
            request(&id.to_string(), r#"{"roles":["admin"]}"#),
            caller(Role::User),
        )
        .await
        .expect_err("forbidden");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        let ok = handle(
            &store,
            request(&id.to_string(), r#"{"roles":["admin","user"]}"#),
            caller(Role::Admin),
        )
        .await
        .expect("ok");
        assert_eq!(ok.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn bad_roles_and_unknown_users() {
        let (store, id) = seeded().await;
        for body in [
            r#"{"roles":[]}"#,
            r#"{"roles":["root"]}"#,
            r#"{}"#,
            r#"{"roles":"admin"}"#,
        ] {
            let err = handle(&store, request(&id.to_string(), body), caller(Role::Admin))
                .await
                .expect_err("invalid");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body}");
        }
        let err = handle(
            &store,
            request(&UserId::new().to_string(), r#"{"roles":["user"]}"#),
            caller(Role::Admin),
        )
        .await
        .expect_err("unknown");
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
        let err = handle(
            &store,
            request("not-a-uuid", r#"{"roles":["user"]}"#),
            caller(Role::Admin),
        )
        .await
        .expect_err("bad id");
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
    }
}
