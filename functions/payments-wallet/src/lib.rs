use http_kit::{ApiError, Body, HttpContext, Request, Response, StatusCode, json};
use payments::service::wallet;
use payments::store::PaymentsStore;

/// The caller's own wallet: the user id comes from the authorizer, never
/// from the request, so there is no way to name someone else's.
pub async fn handle<S: PaymentsStore>(
    store: &S,
    _req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    json(StatusCode::OK, &wallet(store, caller.user_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{CorrelationId, Currency, Role, UserId};
    use http_kit::Caller;
    use payments::memory::InMemoryPaymentsStore;
    use payments::model::{DepositAmount, Description, IdempotencyKey};
    use payments::service::{DepositCommand, deposit, open_account};
    use time::OffsetDateTime;

    fn ctx(user: UserId) -> HttpContext {
        HttpContext::new(
            "req",
            Some(Caller {
                user_id: user,
                roles: vec![Role::User],
            }),
        )
    }

    async fn credit(store: &InMemoryPaymentsStore, user: UserId, amount: i64) {
        deposit(
            store,
            DepositCommand {
                user_id: user,
                key: IdempotencyKey::parse(&format!("k-{amount}")).expect("key"),
                amount: DepositAmount::new(amount, Currency::USD).expect("amount"),
                currency: Currency::USD,
                description: Description::default(),
            },
            CorrelationId::new(),
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("deposit");
    }

    #[tokio::test]
    async fn shows_the_callers_balance() {
        let store = InMemoryPaymentsStore::new();
        let (ada, bob) = (UserId::new(), UserId::new());
        for user in [ada, bob] {
            open_account(
                &store,
                user,
                Currency::USD,
                CorrelationId::new(),
                OffsetDateTime::now_utc(),
            )
            .await
            .expect("account");
        }
        credit(&store, ada, 1_250).await;
        credit(&store, bob, 99).await;

        let response = handle(&store, Request::default(), ctx(ada))
            .await
            .expect("200");
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("json");
        let account = store.account(ada).await.expect("read").expect("account");
        assert_eq!(body["account_id"], account.id.as_str());
        assert_eq!(
            body["balance"],
            serde_json::json!({"amount": 1250, "currency": "USD"})
        );
        assert!(body["updated_at"].as_str().is_some());
    }

    #[tokio::test]
    async fn needs_a_caller_with_a_wallet() {
        let store = InMemoryPaymentsStore::new();
        let anonymous = handle(&store, Request::default(), HttpContext::new("r", None))
            .await
            .expect_err("401");
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let newcomer = handle(&store, Request::default(), ctx(UserId::new()))
            .await
            .expect_err("404");
        assert_eq!(newcomer.status(), StatusCode::NOT_FOUND);
    }
}
