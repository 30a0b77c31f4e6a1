//! HTTPS with a certificate from a local CA: refused without `ca_file`, accepted with it.

mod common;
use common::*;
use flexiti_auth::FlxStatus;
use std::path::Path;
use std::process::Command;

/// A local CA and a leaf certificate for localhost signed by it (rustls refuses a self-signed
/// CA certificate used as the server's own).
fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    std::fs::write(dir.join("leaf.ext"), "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n").unwrap();
    run(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=flexiti-auth test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"]);
    run(&["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext"]);
}

#[test]
fn a_local_ca_is_refused_without_ca_file_and_trusted_with_it() {
    let dir = std::env::temp_dir().join(format!("flx-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    make_certs(&dir);
    let cert = dir.join("leaf.pem");
    let key = dir.join("leaf.key");
    let server = TokenServer::start_with(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert!(server.url.starts_with("https://"), "{}", server.url);

    let c = client(&server);
    c.set_option("max_retries", "0").unwrap();
    let e = c.get_token(false).unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_NETWORK);
    assert!(e.message.contains("TLS"), "{}", e.message);
    assert!(c.held_token().is_none());

    c.set_option("ca_file", dir.join("ca.pem").to_str().unwrap()).unwrap();
    let t = c.get_token(false).unwrap();
    assert_eq!(t.access_token, server.issued_access_tokens()[0]);
    let reqs = server.requests();
    assert_eq!(reqs.last().unwrap()["tls"], true);
    assert_eq!(reqs.last().unwrap()["form"]["grant_type"], "client_credentials");

    // A file without certificates is refused when the option is set, naming the option.
    let e = c.set_option("ca_file", key.to_str().unwrap()).unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_INVALID_ARGUMENT);
    assert!(e.message.contains("ca_file"));
    let _ = std::fs::remove_dir_all(&dir);
}
