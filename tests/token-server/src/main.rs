//! flexiti-token-server: a local, Flexiti-compatible OAuth2 token endpoint with a control API
//! for tests (request log, fault injection, issuing config). See README.md.

mod http;
mod pos_api;
mod state;

use http::{Body, Delivery, ReadOutcome, Request, RequestReader, Response, Sent, Stream};
use serde_json::{json, Map, Value};
use state::{Defaults, Fault, State};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

const HELP: &str = "\
flexiti-token-server: a local Flexiti-compatible OAuth2 token endpoint for tests and demos

USAGE:
    flexiti-token-server [OPTIONS]

On start it prints exactly one line to stdout, the base URL to use as api_url
(e.g. http://127.0.0.1:40123/ or, with TLS, https://localhost:40123/), and nothing else.

OPTIONS:
    --host H             Address to listen on; must be a loopback address
                         (default 127.0.0.1; \"localhost\" means 127.0.0.1)
    --port N             Port to listen on (default 0 = an ephemeral port)
    --client-id ID       Accepted client_id (default \"flexiti-test-client\")
    --client-secret S    Accepted client_secret (default \"flexiti-test-secret\")
    --expires-in N       expires_in of issued tokens, in seconds (default 1200)
    --tls-cert PEM       Certificate chain (PEM file): serve HTTPS instead of HTTP
    --tls-key PEM        Private key (PEM file) for --tls-cert (give both for TLS)
    --watch-stdin        Exit when standard input reaches EOF (ties the server's life to
                         the process that feeds its stdin)
    --verbose            Log one line per request to stderr (secrets and tokens are shown
                         as at most their first 4 characters then \"…\")
    -h, --help           Print this help and exit

TOKEN ENDPOINT:
    POST <any prefix>/oauth/token, e.g. /flexiti/online-api/oauth/token or
    /flexiti/pos-api/v2.5/oauth/token; form fields client_id, client_secret,
    grant_type (client_credentials | refresh_token), refresh_token, scope.

POS-API STYLE ENDPOINTS (bearer token checked: 401 invalid_token unless current):
    /api/echo[/...], /flexiti/pos-api/...      echo the request (x-echo-status: N sets the status)
    /api/invalid-token-once/<key>              401 invalid_token once per key, then echo
    /api/unavailable/<n>/<key>[?status=&retry_after=]  503 n times per key, then echo
    /api/oversize/<bytes>[?unframed=1]         a body of that many bytes

CONTROL API (JSON, same port):
    GET    /_control/requests   the token-endpoint request log
    DELETE /_control/requests   clear the log
    GET    /_control/faults     the fault queue
    POST   /_control/faults     append faults (a JSON array of fault objects)
    DELETE /_control/faults     clear the fault queue
    GET    /_control/config     the issuing config
    POST   /_control/config     change the issuing config (partial update)
    POST   /_control/expire     mark every issued token expired
    GET    /_control/issued     every access/refresh token issued
    GET    /_control/stats      connection and request counters
    POST   /_control/reset      back to the start state

FAULT KEYS (POST /_control/faults; the first queued fault matching a token request is used):
    grant_type, count, status, body, headers, retry_after, delay_ms, hang, hang_ms, close,
    stall_body_ms, trickle_ms, reset_after_bytes, oversize_bytes, api (true: applies to
    POS-API style requests instead of token requests)

CONFIG KEYS (POST /_control/config):
    expires_in (int, or null to omit it), extra_fields (object), omit_fields (array),
    token_bytes (access token length in hex chars), role_error (bool),
    extra_clients (object: more client_id -> client_secret pairs accepted)

See tests/token-server/README.md for the details.
";

struct Options {
    host: IpAddr,
    port: u16,
    client_id: String,
    client_secret: String,
    expires_in: i64,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    watch_stdin: bool,
    verbose: bool,
}

fn parse_args(args: Vec<String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        client_id: "flexiti-test-client".into(),
        client_secret: "flexiti-test-secret".into(),
        expires_in: 1200,
        tls_cert: None,
        tls_key: None,
        watch_stdin: false,
        verbose: false,
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            name.as_str(),
            "--host"
                | "--port"
                | "--client-id"
                | "--client-secret"
                | "--expires-in"
                | "--tls-cert"
                | "--tls-key"
        );
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => it.next().ok_or_else(|| format!("{name} needs a value"))?,
            }
        } else {
            if inline.is_some() {
                return Err(format!("{name} takes no value"));
            }
            String::new()
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--host" => {
                let h = value.trim_start_matches('[').trim_end_matches(']');
                let ip: IpAddr = if h.eq_ignore_ascii_case("localhost") {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    h.parse()
                        .map_err(|_| format!("--host: not an IP address: {value}"))?
                };
                if !ip.is_loopback() {
                    return Err(format!(
                        "--host: {value} is not a loopback address (this server only listens on loopback)"
                    ));
                }
                o.host = ip;
            }
            "--port" => {
                o.port = value
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {value}"))?
            }
            "--client-id" => o.client_id = value,
            "--client-secret" => o.client_secret = value,
            "--expires-in" => {
                o.expires_in = value
                    .parse::<u32>()
                    .map_err(|_| format!("--expires-in: not a number of seconds: {value}"))?
                    as i64
            }
            "--tls-cert" => o.tls_cert = Some(PathBuf::from(value)),
            "--tls-key" => o.tls_key = Some(PathBuf::from(value)),
            "--watch-stdin" => o.watch_stdin = true,
            "--verbose" => o.verbose = true,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    if o.tls_cert.is_some() != o.tls_key.is_some() {
        return Err("--tls-cert and --tls-key must be given together".into());
    }
    Ok(Some(o))
}

fn load_tls(cert: &PathBuf, key: &PathBuf) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "--tls-cert {}: no certificate found",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("TLS certificate/key: {e}"))?;
    Ok(Arc::new(config))
}

