use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json};
use identity::service::me;
use identity::store::IdentityStore;

pub async fn handle<S: IdentityStore>(
    store: &S,
    _req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    json(StatusCode::OK, &me(store, caller.user_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{Role, UserId};
    use http_kit::Caller;
    use identity::memory::InMemoryIdentityStore;

    #[tokio::test]
    async fn needs_a_caller_and_an_existing_user() {
        let store = InMemoryIdentityStore::new();
        let anonymous = handle(&store, Request::default(), HttpContext::new("r", None))
            .await
            .expect_err("401");
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let ghost = HttpContext::new(
            "r",
            Some(Caller {
                user_id: UserId::new(),
                roles: vec![Role::User],
            }),
        );
        let missing = handle(&store, Request::default(), ghost)
            .await
            .expect_err("404");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }
}
