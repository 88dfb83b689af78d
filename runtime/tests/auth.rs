//! The auth matrix: every bad token refused with its code, over WebSocket and SSE; a token
//! signed with the previous secret accepted during a rotation, refused after it.

mod common;

use std::time::Duration;

use base64::Engine;
use chanspec_runtime::hub::HubConfig;
use chanspec_runtime::protocol::Claims;
use chanspec_runtime::token::TokenIssuer;
use common::*;

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn claims(chan: &str, topics: &[&str], exp: u64) -> Claims {
    let now = chanspec_runtime::protocol::now_millis() / 1000;
    Claims {
        chan: chan.into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        exp,
        iat: now,
        jti: "j".into(),
        sub: None,
        nbf: None,
    }
}

fn in_secs(s: u64) -> u64 {
    chanspec_runtime::protocol::now_millis() / 1000 + s
}

/// Check one token over WebSocket and SSE: refused with `code` (and `status` on SSE), or
/// accepted when `code` is `None`.
async fn check(hub: &Running, what: &str, token: &str, code: Option<&str>, status: u16) {
    let mut ws = Ws::connect(&hub.ws_url()).await;
    let answer = ws.subscribe(1, token, None).await;
    match code {
        None => assert_eq!(answer["type"], "subscribed", "{what}: {answer}"),
        Some(code) => {
            assert_eq!((answer["type"].as_str(), answer["code"].as_str()), (Some("error"), Some(code)), "{what}");
            ws.alive().await;
        }
    }
    match (Sse::open(&hub.http_url(), token, None).await, code) {
        (Ok(mut sse), None) => assert_eq!(sse.next().await.unwrap().data["type"], "subscribed", "{what}"),
        (Err((got, body)), Some(code)) => assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{what}"),
        (Ok(_), Some(_)) => panic!("{what}: SSE accepted"),
        (Err(e), None) => panic!("{what}: SSE refused {e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_matrix() {
    let hub =
        start_with(HubConfig::default(), None, None, |b| b.previous_secret("old-secret-of-at-least-32-bytes-abcdef"))
            .await;
    let ch = run_channel();
    let good = issuer().mint_claims(&claims(&ch, &["status"], in_secs(600)));
    check(&hub, "valid", &good, None, 200).await;

    // Forged: signed with another secret; or the payload changed after signing.
    let forged = TokenIssuer::new(b"not-the-secret").mint_claims(&claims(&ch, &["status"], in_secs(600)));
    check(&hub, "forged signature", &forged, Some("invalid_token"), 401).await;
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&serde_json::to_value(claims("pipeline:6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f7", &["status"], in_secs(600)))
            .unwrap()),
        parts[2]
    );
    check(&hub, "tampered claims", &tampered, Some("invalid_token"), 401).await;

    // alg none, unsigned; and HS512 (another algorithm) with the right secret.
    let body = serde_json::to_value(claims(&ch, &["status"], in_secs(600))).unwrap();
    let none = format!("{}.{}.", b64(&serde_json::json!({"alg": "none", "typ": "JWT"})), b64(&body));
    check(&hub, "alg none", &none, Some("invalid_token"), 401).await;
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &body,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    check(&hub, "HS512", &hs512, Some("invalid_token"), 401).await;
    check(&hub, "garbage", "a.b.c", Some("invalid_token"), 401).await;
    check(&hub, "empty", "", Some("invalid_token"), 401).await;

    // Expired.
    let expired = issuer().mint_claims(&claims(&ch, &["status"], in_secs(0) - 5));
    check(&hub, "expired", &expired, Some("token_expired"), 401).await;

    // A channel no definition has; a topic the channel does not have.
    let wrong_channel = issuer().mint_claims(&claims("pipeline:not-a-uuid", &["status"], in_secs(600)));
    check(&hub, "wrong channel", &wrong_channel, Some("not_found"), 404).await;
    let wrong_topic = issuer().mint_claims(&claims(&ch, &["status", "secrets"], in_secs(600)));
    check(&hub, "topic not in the channel", &wrong_topic, Some("not_found"), 404).await;

    // A topic not in the token is never delivered (the token allows `status` only).
    let mut ws = Ws::connect(&hub.ws_url()).await;
    assert_eq!(ws.subscribe(1, &good, None).await["topics"], serde_json::json!(["status"]));
    let body = serde_json::json!({"channel": ch, "topic": "tokens", "data": {"token": "secret"}}).to_string();
    http_publish(&hub.http_url(), Some(PUBLISH_KEY), body).await;
    let body =
        serde_json::json!({"channel": ch, "topic": "status", "data": {"step": "s", "state": "queued"}}).to_string();
    http_publish(&hub.http_url(), Some(PUBLISH_KEY), body).await;
    let m = ws.frame().await;
    assert_eq!((m["topic"].as_str(), m["offset"].as_u64()), (Some("status"), Some(2)));
    // Refreshing to a token of another channel is forbidden.
    let other = issuer().mint("announcements", &["posted"], Duration::from_secs(60));
    ws.send(serde_json::json!({"type": "refresh", "id": 1, "token": other})).await;
    assert_eq!(ws.frame().await["code"], "forbidden");

    // Rotation: the previous secret is accepted while configured...
    let old =
        TokenIssuer::new(b"old-secret-of-at-least-32-bytes-abcdef").mint(&ch, &["status"], Duration::from_secs(600));
    check(&hub, "previous secret during rotation", &old, None, 200).await;
    // ...and refused once rotated out.
    let after = start(HubConfig::default(), None).await;
    check(&after, "rotated-out secret", &old, Some("invalid_token"), 401).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_held_to_nbf_crit_and_the_maximum_lifetime_with_plain_messages() {
    let hub = start(HubConfig::default(), None).await;
    let ch = run_channel();
    // Not valid yet.
    let early = issuer().mint_claims(&Claims { nbf: Some(in_secs(600)), ..claims(&ch, &["status"], in_secs(900)) });
    check(&hub, "nbf in the future", &early, Some("invalid_token"), 401).await;
    let started = issuer().mint_claims(&Claims { nbf: Some(in_secs(0) - 5), ..claims(&ch, &["status"], in_secs(900)) });
    check(&hub, "nbf in the past", &started, None, 200).await;
    // A `crit` header, correctly signed.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.extras.insert("crit".into(), "[\"exp\"]".into());
    let body = serde_json::to_value(claims(&ch, &["status"], in_secs(600))).unwrap();
    let crit =
        jsonwebtoken::encode(&header, &body, &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes())).unwrap();
    check(&hub, "crit header", &crit, Some("invalid_token"), 401).await;
    // Valid for longer than the hub's maximum (24 h by default); `exp` as far as it goes.
    let long = issuer().mint_claims(&claims(&ch, &["status"], in_secs(25 * 3600)));
    check(&hub, "25 hours", &long, Some("invalid_token"), 401).await;
    let forever = issuer().mint_claims(&claims(&ch, &["status"], u64::MAX));
    check(&hub, "exp = u64::MAX", &forever, Some("invalid_token"), 401).await;
    // Every refusal says what is wrong in plain words, never a library's debug text.
    let unknown_alg = format!("{}.{}.", b64(&serde_json::json!({"alg": "none"})), b64(&body));
    for (what, token) in
        [("crit", crit), ("long", long), ("early", early), ("alg none", unknown_alg), ("garbage", "x.y.z".into())]
    {
        let mut ws = Ws::connect(&hub.ws_url()).await;
        let answer = ws.subscribe(1, &token, None).await;
        let message = answer["message"].as_str().unwrap_or_default().to_string();
        let debug_text = ["Error(", "Json(", "Kind", "Some(", "line 1 column"].iter().any(|d| message.contains(d));
        assert!(!message.is_empty() && !debug_text, "{what}: {message}");
    }
}

#[test]
fn a_short_secret_is_refused_when_the_hub_is_built() {
    let err = chanspec_runtime::hub::Hub::builder(channels::chanspec_definitions()).secret("short").build().err();
    assert!(err.is_some_and(|e| e.contains("at least 32 random bytes")));
    let err = chanspec_runtime::hub::Hub::builder(channels::chanspec_definitions())
        .secret(SECRET)
        .previous_secret("old")
        .build()
        .err();
    assert!(err.is_some_and(|e| e.contains("previous token secret")));
}