struct Ctx {
    state: Mutex<State>,
    tls: Option<Arc<rustls::ServerConfig>>,
    verbose: bool,
    open_connections: AtomicU64,
    next_conn_id: AtomicU64,
}

impl Ctx {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking connection thread must not take the server down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self, line: &str) {
        if self.verbose {
            let ms = self.lock().elapsed_ms();
            let _ = writeln!(io::stderr().lock(), "[{ms:>8}ms] {line}");
        }
    }
}

/// Shows at most the first 4 characters of a secret, then "…" (fewer for short values).
fn mask(s: &str) -> String {
    let n = s.chars().count();
    let show = (n / 4).min(4);
    let mut m: String = s.chars().take(show).collect();
    m.push('…');
    m
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{HELP}");
            return;
        }
        Err(e) => {
            eprintln!("flexiti-token-server: {e}\n(see --help)");
            std::process::exit(2);
        }
    };
    let tls = match (&opts.tls_cert, &opts.tls_key) {
        (Some(c), Some(k)) => match load_tls(c, k) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("flexiti-token-server: {e}");
                std::process::exit(2);
            }
        },
        _ => None,
    };
    let listener = match TcpListener::bind(SocketAddr::new(opts.host, opts.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "flexiti-token-server: cannot listen on {}: {e}",
                SocketAddr::new(opts.host, opts.port)
            );
            std::process::exit(2);
        }
    };
    let port = match listener.local_addr() {
        Ok(a) => a.port(),
        Err(e) => {
            eprintln!("flexiti-token-server: {e}");
            std::process::exit(2);
        }
    };
    let url = if tls.is_some() {
        format!("https://localhost:{port}/")
    } else {
        match opts.host {
            IpAddr::V4(ip) => format!("http://{ip}:{port}/"),
            IpAddr::V6(ip) => format!("http://[{ip}]:{port}/"),
        }
    };

    let ctx = Arc::new(Ctx {
        state: Mutex::new(State::new(Defaults {
            client_id: opts.client_id.clone(),
            client_secret: opts.client_secret.clone(),
            expires_in: opts.expires_in,
        })),
        tls,
        verbose: opts.verbose,
        open_connections: AtomicU64::new(0),
        next_conn_id: AtomicU64::new(1),
    });

    if opts.watch_stdin {
        thread::spawn(|| {
            let mut stdin = io::stdin().lock();
            let mut buf = [0u8; 1024];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            std::process::exit(0);
        });
    }

    {
        let mut out = io::stdout().lock();
        if writeln!(out, "{url}").and_then(|_| out.flush()).is_err() {
            std::process::exit(2);
        }
    }
    ctx.log(&format!(
        "listening on {}:{port} ({}), client_id={} client_secret={}",
        opts.host,
        if ctx.tls.is_some() { "https" } else { "http" },
        opts.client_id,
        mask(&opts.client_secret)
    ));

    for incoming in listener.incoming() {
        let tcp = match incoming {
            Ok(s) => s,
            Err(_) => {
                // e.g. out of file descriptors: back off a little and keep serving.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let id = ctx.next_conn_id.fetch_add(1, Ordering::SeqCst);
        ctx.lock().connection_accepted();
        ctx.open_connections.fetch_add(1, Ordering::SeqCst);
        let guard = OpenGuard(ctx.clone());
        let c = ctx.clone();
        let spawned = thread::Builder::new()
            .name(format!("conn-{id}"))
            .spawn(move || {
                let _guard = guard;
                serve_connection(&c, tcp, id);
            });
        if spawned.is_err() {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Decrements the open-connection count when the connection's thread ends (even by panic).
struct OpenGuard(Arc<Ctx>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open_connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What to do with the connection after a request.
enum After {
    KeepAlive,
    Close,
    /// Close without a TLS close_notify (fault "close", hang end).
    Abort,
    Reset,
}

fn serve_connection(ctx: &Ctx, tcp: TcpStream, conn_id: u64) {
    let _ = tcp.set_nodelay(true);
    let mut stream = match &ctx.tls {
        None => Stream::Plain(tcp),
        Some(cfg) => match rustls::ServerConnection::new(cfg.clone()) {
            Ok(conn) => Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))),
            Err(e) => {
                ctx.log(&format!("#{conn_id} TLS setup failed: {e}"));
                return;
            }
        },
    };
    let mut reader = RequestReader::new();
    let after = loop {
        match reader.read_request(&mut stream) {
            ReadOutcome::Closed(err) => {
                if let Some(e) = err {
                    if e.kind() == io::ErrorKind::InvalidData {
                        ctx.log(&format!("#{conn_id} TLS error: {e}"));
                    }
                }
                break After::Close;
            }
            ReadOutcome::Bad(status, msg) => {
                let resp = Response::error(status, "bad_request", &msg);
                let _ = http::send(&mut stream, "HTTP/1.1", &resp, false, Delivery::default());
                ctx.log(&format!("#{conn_id} malformed request -> {status} ({msg})"));
                break After::Close;
            }
            ReadOutcome::Request(req) => {
                let after = handle(ctx, &mut stream, &req, conn_id);
                if !matches!(after, After::KeepAlive) {
                    break after;
                }
            }
        }
    };
    match after {
        After::KeepAlive | After::Close => stream.close_gracefully(),
        After::Abort => stream.close_abruptly(),
        After::Reset => {
            if !stream.reset() {
                ctx.log(&format!(
                    "#{conn_id} RST not available here: closed with FIN instead"
                ));
            }
        }
    }
}

fn after_sent(sent: Sent, keep_alive: bool) -> After {
    match sent {
        Sent::Complete if keep_alive => After::KeepAlive,
        Sent::Complete => After::Close,
        Sent::PeerGone => After::Abort,
        Sent::ResetNow => After::Reset,
    }
}

fn handle(ctx: &Ctx, stream: &mut Stream, req: &Request, conn_id: u64) -> After {
    let shown_target = if req.query.is_some() {
        format!("{}?…", req.path)
    } else {
        req.path.clone()
    };
    if req.path == "/_control" || req.path.starts_with("/_control/") {
        let resp = control(ctx, req);
        let sent = http::send(
            stream,
            &req.version,
            &resp,
            req.keep_alive,
            Delivery::default(),
        );
        ctx.log(&format!(
            "#{conn_id} {} {shown_target} -> {}",
            req.method, resp.status
        ));
        return after_sent(sent, req.keep_alive);
    }
    if req.path.ends_with("/oauth/token") {
        return token_request(ctx, stream, req, conn_id, &shown_target);
    }
    if let Some(route) = pos_api::route(&req.path) {
        return api_request(ctx, stream, req, conn_id, &shown_target, route);
    }
    let resp = Response::error(404, "not_found", &format!("no such endpoint: {}", req.path));
    let sent = http::send(
        stream,
        &req.version,
        &resp,
        req.keep_alive,
        Delivery::default(),
    );
    ctx.log(&format!("#{conn_id} {} {shown_target} -> 404", req.method));
    after_sent(sent, req.keep_alive)
}

fn is_form_content_type(req: &Request) -> bool {
    req.header("content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

fn token_request(
    ctx: &Ctx,
    stream: &mut Stream,
    req: &Request,
    conn_id: u64,
    shown_target: &str,
) -> After {
    let form_ct = is_form_content_type(req);
    let form = if form_ct {
        http::parse_form(&req.body)
    } else {
        Vec::new()
    };
    let grant_type = form
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.clone());

    // Record first (faulted requests too).
    let form_json = if form_ct {
        let mut m = Map::new();
        for (k, v) in &form {
            m.entry(k.clone()).or_insert_with(|| json!(v));
        }
        Value::Object(m)
    } else {
        Value::Null
    };
    let is_post = req.method == "POST";
    let (uid, fault) = {
        let mut st = ctx.lock();
        let rec = req.record(form_json, conn_id, st.elapsed_ms(), stream.is_tls());
        let uid = st.record(rec, conn_id);
        let fault = if is_post {
            st.take_fault(grant_type.as_deref(), false)
        } else {
            None
        };
        if let Some(f) = &fault {
            st.update_record(uid, "fault", Value::Object(f.spec.clone()));
        }
        (uid, fault)
    };

    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut log_line = format!("#{conn_id} {} {shown_target}", req.method);
    if form_ct {
        log_line.push_str(&format!(
            " grant_type={} client_id={}",
            field("grant_type").unwrap_or("-"),
            field("client_id").unwrap_or("-")
        ));
        if let Some(s) = field("client_secret") {
            log_line.push_str(&format!(" client_secret={}", mask(s)));
        }
        if let Some(s) = field("refresh_token") {
            log_line.push_str(&format!(" refresh_token={}", mask(s)));
        }
    }

    if !is_post {
        let mut resp = Response::error(
            405,
            "method_not_allowed",
            "the token endpoint only accepts POST",
        );
        resp.set_header("Allow", "POST");
        ctx.lock().update_record(uid, "status", json!(405));
        let sent = http::send(
            stream,
            &req.version,
            &resp,
            req.keep_alive,
            Delivery::default(),
        );
        ctx.log(&format!("{log_line} -> 405"));
        return after_sent(sent, req.keep_alive);
    }

    answer(ctx, stream, req, uid, fault, log_line, |ctx, log_line| {
        let answer = ctx.lock().token_endpoint(&req.path, form_ct, &form);
        log_line.push_str(&format!(" [{}]", answer.note));
        let mut r = Response::json(answer.status, &answer.body);
        r.set_header("Cache-Control", "no-store");
        r.set_header("Pragma", "no-cache");
        r
    })
}

/// Answer a recorded request: as its fault says (delay, hang, close, a status/body, oversize,
/// headers, Retry-After, how the body is delivered), else with `normal`.
fn answer(
    ctx: &Ctx,
    stream: &mut Stream,
    req: &Request,
    uid: u64,
    fault: Option<Fault>,
    mut log_line: String,
    normal: impl FnOnce(&Ctx, &mut String) -> Response,
) -> After {
    let f = fault.unwrap_or_default();
    let has_fault = !f.spec.is_empty();
    if has_fault {
        log_line.push_str(&format!(" fault={}", Value::Object(f.spec.clone())));
    }
    if let Some(ms) = f.delay_ms {
        thread::sleep(Duration::from_millis(ms));
    }
    if f.hang {
        ctx.log(&format!("{log_line} -> (hang)"));
        http::hold_open(stream, Duration::from_millis(f.hang_ms.unwrap_or(60_000)));
        return After::Abort;
    }
    if f.close {
        ctx.log(&format!("{log_line} -> (closed without answer)"));
        return After::Abort;
    }

    let mut resp = if let Some(n) = f.oversize_bytes {
        Response {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                "application/json;charset=UTF-8".into(),
            )],
            body: Body::Oversize(n),
        }
    } else if f.status.is_some() || f.body.is_some() {
        let mut r = Response {
            status: f.status.unwrap_or(200),
            headers: Vec::new(),
            body: Body::Bytes(f.body.clone().unwrap_or_default().into_bytes()),
        };
        if !f
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            r.headers.push((
                "Content-Type".into(),
                "application/json;charset=UTF-8".into(),
            ));
        }
        r
    } else {
        normal(ctx, &mut log_line)
    };
    for (n, v) in &f.headers {
        resp.set_header(n, v);
    }
    if let Some(ra) = &f.retry_after {
        resp.set_header("Retry-After", ra);
    }
    ctx.lock().update_record(uid, "status", json!(resp.status));
    let delivery = Delivery {
        stall_body: f.stall_body_ms.map(Duration::from_millis),
        trickle: f.trickle_ms.map(Duration::from_millis),
        reset_after_bytes: f.reset_after_bytes,
        head_only: req.method == "HEAD",
    };
    // A body without a Content-Length ends when the connection closes.
    let keep_alive = req.keep_alive && !matches!(resp.body, Body::Unframed(_));
    let sent = http::send(stream, &req.version, &resp, keep_alive, delivery);
    let outcome = match sent {
        Sent::Complete => "",
        Sent::PeerGone => " (client went away)",
        Sent::ResetNow => " (reset)",
    };
    ctx.log(&format!("{log_line} -> {}{outcome}", resp.status));
    after_sent(sent, keep_alive)
}

