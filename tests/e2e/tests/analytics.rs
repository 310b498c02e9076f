//! Analytics reports and health endpoints through the gateway.

use std::time::Duration;

use e2e::{eventually, send_to_queue, stack, synthetic_registration};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn registrations_and_event_counts_are_reported_per_day() {
    let st = stack().await;
    let admin = st.admin().await;
    let (event, day) = synthetic_registration();
    let body = serde_json::to_string(&event).expect("json");
    send_to_queue(&st, "AnalyticsEventsQueueUrl", &body).await;
    send_to_queue(&st, "AnalyticsEventsQueueUrl", &body).await;

    let path = format!("/analytics/users/registered?from={day}&to={day}");
    let report = eventually(
        "the registration in the report",
        Duration::from_secs(60),
        || async {
            let r = st
                .call(Method::GET, &path, Some(&admin.access_token), None)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            (r.body["total"] == 1).then_some(r.body)
        },
    )
    .await;
    assert_eq!(report["days"][0]["date"], day.as_str());
    assert_eq!(report["days"][0]["registrations"], 1);

    let events = st
        .call(
            Method::GET,
            &format!("/analytics/events?from={day}&to={day}"),
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(events.status, StatusCode::OK);
    assert_eq!(
        events.body["totals"]["user.registered"], 1,
        "{:?}",
        events.body
    );

    let user = st.new_user().await;
    let refused = st
        .call(Method::GET, &path, Some(&user.access_token), None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let bad = st
        .call(
            Method::GET,
            "/analytics/events?from=2026-12-01&to=2026-11-01",
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn health_endpoints_report_dependencies() {
    let st = stack().await;
    let health = st.call(Method::GET, "/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK, "{:?}", health.body);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.body["services"]["identity"]["table"], "ok");
    assert_eq!(health.body["services"]["identity"]["topic"], "ok");
    for service in [
        "payments",
        "notifications",
        "catalog",
        "inventory",
        "orders",
    ] {
        assert_eq!(health.body["services"][service]["table"], "ok", "{service}");
        assert_eq!(health.body["services"][service]["topic"], "ok", "{service}");
    }

    let user = st.new_user().await;
    let refused = st
        .call(
            Method::GET,
            "/analytics/health",
            Some(&user.access_token),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let admin = st.admin().await;
    let ok = st
        .call(
            Method::GET,
            "/analytics/health",
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["services"]["analytics"]["bucket"], "ok");
}
