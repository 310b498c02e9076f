use http_kit::{
    ApiError, Body, FieldError, HttpContext, Request, Response, StatusCode, json, query_param,
};
use payments::service::transactions;
use payments::store::PaymentsStore;

pub const DEFAULT_LIMIT: u32 = 20;

/// The caller's ledger, newest first. The cursor is checked against the
/// caller, so it can only continue the caller's own ledger.
pub async fn handle<S: PaymentsStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let limit = match query_param(&req, "limit") {
        None => DEFAULT_LIMIT,
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
        &transactions(store, caller.user_id, cursor.as_deref(), limit).await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{CorrelationId, Currency, Role, UserId};
    use http_kit::Caller;
    use lambda_http::RequestExt;
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

    fn get(pairs: &[(&str, &str)]) -> Request {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Request::new(Body::Empty).with_query_string_parameters(map)
    }

    async fn wallet_with_deposits(store: &InMemoryPaymentsStore, amounts: &[i64]) -> UserId {
        let user = UserId::new();
        open_account(
            store,
            user,
            Currency::USD,
            CorrelationId::new(),
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("account");
        for (i, amount) in amounts.iter().enumerate() {
            deposit(
                store,
                DepositCommand {
                    user_id: user,
                    key: IdempotencyKey::parse(&format!("k{i}")).expect("key"),
                    amount: DepositAmount::new(*amount, Currency::USD).expect("amount"),
                    currency: Currency::USD,
                    description: Description::parse(&format!("deposit {i}")).expect("text"),
                },
                CorrelationId::new(),
                OffsetDateTime::now_utc(),
            )
            .await
            .expect("deposit");
        }
        user
    }

    async fn page(
        store: &InMemoryPaymentsStore,
        user: UserId,
        query: &[(&str, &str)],
    ) -> serde_json::Value {
        let response = handle(store, get(query), ctx(user)).await.expect("200");
        assert_eq!(response.status(), StatusCode::OK);
        serde_json::from_slice(response.body().as_ref()).expect("json")
    }

    fn amounts(page: &serde_json::Value) -> Vec<i64> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|t| t["amount"]["amount"].as_i64().expect("amount"))
            .collect()
    }

    #[tokio::test]
    async fn pages_newest_first_until_the_end() {
        let store = InMemoryPaymentsStore::new();
        let user = wallet_with_deposits(&store, &[1, 2, 3, 4, 5]).await;
        // Someone else's deposits never show up.
        wallet_with_deposits(&store, &[77, 88]).await;

        let first = page(&store, user, &[("limit", "2")]).await;
        assert_eq!(amounts(&first), vec![5, 4]);
        let item = &first["items"][0];
        assert!(item["id"].as_str().is_some_and(|id| id.starts_with("txn_")));
        assert_eq!(item["type"], "deposit");
        assert_eq!(item["balance_after"]["amount"], 15);
        assert_eq!(item["description"], "deposit 4");

        let cursor = first["next_cursor"].as_str().expect("cursor");
        let second = page(&store, user, &[("limit", "2"), ("cursor", cursor)]).await;
        assert_eq!(amounts(&second), vec![3, 2]);
        let cursor = second["next_cursor"].as_str().expect("cursor");
        let third = page(&store, user, &[("limit", "2"), ("cursor", cursor)]).await;
        assert_eq!(amounts(&third), vec![1]);
        assert!(third.get("next_cursor").is_none());

        let all = page(&store, user, &[]).await;
        assert_eq!(amounts(&all), vec![5, 4, 3, 2, 1]);
    }

    #[tokio::test]
    async fn bad_cursors_and_limits_are_400() {
        let store = InMemoryPaymentsStore::new();
        let user = wallet_with_deposits(&store, &[1, 2, 3]).await;
        let other = wallet_with_deposits(&store, &[4, 5, 6]).await;
        let others_cursor = page(&store, other, &[("limit", "1")]).await["next_cursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        let own_cursor = page(&store, user, &[("limit", "1")]).await["next_cursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        let tampered = &own_cursor[4..];
        for cursor in ["bogus", "", "e30", others_cursor.as_str(), tampered] {
            let err = handle(&store, get(&[("cursor", cursor)]), ctx(user))
                .await
                .expect_err("bad cursor");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{cursor:?}");
        }
        for limit in ["0", "101", "ten", "-1", "2.5"] {
            let err = handle(&store, get(&[("limit", limit)]), ctx(user))
                .await
                .expect_err("bad limit");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{limit}");
        }
    }

    #[tokio::test]
    async fn needs_a_caller() {
        let store = InMemoryPaymentsStore::new();
        let err = handle(&store, get(&[]), HttpContext::new("r", None))
            .await
            .expect_err("401");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        let empty = page(&store, UserId::new(), &[]).await;
        assert_eq!(amounts(&empty), Vec::<i64>::new());
    }
}