fn parse_json_body(req: &Request) -> Result<Value, Response> {
    serde_json::from_slice(&req.body)
        .map_err(|e| Response::error(400, "bad_request", &format!("invalid JSON body: {e}")))
}

fn control(ctx: &Ctx, req: &Request) -> Response {
    let route = req.path.trim_end_matches('/');
    let m = req.method.as_str();
    let allowed: &[&str] = match route {
        "/_control/requests" => &["GET", "DELETE"],
        "/_control/faults" => &["GET", "POST", "DELETE"],
        "/_control/config" => &["GET", "POST"],
        "/_control/expire" | "/_control/reset" => &["POST"],
        "/_control/issued" | "/_control/stats" => &["GET"],
        _ => {
            return Response::error(
                404,
                "not_found",
                &format!("no such control endpoint: {}", req.path),
            )
        }
    };
    if !allowed.contains(&m) {
        let mut r = Response::error(
            405,
            "method_not_allowed",
            &format!("{} allows {}", route, allowed.join(", ")),
        );
        r.set_header("Allow", &allowed.join(", "));
        return r;
    }
    match (m, route) {
        ("GET", "/_control/requests") => Response::json(200, &ctx.lock().records_json()),
        ("DELETE", "/_control/requests") => {
            let n = ctx.lock().clear_records();
            Response::json(200, &json!({ "cleared": n }))
        }
        ("GET", "/_control/faults") => Response::json(200, &ctx.lock().faults_json()),
        ("POST", "/_control/faults") => {
            let v = match parse_json_body(req) {
                Ok(v) => v,
                Err(r) => return r,
            };
            let items = match v {
                Value::Array(a) => a,
                obj @ Value::Object(_) => vec![obj],
                _ => {
                    return Response::error(
                        400,
                        "bad_request",
                        "expected a JSON array of fault objects",
                    )
                }
            };
            let mut faults = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match Fault::parse(item) {
                    Ok(f) => faults.push(f),
                    Err(e) => {
                        return Response::error(400, "bad_request", &format!("fault #{i}: {e}"))
                    }
                }
            }
            let added = faults.len();
            let queued = ctx.lock().push_faults(faults);
            Response::json(200, &json!({ "added": added, "queued": queued }))
        }
        ("DELETE", "/_control/faults") => {
            let n = ctx.lock().clear_faults();
            Response::json(200, &json!({ "cleared": n }))
        }
        ("GET", "/_control/config") => Response::json(200, &ctx.lock().config.to_json()),
        ("POST", "/_control/config") => {
            let v = match parse_json_body(req) {
                Ok(v) => v,
                Err(r) => return r,
            };
            let mut st = ctx.lock();
            match st.update_config(&v) {
                Ok(()) => Response::json(200, &st.config.to_json()),
                Err(e) => Response::error(400, "bad_request", &e),
            }
        }
        ("POST", "/_control/expire") => {
            let n = ctx.lock().expire_all();
            Response::json(200, &json!({ "expired": n }))
        }
        ("GET", "/_control/issued") => Response::json(200, &ctx.lock().issued_json()),
        ("GET", "/_control/stats") => {
            let open = ctx.open_connections.load(Ordering::SeqCst);
            Response::json(200, &ctx.lock().stats(open))
        }
        ("POST", "/_control/reset") => {
            ctx.lock().reset();
            Response::json(200, &json!({ "reset": true }))
        }
        _ => Response::error(404, "not_found", "no such control endpoint"),
    }
}

/// A POS-API style request (`/api/…`, `/flexiti/pos-api/…`): recorded like a token request
/// (with "kind":"api"), then answered by its fault if an `"api":true` fault is queued, else as
/// the endpoint says (see pos_api.rs).
fn api_request(
    ctx: &Ctx,
    stream: &mut Stream,
    req: &Request,
    conn_id: u64,
    shown_target: &str,
    route: pos_api::Route,
) -> After {
    let (uid, fault) = {
        let mut st = ctx.lock();
        let mut rec = req.record(Value::Null, conn_id, st.elapsed_ms(), stream.is_tls());
        rec.insert("kind".into(), json!("api"));
        let uid = st.record_api(rec);
        let fault = st.take_fault(None, true);
        if let Some(f) = &fault {
            st.update_record(uid, "fault", Value::Object(f.spec.clone()));
        }
        (uid, fault)
    };
    let log_line = format!("#{conn_id} {} {shown_target} (api)", req.method);
    answer(ctx, stream, req, uid, fault, log_line, |ctx, log_line| {
        let resp = pos_api::respond(&mut ctx.lock(), req, conn_id, &route);
        log_line.push_str(&format!(" [{}]", route.name()));
        resp
    })
}
