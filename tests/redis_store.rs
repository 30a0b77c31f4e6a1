//! The token store on Redis against a real redis-server (started per test, see redis_support).
//! Built only with the `redis` feature (`make test` turns it on).
#![cfg(feature = "redis")]

mod common;
mod redis_support;

use flexiti_auth::store::redis::{ConnectSettings, FailureKind, LockTry, RedisClient, RedisTarget};
use redis_support::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn settings() -> ConnectSettings {
    ConnectSettings { connect_timeout: Duration::from_millis(2000), command_timeout: Duration::from_millis(2000), extra_roots: None }
}

fn pem_ders(path: &std::path::Path) -> Vec<Vec<u8>> {
    use base64::Engine;
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut b64 = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("-----BEGIN CERTIFICATE") {
            inside = true;
            b64.clear();
        } else if line.starts_with("-----END CERTIFICATE") {
            inside = false;
            out.push(base64::engine::general_purpose::STANDARD.decode(&b64).unwrap());
        } else if inside {
            b64.push_str(line.trim());
        }
    }
    out
}

// ---- the primitives: lock, write while holding it, compare-and-delete ----------------------

#[test]
fn lock_write_and_release_compare_the_owner() {
    let server = RedisServer::start();
    let store = RedisClient::new(RedisTarget::parse(&format!("{}?prefix=shop1:", server.url(None))).unwrap());
    let s = settings();
    let (key, lock) = (store.target.token_key("h1"), store.target.lock_key("h1"));
    assert_eq!(key, "shop1:flexiti-auth:{h1}:token");
    assert_eq!(store.get(&s, &key).unwrap(), None);

    assert!(store.try_lock(&s, &lock, "owner-a", Duration::from_secs(10)).unwrap());
    assert!(!store.try_lock(&s, &lock, "owner-b", Duration::from_secs(10)).unwrap(), "the lock is exclusive");
    let ttl: i64 = server.cli_text(&["PTTL", &lock]).parse().unwrap();
    assert!(ttl > 8000 && ttl <= 10000, "lock PTTL {ttl}");

    // Only the holder writes; the value gets the TTL given.
    assert!(!store.write_if_owner(&s, &lock, "owner-b", &key, b"from-b", Duration::from_secs(60)).unwrap());
    assert_eq!(store.get(&s, &key).unwrap(), None);
    assert!(store.write_if_owner(&s, &lock, "owner-a", &key, b"from-a", Duration::from_secs(60)).unwrap());
    assert_eq!(store.get(&s, &key).unwrap().as_deref(), Some(&b"from-a"[..]));
    let ttl: i64 = server.cli_text(&["PTTL", &key]).parse().unwrap();
    assert!(ttl > 55_000 && ttl <= 60_000, "token PTTL {ttl}");
    assert_eq!(store.get_with_lock(&s, &key, &lock).unwrap(), (Some(b"from-a".to_vec()), true));

    // Compare-and-delete: another owner cannot release it; the holder can, once.
    assert!(!store.release(&s, &lock, "owner-b").unwrap());
    assert!(store.release(&s, &lock, "owner-a").unwrap());
    assert!(!store.release(&s, &lock, "owner-a").unwrap());
    assert_eq!(store.get_with_lock(&s, &key, &lock).unwrap(), (Some(b"from-a".to_vec()), false));

    // A holder whose lock expired (and was taken by another) never overwrites the newer token.
    assert!(store.try_lock(&s, &lock, "owner-a", Duration::from_millis(50)).unwrap());
    std::thread::sleep(Duration::from_millis(120));
    assert!(store.try_lock(&s, &lock, "owner-b", Duration::from_secs(10)).unwrap());
    assert!(store.write_if_owner(&s, &lock, "owner-b", &key, b"from-b", Duration::from_secs(60)).unwrap());
    assert!(!store.write_if_owner(&s, &lock, "owner-a", &key, b"stale-a", Duration::from_secs(60)).unwrap());
    assert!(!store.release(&s, &lock, "owner-a").unwrap(), "the late holder must not delete the new holder's lock");
    assert_eq!(store.get(&s, &key).unwrap().as_deref(), Some(&b"from-b"[..]));

    // Write and release in one go: only by the holder; the lock is gone after.
    assert!(!store.write_and_release(&s, &lock, "owner-a", &key, b"stale-a", Duration::from_secs(60)).unwrap());
    assert_eq!(server.cli_text(&["EXISTS", &lock]), "1");
    assert!(store.write_and_release(&s, &lock, "owner-b", &key, b"final-b", Duration::from_secs(60)).unwrap());
    assert_eq!(server.cli_text(&["EXISTS", &lock]), "0");
    assert_eq!(store.get(&s, &key).unwrap().as_deref(), Some(&b"final-b"[..]));

    // A call's first attempt: the lock, or (held) the record as it is then, capped.
    assert!(matches!(store.try_lock_or_peek(&s, &lock, "owner-c", Duration::from_secs(10), &key, 64).unwrap(), LockTry::Taken));
    assert_eq!(server.cli_text(&["GET", &lock]), "owner-c");
    match store.try_lock_or_peek(&s, &lock, "owner-d", Duration::from_secs(10), &key, 64).unwrap() {
        LockTry::Held(record) => assert_eq!(record.as_deref(), Some(&b"final-b"[..])),
        LockTry::Taken => panic!("the lock is exclusive"),
    }
    match store.try_lock_or_peek(&s, &lock, "owner-d", Duration::from_secs(10), &key, 3).unwrap() {
        LockTry::Held(record) => assert_eq!(record.as_deref(), Some(&b"fin"[..])),
        LockTry::Taken => panic!("the lock is exclusive"),
    }
    let other = store.target.token_key("h2");
    match store.try_lock_or_peek(&s, &lock, "owner-d", Duration::from_secs(10), &other, 64).unwrap() {
        LockTry::Held(record) => assert_eq!(record, None),
        LockTry::Taken => panic!("the lock is exclusive"),
    }
    assert_eq!(server.cli_text(&["GET", &lock]), "owner-c");
}

