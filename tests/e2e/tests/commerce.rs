//! The order saga end to end: checkout -> inventory reserves -> payments
//! charges (wallet or card through the fake Stripe) -> order confirmed ->
//! receipt PDF and e-mail; and every way it can fail and be compensated.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::shop::{
    SAGA_WAIT, add_to_cart, balance, checkout, funded_user, order, order_becomes, order_settles,
    statuses, stock_becomes, stocked_product,
};
use e2e::{Stack, TestUser, attr, eventually, send_to_queue, stack};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn wallet() -> Value {
    json!({"type": "wallet"})
}

fn card(payment_method: &str) -> Value {
    json!({"type": "card", "payment_method": payment_method})
}

/// Places an order for `quantity` of the product and returns its id.
async fn place(
    st: &Stack,
    user: &TestUser,
    product_id: &str,
    quantity: u32,
    payment: Value,
) -> String {
    add_to_cart(st, user, product_id, quantity).await;
    let r = checkout(st, user, &key(), payment).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "checkout: {:?}", r.body);
    assert_eq!(r.body["status"], "pending");
    r.body["id"].as_str().expect("order id").to_owned()
}

fn wire<T: serde::Serialize>(event: &T) -> String {
    serde_json::to_string(event).expect("event json")
}

fn invoice_id(payment_id: &str) -> String {
    let digest = Sha256::digest(format!("invoice|{payment_id}").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("inv_{hex}")
}

async fn deliveries_of(st: &Stack, user: &TestUser, template: &str) -> Vec<e2e::Item> {
    st.deliveries(&user.id, "email")
        .await
        .into_iter()
        .filter(|i| attr(i, "template") == template)
        .collect()
}

#[tokio::test]
async fn a_wallet_order_is_confirmed_with_a_receipt() {
    let st = stack().await;
    let admin = st.admin().await;
    let (product, sku) = stocked_product(&st, &admin.access_token, 1250, 5).await;
    let user = funded_user(&st, 10_000).await;

    let cart = add_to_cart(&st, &user, &product, 2).await;
    assert_eq!(cart["total"], 2500, "{cart:?}");
    let id = place(&st, &user, &product, 2, wallet()).await;
    let confirmed = order_becomes(&st, &user, &id, "confirmed").await;
    let history = statuses(&confirmed);
    assert_eq!(history.first().map(String::as_str), Some("pending"));
    assert!(history.contains(&"paid".to_owned()), "{history:?}");
    assert_eq!(confirmed["total"], 2500);
    assert_eq!(balance(&st, &user).await, 7500);
    let stock = stock_becomes(&st, &admin.access_token, &sku, 3, 0).await;
    assert_eq!(stock["sold"], 2);
    let cart = st
        .call(Method::GET, "/cart", Some(&user.access_token), None)
        .await;
    assert_eq!(cart.body["items"], json!([]), "checkout empties the cart");

    // The receipt: a PDF in S3 behind a presigned link, and an e-mail.
    let payment_id = confirmed["payment_id"].as_str().expect("payment id");
    let invoice = invoice_id(payment_id);
    let got = eventually("the invoice", SAGA_WAIT, || async {
        let r = st
            .call(
                Method::GET,
                &format!("/invoices/{invoice}"),
                Some(&user.access_token),
                None,
            )
            .await;
        (r.status == StatusCode::OK).then_some(r.body)
    })
    .await;
    assert_eq!(got["order_id"], id.as_str());
    assert_eq!(got["amount"], 2500);
    let pdf = st
        .http
        .get(got["download_url"].as_str().expect("url"))
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes");
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let other = st.new_user().await;
    let r = st
        .call(
            Method::GET,
            &format!("/invoices/{invoice}"),
            Some(&other.access_token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another user's invoice");
    let r = st
        .call(
            Method::GET,
            &format!("/invoices/{invoice}"),
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "admins see every invoice");
    eventually("the receipt e-mail", SAGA_WAIT, || async {
        (deliveries_of(&st, &user, "receipt").await.len() == 1).then_some(())
    })
    .await;
    eventually("the order confirmation e-mail", SAGA_WAIT, || async {
        (!deliveries_of(&st, &user, "order_confirmed")
            .await
            .is_empty())
        .then_some(())
    })
    .await;

    // Shipping and delivery by an admin; illegal moves are refused.
    let status_path = format!("/orders/{id}/status");
    let r = st
        .call(
            Method::PUT,
            &status_path,
            Some(&user.access_token),
            Some(json!({"status": "shipped"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = st
        .call(
            Method::PUT,
            &status_path,
            Some(&admin.access_token),
            Some(json!({"status": "delivered"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "confirmed -> delivered skips shipping"
    );
    for status in ["shipped", "delivered"] {
        let r = st
            .call(
                Method::PUT,
                &status_path,
                Some(&admin.access_token),
                Some(json!({"status": status})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{status}: {:?}", r.body);
    }
    let r = st
        .call(
            Method::POST,
            &format!("/orders/{id}/cancel"),
            Some(&user.access_token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "too late to cancel");
}

#[tokio::test]
async fn a_card_order_found_by_search_is_charged_through_stripe_with_a_receipt() {
    let st = stack().await;
    let admin = st.admin().await;
    let (product, sku) = stocked_product(&st, &admin.access_token, 990, 4).await;
    let user = funded_user(&st, 0).await;

    // The shopper finds it by a word of its name (the SKU's random part).
    let word = sku.trim_start_matches("E2E-").to_lowercase();
    let found = eventually("the product in search", SAGA_WAIT, || async {
        let r = st
            .call(Method::GET, &format!("/products?q={word}"), None, None)
            .await;
        r.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["id"] == product.as_str()).cloned())
    })
    .await;
    assert_eq!(found["price"], 990);

    let id = place(&st, &user, &product, 1, card("pm_card_visa")).await;
    let confirmed = order_becomes(&st, &user, &id, "confirmed").await;
    assert_eq!(confirmed["payment"]["type"], "card");
    assert_eq!(balance(&st, &user).await, 0, "the wallet is not touched");
    stock_becomes(&st, &admin.access_token, &sku, 3, 0).await;

    let invoice = invoice_id(confirmed["payment_id"].as_str().expect("payment id"));
    let got = eventually("the invoice", SAGA_WAIT, || async {
        let r = st
            .call(
                Method::GET,
                &format!("/invoices/{invoice}"),
                Some(&user.access_token),
                None,
            )
            .await;
        (r.status == StatusCode::OK).then_some(r.body)
    })
    .await;
    assert_eq!(got["amount"], 990);
    let pdf = st
        .http
        .get(got["download_url"].as_str().expect("url"))
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes");
    assert!(pdf.starts_with(b"%PDF-"));
    eventually("the receipt e-mail", SAGA_WAIT, || async {
        (deliveries_of(&st, &user, "receipt").await.len() == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn out_of_stock_cancels_and_charges_nothing() {
    let st = stack().await;
    let admin = st.admin().await;
    let (product, sku) = stocked_product(&st, &admin.access_token, 500, 1).await;
    let user = funded_user(&st, 5_000).await;

    let id = place(&st, &user, &product, 2, wallet()).await;
    let cancelled = order_becomes(&st, &user, &id, "cancelled").await;
    assert_eq!(cancelled["cancel_reason"], "out_of_stock");
    assert_eq!(balance(&st, &user).await, 5_000);
    stock_becomes(&st, &admin.access_token, &sku, 1, 0).await;
}

#[tokio::test]
async fn a_declined_payment_cancels_and_releases_the_stock() {
    let st = stack().await;
    let admin = st.admin().await;
    let (product, sku) = stocked_product(&st, &admin.access_token, 700, 6).await;

    // An empty wallet.
    let poor = funded_user(&st, 100).await;
    let id = place(&st, &poor, &product, 2, wallet()).await;
    let cancelled = order_becomes(&st, &poor, &id, "cancelled").await;
    assert_eq!(cancelled["cancel_reason"], "payment_failed");
    assert_eq!(balance(&st, &poor).await, 100);

    // A card the fake Stripe declines.
    let carded = funded_user(&st, 0).await;
    let id = place(
        &st,
        &carded,
        &product,
        1,
        card("pm_card_chargeCustomerFail"),
    )
    .await;
    let cancelled = order_becomes(&st, &carded, &id, "cancelled").await;
    assert_eq!(cancelled["cancel_reason"], "payment_failed");

    stock_becomes(&st, &admin.access_token, &sku, 6, 0).await;
    eventually("the cancellation e-mail", SAGA_WAIT, || async {
        (!deliveries_of(&st, &poor, "order_cancelled")
            .await
            .is_empty())
        .then_some(())
    })
    .await;
}

#[tokio::test]
async fn cancelling_after_payment_refunds_and_releases() {
    let st = stack().await;
    let admin = st.admin().await;
    let (product, sku) = stocked_product(&st, &admin.access_token, 2000, 3).await;
    let user = funded_user(&st, 6_000).await;

    let id = place(&st, &user, &product, 2, wallet()).await;
    order_becomes(&st, &user, &id, "confirmed").await;
    assert_eq!(balance(&st, &user).await, 2_000);

    let r = st
        .call(
            Method::POST,
            &format!("/orders/{id}/cancel"),
            Some(&user.access_token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["cancel_reason"], "customer_request");
    eventually("the refund", SAGA_WAIT, || async {
        (balance(&st, &user).await == 6_000).then_some(())
    })
    .await;
    stock_becomes(&st, &admin.access_token, &sku, 3, 0).await;

    // The card path refunds through Stripe.
    let carded = funded_user(&st, 0).await;
    let id = place(&st, &carded, &product, 1, card("pm_card_visa")).await;
    order_becomes(&st, &carded, &id, "confirmed").await;
    let r = st
        .call(
            Method::POST,
            &format!("/orders/{id}/cancel"),
            Some(&carded.access_token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let refunded = eventually("the card refund recorded", SAGA_WAIT, || async {
        let item = st
            .dynamo
            .get_item()
            .table_name(st.output("PaymentsTableName"))
            .key("pk", AttributeValue::S(format!("CHARGE#{id}")))
            .key("sk", AttributeValue::S("CHARGE".into()))
            .consistent_read(true)
            .send()
            .await
            .ok()?
            .item?;
        (attr(&item, "status") == "refunded").then_some(item)
    })
    .await;
    assert_eq!(attr(&refunded, "method"), "card");
    stock_becomes(&st, &admin.access_token, &sku, 3, 0).await;
}

#[tokio::test]
async fn thirty_buyers_for_the_last_ten_units() {
    let st = stack().await;
    let admin = st.admin().await;
    let (product, sku) = stocked_product(&st, &admin.access_token, 300, 10).await;
    let buyers = futures::future::join_all((0..30).map(|_| funded_user(&st, 1_000))).await;
    for b in &buyers {
        add_to_cart(&st, b, &product, 1).await;
    }
    let orders = futures::future::join_all(buyers.iter().map(|b| async {
        let r = checkout(&st, b, &key(), wallet()).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
        r.body["id"].as_str().expect("id").to_owned()
    }))
    .await;
    let settled = futures::future::join_all(
        buyers
            .iter()
            .zip(&orders)
            .map(|(b, id)| order_settles(&st, b, id)),
    )
    .await;

    let confirmed = settled
        .iter()
        .filter(|o| o["status"] == "confirmed")
        .count();
    assert_eq!(confirmed, 10, "exactly the stock is sold");
    for (b, o) in buyers.iter().zip(&settled) {
        let expected = if o["status"] == "confirmed" {
            700
        } else {
            1_000
        };
        assert_eq!(balance(&st, b).await, expected, "{:?}", o["cancel_reason"]);
        if o["status"] == "cancelled" {
            assert_eq!(o["cancel_reason"], "out_of_stock");
        }
    }
    let stock = stock_becomes(&st, &admin.access_token, &sku, 0, 0).await;
    assert_eq!(stock["sold"], 10);
}

#[tokio::test]
async fn checkout_rules_and_privacy() {
    let st = stack().await;
    let admin = st.admin().await;
    let (product, _) = stocked_product(&st, &admin.access_token, 100, 50).await;
    let user = funded_user(&st, 10_000).await;

    let r = checkout(&st, &user, &key(), wallet()).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "empty cart: {:?}",
        r.body
    );

    add_to_cart(&st, &user, &product, 1).await;
    let k = key();
    let first = checkout(&st, &user, &k, wallet()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{:?}", first.body);
    let replay = checkout(&st, &user, &k, wallet()).await;
    assert_eq!(replay.status, StatusCode::ACCEPTED);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["id"], first.body["id"]);
    let other_body = checkout(&st, &user, &k, card("pm_card_visa")).await;
    assert_eq!(other_body.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = checkout(&st, &user, &key(), json!({"type": "cash"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let r = st
        .send(
            st.http
                .post(format!("{}/orders", st.api))
                .bearer_auth(&user.access_token)
                .json(&json!({"payment": wallet()})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no Idempotency-Key");

    for (path, quantity) in [
        (format!("/cart/items/{product}"), json!(0)),
        (format!("/cart/items/{product}"), json!(100)),
    ] {
        let r = st
            .call(
                Method::PUT,
                &path,
                Some(&user.access_token),
                Some(json!({"quantity": quantity})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{quantity}");
    }

    let id = first.body["id"].as_str().expect("id");
    let stranger = st.new_user().await;
    let r = order(&st, &stranger.access_token, id).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = st
        .call(
            Method::POST,
            &format!("/orders/{id}/cancel"),
            Some(&stranger.access_token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = order(&st, &admin.access_token, id).await;
    assert_eq!(r.status, StatusCode::OK, "admins see every order");
    let mine = st
        .call(Method::GET, "/orders", Some(&user.access_token), None)
        .await;
    assert!(
        mine.body["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o["id"] == id)),
        "{:?}",
        mine.body
    );
    let theirs = st
        .call(Method::GET, "/orders", Some(&stranger.access_token), None)
        .await;
    assert_eq!(theirs.body["items"], json!([]));
    let r = st.call(Method::GET, "/orders", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_stripe_webhook_refuses_bad_signatures() {
    let st = stack().await;
    let payload =
        r#"{"id": "evt_e2e", "type": "payment_intent.succeeded", "data": {"object": {}}}"#;
    for signature in [
        None,
        Some("t=1,v1=deadbeef".to_owned()),
        Some(format!(
            "t={},v1={}",
            time::OffsetDateTime::now_utc().unix_timestamp(),
            "0".repeat(64)
        )),
    ] {
        let mut req = st
            .http
            .post(format!("{}/payments/webhooks/stripe", st.api))
            .header("content-type", "application/json")
            .body(payload);
        if let Some(s) = &signature {
            req = req.header("stripe-signature", s);
        }
        let r = st.send(req).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{signature:?}: {:?}",
            r.body
        );
    }
}

#[tokio::test]
async fn poison_ends_in_each_commerce_consumers_dlq() {
    let st = stack().await;
    let marker = format!("poison-{}", uuid::Uuid::new_v4().simple());
    let queues = [
        "InventoryStockInit",
        "InventoryReserve",
        "InventoryRelease",
        "InventoryCommit",
        "OrdersProducts",
        "OrdersInventoryReserved",
        "OrdersReservationFailed",
        "OrdersPaymentSucceeded",
        "OrdersPaymentFailed",
        "PaymentsCharge",
        "PaymentsRefund",
        "PaymentsReceipt",
        "ReceiptEmail",
        "LowStockAlert",
        "OrderStatusEmail",
    ];
    for q in queues {
        send_to_queue(
            &st,
            &format!("{q}QueueUrl"),
            &format!("{{\"not\": \"an event\", \"marker\": \"{marker}\"}}"),
        )
        .await;
    }
    for q in queues {
        let dlq = format!("{q}DLQUrl");
        eventually(&format!("the poison in {dlq}"), SAGA_WAIT * 2, || {
            st.dlq_holds(&dlq, &marker)
        })
        .await;
    }
}

/// The same saga events delivered twice to inventory and payments: one
/// reservation, one charge, one release, one refund. The order is synthetic
/// (the orders service never heard of it), so only these four consumers act.
#[tokio::test]
async fn saga_steps_delivered_twice_have_one_effect() {
    use contracts::events::{
        CancelReason, InventoryReserved, OrderCancelled, OrderLine, OrderPayment, OrderPlaced,
        PaymentMethod,
    };
    use contracts::{CorrelationId, Currency, EventEnvelope, OrderId, ProductId, UserId};

    let st = stack().await;
    let admin = st.admin().await;
    let (product, sku) = stocked_product(&st, &admin.access_token, 500, 5).await;
    let user = funded_user(&st, 5_000).await;
    let now = time::OffsetDateTime::now_utc();
    let order_id = OrderId::new();
    let user_id: UserId = user.id.parse().expect("user id");
    let lines = vec![OrderLine {
        product_id: product.parse::<ProductId>().expect("product id"),
        sku: sku.clone(),
        name: "Synthetic line".into(),
        unit_price: 500,
        quantity: 2,
    }];
    let payment = OrderPayment {
        amount: 1_000,
        currency: Currency::USD,
        method: PaymentMethod::Wallet,
    };
    let placed = EventEnvelope::new(
        OrderPlaced {
            order_id,
            user_id,
            lines: lines.clone(),
            payment: payment.clone(),
            placed_at: now,
        },
        CorrelationId::new(),
        now,
    );
    let reserved = EventEnvelope::new(
        InventoryReserved {
            order_id,
            user_id,
            lines: lines.clone(),
            payment,
            reserved_at: now,
        },
        CorrelationId::new(),
        now,
    );
    let cancelled = EventEnvelope::new(
        OrderCancelled {
            order_id,
            user_id,
            reason: CancelReason::CustomerRequest,
            lines,
            cancelled_at: now,
        },
        CorrelationId::new(),
        now,
    );

    for _ in 0..2 {
        send_to_queue(&st, "InventoryReserveQueueUrl", &wire(&placed)).await;
    }
    stock_becomes(&st, &admin.access_token, &sku, 3, 2).await;
    // Inventory's own inventory.reserved reaches payments too; these two
    // copies of ours make three deliveries of one charge.
    for _ in 0..2 {
        send_to_queue(&st, "PaymentsChargeQueueUrl", &wire(&reserved)).await;
    }
    eventually("the charge", SAGA_WAIT, || async {
        (balance(&st, &user).await == 4_000).then_some(())
    })
    .await;

    for _ in 0..2 {
        send_to_queue(&st, "InventoryReleaseQueueUrl", &wire(&cancelled)).await;
        send_to_queue(&st, "PaymentsRefundQueueUrl", &wire(&cancelled)).await;
    }
    stock_becomes(&st, &admin.access_token, &sku, 5, 0).await;
    eventually("the refund", SAGA_WAIT, || async {
        (balance(&st, &user).await == 5_000).then_some(())
    })
    .await;
    for queue in [
        "InventoryReserveQueueUrl",
        "PaymentsChargeQueueUrl",
        "InventoryReleaseQueueUrl",
        "PaymentsRefundQueueUrl",
    ] {
        eventually(&format!("{queue} drained"), SAGA_WAIT * 2, || async {
            st.queue_drained(queue).await.then_some(())
        })
        .await;
    }
    assert_eq!(
        balance(&st, &user).await,
        5_000,
        "charged once, refunded once"
    );
    let s = e2e::shop::stock(&st, &admin.access_token, &sku).await;
    assert_eq!(
        (s["available"].as_u64(), s["reserved"].as_u64()),
        (Some(5), Some(0))
    );
}

#[tokio::test]
async fn selling_below_the_threshold_alerts_admins_and_sales_are_reported() {
    let st = stack().await;
    let admin = st.admin().await;
    // Threshold 5 (DefaultLowStockThreshold): 10 -> 4 crosses it.
    let (product, sku) = stocked_product(&st, &admin.access_token, 250, 10).await;
    let user = funded_user(&st, 5_000).await;
    let id = place(&st, &user, &product, 6, wallet()).await;
    order_becomes(&st, &user, &id, "confirmed").await;

    let alert = eventually("the low-stock alert on Discord", SAGA_WAIT, || async {
        st.discord.received(&sku).into_iter().next()
    })
    .await;
    assert!(alert.content().contains('4'), "{}", alert.content());

    let today = time::OffsetDateTime::now_utc().date().to_string();
    let path = format!("/analytics/sales?from={today}&to={today}");
    let report = eventually("the sale in the report", SAGA_WAIT, || async {
        let r = st
            .call(Method::GET, &path, Some(&admin.access_token), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let usd = r.body["totals"]["revenue"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["currency"] == "USD")
            .and_then(|m| m["amount"].as_i64())
            .unwrap_or(0);
        (r.body["totals"]["orders"].as_i64().unwrap_or(0) >= 1 && usd >= 1_500).then_some(r.body)
    })
    .await;
    assert_eq!(report["days"][0]["date"], today.as_str());

    let r = st
        .call(Method::GET, &path, Some(&user.access_token), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = st
        .call(
            Method::GET,
            "/analytics/sales?from=2026-02-30&to=2026-01-01",
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
}

/// After an order is confirmed, its saga events arrive again, each twice
/// (the same message redelivered): the order, the stock, the invoice and the
/// e-mails do not change, and the product event that opened the stock
/// record does not reset it.
#[tokio::test]
async fn a_settled_order_shrugs_off_redelivered_saga_events() {
    use contracts::events::{
        InventoryReserved, OrderConfirmed, OrderLine, OrderPayment, PaymentKind, PaymentMethod,
        PaymentSucceeded, ProductCreated, ProductDetails,
    };
    use contracts::{CorrelationId, Currency, EventEnvelope, OrderId, ProductId, UserId};

    let st = stack().await;
    let admin = st.admin().await;
    let (product, sku) = stocked_product(&st, &admin.access_token, 800, 6).await;
    let user = funded_user(&st, 5_000).await;
    let id = place(&st, &user, &product, 2, wallet()).await;
    let confirmed = order_becomes(&st, &user, &id, "confirmed").await;
    stock_becomes(&st, &admin.access_token, &sku, 4, 0).await;
    eventually("the receipt e-mail", SAGA_WAIT, || async {
        (deliveries_of(&st, &user, "receipt").await.len() == 1).then_some(())
    })
    .await;
    eventually("the confirmation e-mail", SAGA_WAIT, || async {
        (deliveries_of(&st, &user, "order_confirmed").await.len() == 1).then_some(())
    })
    .await;

    let now = time::OffsetDateTime::now_utc();
    let order_id: OrderId = id.parse().expect("order id");
    let user_id: UserId = user.id.parse().expect("user id");
    let product_id: ProductId = product.parse().expect("product id");
    let payment_id = confirmed["payment_id"]
        .as_str()
        .expect("payment id")
        .to_owned();
    let lines = vec![OrderLine {
        product_id,
        sku: sku.clone(),
        name: format!("Product {sku}"),
        unit_price: 800,
        quantity: 2,
    }];
    let reserved = wire(&EventEnvelope::new(
        InventoryReserved {
            order_id,
            user_id,
            lines: lines.clone(),
            payment: OrderPayment {
                amount: 1_600,
                currency: Currency::USD,
                method: PaymentMethod::Wallet,
            },
            reserved_at: now,
        },
        CorrelationId::new(),
        now,
    ));
    let paid = wire(&EventEnvelope::new(
        PaymentSucceeded {
            payment_id: payment_id.clone(),
            order_id,
            user_id,
            amount: 1_600,
            currency: Currency::USD,
            method: PaymentKind::Wallet,
            provider_reference: "redelivered".into(),
            succeeded_at: now,
        },
        CorrelationId::new(),
        now,
    ));
    let order_confirmed = wire(&EventEnvelope::new(
        OrderConfirmed {
            order_id,
            user_id,
            payment_id,
            lines,
            amount: 1_600,
            currency: Currency::USD,
            confirmed_at: now,
        },
        CorrelationId::new(),
        now,
    ));
    let created = wire(&EventEnvelope::new(
        ProductCreated {
            product_id,
            version: 1,
            product: ProductDetails {
                sku: sku.clone(),
                name: format!("Product {sku}"),
                description: "e2e".into(),
                category: "e2e".into(),
                price: 800,
                currency: Currency::USD,
                images: Vec::new(),
            },
            created_at: now,
        },
        CorrelationId::new(),
        now,
    ));
    let deliveries = [
        ("OrdersInventoryReservedQueueUrl", &reserved),
        ("PaymentsChargeQueueUrl", &reserved),
        ("OrdersPaymentSucceededQueueUrl", &paid),
        ("PaymentsReceiptQueueUrl", &paid),
        ("InventoryCommitQueueUrl", &order_confirmed),
        ("PaymentsReceiptQueueUrl", &order_confirmed),
        ("OrderStatusEmailQueueUrl", &order_confirmed),
        ("InventoryStockInitQueueUrl", &created),
        ("OrdersProductsQueueUrl", &created),
    ];
    for (queue, body) in deliveries {
        send_to_queue(&st, queue, body).await;
        send_to_queue(&st, queue, body).await;
    }
    for (queue, _) in deliveries {
        eventually(&format!("{queue} drained"), SAGA_WAIT * 2, || async {
            st.queue_drained(queue).await.then_some(())
        })
        .await;
    }

    let after = order(&st, &user.access_token, &id).await.body;
    assert_eq!(after["status"], "confirmed");
    assert_eq!(after["history"], confirmed["history"], "history unchanged");
    assert_eq!(balance(&st, &user).await, 3_400, "charged once");
    let stock = e2e::shop::stock(&st, &admin.access_token, &sku).await;
    assert_eq!(
        (
            stock["available"].as_u64(),
            stock["reserved"].as_u64(),
            stock["sold"].as_u64()
        ),
        (Some(4), Some(0), Some(2)),
        "committed once, not reset: {stock:?}"
    );
    assert_eq!(
        deliveries_of(&st, &user, "receipt").await.len(),
        1,
        "one invoice, one receipt"
    );
    // The redelivered order.confirmed is one new message delivered twice:
    // one more e-mail, not two.
    assert_eq!(deliveries_of(&st, &user, "order_confirmed").await.len(), 2);
}
