use contracts::Role;
use http_kit::{
    ApiError, Body, FieldError, HttpContext, Request, Response, StatusCode, json, query_param,
};
use identity::service::list_users;
use identity::store::IdentityStore;

pub async fn handle<S: IdentityStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let limit = match query_param(&req, "limit") {
        None => 20,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| {
                ApiError::Validation(vec![FieldError::new(
                    "limit",
                    "must be an integer from 1 to 100",
                )])
            })?,
    };
    let cursor = query_param(&req, "cursor");
    json(
        StatusCode::OK,
        &list_users(store, cursor.as_deref(), limit).await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::UserId;
    use http_kit::Caller;
    use identity::memory::InMemoryIdentityStore;
    use lambda_http::RequestExt;

    fn ctx(roles: Vec<Role>) -> HttpContext {
        HttpContext::new(
            "req",
            Some(Caller {
                user_id: UserId::new(),
                roles,
            }),
        )
    }

    fn with_query(pairs: &[(&str, &str)]) -> Request {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Request::new(Body::Empty).with_query_string_parameters(map)
    }

    #[tokio::test]
    async fn users_and_anonymous_callers_are_refused() {
        let store = InMemoryIdentityStore::new();
        let err = handle(&store, with_query(&[]), ctx(vec![Role::User]))
            .await
            .expect_err("403");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        let err = handle(&store, with_query(&[]), HttpContext::new("req", None))
            .await
            .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn limit_and_cursor_are_validated() {
        let store = InMemoryIdentityStore::new();
        let admin = || ctx(vec![Role::User, Role::Admin]);
        for limit in ["0", "101", "ten", "-1"] {
            let err = handle(&store, with_query(&[("limit", limit)]), admin())
                .await
                .expect_err("bad");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{limit}");
        }
        let err = handle(&store, with_query(&[("cursor", "bogus")]), admin())
            .await
            .expect_err("cursor");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let ok = handle(&store, with_query(&[("limit", "5")]), admin())
            .await
            .expect("ok");
        assert_eq!(ok.status(), StatusCode::OK);
    }
}
