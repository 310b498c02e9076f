//! A stalled saga: inventory never answers an order, and the scheduled
//! `orders-timeout` function cancels it with compensation. Its own test
//! binary, because it stops the inventory-reserve consumer for a while and
//! test binaries run one after another.

use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use e2e::shop::{
    add_to_cart, balance, checkout, funded_user, order_becomes, stock_becomes, stocked_product,
};
use e2e::{Stack, stack};
use reqwest::StatusCode;
use serde_json::json;

/// The reserve consumer's event source mapping (found by its queue).
async fn reserve_mapping(st: &Stack) -> String {
    let queue_arn = st
        .sqs
        .get_queue_attributes()
        .queue_url(st.output("InventoryReserveQueueUrl"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue arn");
    st.lambda
        .list_event_source_mappings()
        .event_source_arn(queue_arn)
        .send()
        .await
        .expect("list mappings")
        .event_source_mappings()
        .first()
        .and_then(|m| m.uuid().map(str::to_owned))
        .expect("the reserve consumer's mapping")
}

async fn set_enabled(st: &Stack, mapping: &str, enabled: bool) {
    st.lambda
        .update_event_source_mapping()
        .uuid(mapping)
        .enabled(enabled)
        .send()
        .await
        .expect("update mapping");
}

/// Re-enables the mapping even when an assertion fails.
struct Reenable<'a>(&'a Stack, String);

impl Drop for Reenable<'_> {
    fn drop(&mut self) {
        let (st, mapping) = (self.0, self.1.clone());
        let lambda = st.lambda.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Runtime::new().map(|rt| {
                rt.block_on(async {
                    let _ = lambda
                        .update_event_source_mapping()
                        .uuid(mapping)
                        .enabled(true)
                        .send()
                        .await;
                })
            })
        })
        .join();
    }
}

#[tokio::test]
async fn a_stalled_order_is_cancelled_by_the_timeout_and_nothing_is_left_reserved() {
    let st = stack().await;
    let admin = st.admin().await;
    let (product, sku) = stocked_product(&st, &admin.access_token, 400, 5).await;
    let user = funded_user(&st, 2_000).await;
    add_to_cart(&st, &user, &product, 2).await;

    let mapping = reserve_mapping(&st).await;
    set_enabled(&st, &mapping, false).await;
    let guard = Reenable(&st, mapping.clone());

    let r = checkout(
        &st,
        &user,
        &uuid::Uuid::new_v4().to_string(),
        json!({"type": "wallet"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();

    // Past the saga timeout (SagaTimeoutSeconds, 60 s on the local stack)
    // the scheduled sweep cancels it; invoking it here saves waiting for
    // the schedule.
    let function = st.output("OrdersTimeoutFunctionName").to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let out = st
            .lambda
            .invoke()
            .function_name(&function)
            .payload(Blob::new(b"{}".to_vec()))
            .send()
            .await
            .expect("invoke the timeout");
        assert!(out.function_error().is_none(), "{:?}", out.payload());
        let now = e2e::shop::order(&st, &user.access_token, &id).await;
        if now.body["status"] == "cancelled" {
            break;
        }
        assert_eq!(now.body["status"], "pending", "{:?}", now.body);
        assert!(tokio::time::Instant::now() < deadline, "never timed out");
    }
    let cancelled = order_becomes(&st, &user, &id, "cancelled").await;
    assert_eq!(cancelled["cancel_reason"], "timed_out");

    // Inventory comes back: the late order.placed must not reserve stock
    // for an order that no longer exists, and nothing is charged.
    set_enabled(&st, &mapping, true).await;
    drop(guard);
    tokio::time::sleep(Duration::from_secs(20)).await;
    stock_becomes(&st, &admin.access_token, &sku, 5, 0).await;
    assert_eq!(balance(&st, &user).await, 2_000);
}