#[test]
fn one_connection_is_kept_alive() {
    let server = RedisServer::start();
    let store = RedisClient::new(RedisTarget::parse(&server.url(None)).unwrap());
    let s = settings();
    for _ in 0..50 {
        store.get(&s, "k").unwrap();
    }
    let clients = server.cli_text(&["INFO", "stats"]);
    let connections: u64 = clients.lines().find_map(|l| l.strip_prefix("total_connections_received:")).unwrap().trim().parse().unwrap();
    // One for the store, one for this redis-cli.
    assert_eq!(connections, 2, "{clients}");
}

#[test]
fn database_number_and_prefix_are_honoured() {
    let server = RedisServer::start();
    let store = RedisClient::new(RedisTarget::parse(&format!("{}/5?prefix=p:", server.url(None))).unwrap());
    let s = settings();
    let lock = store.target.lock_key("x");
    assert!(store.try_lock(&s, &lock, "o", Duration::from_secs(30)).unwrap());
    assert_eq!(server.cli_text(&["-n", "5", "GET", "p:flexiti-auth:{x}:lock"]), "o");
    assert_eq!(server.cli_text(&["-n", "0", "EXISTS", "p:flexiti-auth:{x}:lock"]), "0");
}

// ---- failures: unreachable, backoff, credentials, TLS --------------------------------------

#[test]
fn a_stopped_redis_is_unreachable_then_backs_off_then_comes_back() {
    let mut server = RedisServer::start();
    let store = RedisClient::new(RedisTarget::parse(&server.url(None)).unwrap());
    let s = settings();
    assert!(store.try_lock(&s, "l", "o", Duration::from_secs(30)).unwrap());
    server.stop();
    let e = store.get(&s, "k").unwrap_err();
    assert_eq!(e.kind, FailureKind::Unreachable, "{e}");
    assert!(e.message.starts_with(&format!("Redis at 127.0.0.1:{}", server.port)), "{e}");
    // Within the backoff no connection is tried: the answer is immediate.
    let t = Instant::now();
    let e2 = store.get(&s, "k").unwrap_err();
    assert!(e2.message.contains("backing off"), "{e2}");
    assert!(t.elapsed() < Duration::from_millis(100));
    assert!(store.backing_off());
    server.restart();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(store.get(&s, "k").unwrap(), None, "reconnected after the backoff");
    assert!(!store.backing_off());
}

#[test]
fn refused_credentials_are_an_auth_failure_and_never_show_the_password() {
    let server = RedisServer::start_with(RedisConfig {
        requirepass: Some("right-default-pass".into()),
        acl_user: Some(("shop".into(), "right-shop-pass".into())),
        ..Default::default()
    });
    let s = settings();
    // Right passwords: the default user, and the ACL user.
    for userinfo in [":right-default-pass", "shop:right-shop-pass"] {
        let store = RedisClient::new(RedisTarget::parse(&server.url(Some(userinfo))).unwrap());
        assert!(store.try_lock(&s, &format!("l-{userinfo}"), "o", Duration::from_secs(30)).unwrap(), "{userinfo}");
    }
    // Wrong ones, and none at all.
    for userinfo in [Some(":wrong-default-pass"), Some("shop:wrong-shop-pass"), Some("nobody:wrong-nobody-pass"), None] {
        let store = RedisClient::new(RedisTarget::parse(&server.url(userinfo)).unwrap());
        let e = store.get(&s, "k").unwrap_err();
        assert_eq!(e.kind, FailureKind::Auth, "{userinfo:?}: {e}");
        assert!(e.message.contains("Redis") && e.message.contains("authentication failed"), "{e}");
        for secret in ["wrong-default-pass", "wrong-shop-pass", "wrong-nobody-pass", "right-default-pass", "right-shop-pass"] {
            assert!(!e.message.contains(secret), "{e}");
        }
    }
}

#[test]
fn rediss_with_a_local_ca_is_refused_without_ca_file_and_trusted_with_it() {
    let server = RedisServer::start_with(RedisConfig { tls: true, ..Default::default() });
    let url = server.url(None);
    assert!(url.starts_with("rediss://localhost:"), "{url}");
    let store = RedisClient::new(RedisTarget::parse(&url).unwrap());
    let e = store.get(&settings(), "k").unwrap_err();
    assert_eq!(e.kind, FailureKind::Tls, "{e}");

    let mut s = settings();
    s.extra_roots = Some(Arc::new(pem_ders(&server.ca_file())));
    assert_eq!(store.get(&s, "k").unwrap(), None, "trusted with the CA given (new settings: a new connection at once)");
    assert!(store.try_lock(&s, "l", "o", Duration::from_secs(30)).unwrap());
    assert_eq!(server.cli_text(&["GET", "l"]), "o");

    // Plain redis:// to the TLS port is not a Redis that answers.
    let plain = RedisClient::new(RedisTarget::parse(&format!("redis://127.0.0.1:{}", server.port)).unwrap());
    let mut quick = settings();
    quick.command_timeout = Duration::from_millis(300);
    quick.connect_timeout = Duration::from_millis(300);
    assert!(plain.get(&quick, "k").is_err());
}
