//! A small hand-written HTTP/1.1 server side: the connection stream (plain TCP or TLS),
//! request parsing, and response writing (including the slow/broken ways the fault
//! injection needs).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// Largest request head accepted (request line + headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// A server-side connection: plain TCP or TLS over TCP.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Stream {
    /// The underlying TCP socket.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// Graceful close: TLS close_notify (when TLS), then FIN.
    pub fn close_gracefully(mut self) {
        if let Stream::Tls(s) = &mut self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// Abrupt close without any TLS alert: FIN only.
    pub fn close_abruptly(self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// Close with a TCP RST when the platform lets us (SO_LINGER 0 then close);
    /// otherwise fall back to a plain shutdown. Returns true when RST was armed.
    pub fn reset(self) -> bool {
        let armed = set_linger_zero(self.tcp());
        if !armed {
            let _ = self.tcp().shutdown(Shutdown::Both);
        }
        drop(self);
        armed
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

// --- SO_LINGER {on, 0} without the libc crate -------------------------------------------
// std's TcpStream::set_linger is unstable, so declare setsockopt ourselves (std already links
// the C library on these targets). The constants are the platforms' ABI values.

#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
))]
const SOCKOPT_LINGER: Option<(i32, i32)> = Some((1, 13)); // SOL_SOCKET, SO_LINGER

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
const SOCKOPT_LINGER: Option<(i32, i32)> = Some((0xffff, 0x0080)); // SOL_SOCKET, SO_LINGER

#[cfg(not(any(
    all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "aarch64",
            target_arch = "arm",
            target_arch = "riscv64",
            target_arch = "powerpc64",
            target_arch = "s390x",
            target_arch = "loongarch64"
        )
    ),
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
const SOCKOPT_LINGER: Option<(i32, i32)> = None;

#[cfg(unix)]
fn set_linger_zero(sock: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const Linger, len: u32) -> i32;
    }
    let Some((level, name)) = SOCKOPT_LINGER else {
        return false;
    };
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: fd is a live socket owned by `sock`; `l` outlives the call and the length
    // passed is its exact size.
    let rc = unsafe {
        setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            &l,
            std::mem::size_of::<Linger>() as u32,
        )
    };
    rc == 0
}

#[cfg(not(unix))]
fn set_linger_zero(_sock: &TcpStream) -> bool {
    let _ = SOCKOPT_LINGER;
    false
}

// --- Requests --------------------------------------------------------------------------------

pub struct Request {
    pub method: String,
    /// Path part of the target (no query).
    pub path: String,
    pub query: Option<String>,
    /// "HTTP/1.1" or "HTTP/1.0".
    pub version: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the connection may be kept open after answering this request.
    pub keep_alive: bool,
}

impl Request {
    /// The headers as a JSON object, repeated names joined with ", " (as recorded and echoed).
    pub fn headers_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut headers = serde_json::Map::new();
        for (n, v) in &self.headers {
            match headers.get_mut(n) {
                Some(serde_json::Value::String(prev)) => {
                    prev.push_str(", ");
                    prev.push_str(v);
                }
                _ => {
                    headers.insert(n.clone(), serde_json::Value::from(v.as_str()));
                }
            }
        }
        headers
    }

    /// The request as the control API lists it (`GET /_control/requests`); `form` is the decoded
    /// form (null when the body is not one), `fault` and `status` are filled in later.
    pub fn record(&self, form: serde_json::Value, conn_id: u64, received_ms: u64, tls: bool) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::{json, Value};
        let mut rec = serde_json::Map::new();
        rec.insert("method".into(), json!(self.method));
        rec.insert("path".into(), json!(self.path));
        rec.insert("query".into(), json!(self.query));
        rec.insert("http_version".into(), json!(self.version));
        rec.insert("headers".into(), Value::Object(self.headers_json()));
        rec.insert("form".into(), form);
        rec.insert("body".into(), json!(String::from_utf8_lossy(&self.body)));
        rec.insert("connection_id".into(), json!(conn_id));
        rec.insert("received_ms".into(), json!(received_ms));
        rec.insert("tls".into(), json!(tls));
        rec.insert("fault".into(), Value::Null);
        rec.insert("status".into(), Value::Null);
        rec
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub enum ReadOutcome {
    Request(Request),
    /// The peer closed (or the connection failed) between requests / mid-request.
    Closed(Option<io::Error>),
    /// The request is malformed: answer with this status and message, then close.
    Bad(u16, String),
}

/// Reads requests off one connection, keeping bytes that arrive after a request
/// (pipelining) for the next one.
pub struct RequestReader {
    buf: Vec<u8>,
}

impl RequestReader {
    pub fn new() -> Self {
        RequestReader { buf: Vec::new() }
    }

    /// Reads more bytes; Ok(false) on EOF.
    fn fill(&mut self, stream: &mut Stream) -> io::Result<bool> {
        let mut tmp = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut tmp) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn read_request(&mut self, stream: &mut Stream) -> ReadOutcome {
        // Ignore empty lines before a request line (RFC 9112 section 2.2).
        let head_end;
        let mut scanned = 0usize;
        loop {
            while self.buf.starts_with(b"\r\n") || self.buf.starts_with(b"\n") {
                let n = if self.buf[0] == b'\r' { 2 } else { 1 };
                self.buf.drain(..n);
                scanned = 0;
            }
            if let Some((end, len)) = find_head_end(&self.buf, scanned) {
                head_end = (end, len);
                break;
            }
            scanned = self.buf.len().saturating_sub(3);
            if self.buf.len() > MAX_HEAD {
                return ReadOutcome::Bad(431, "request head too large".into());
            }
            match self.fill(stream) {
                Ok(true) => {}
                Ok(false) => return ReadOutcome::Closed(None),
                Err(e) => return ReadOutcome::Closed(Some(e)),
            }
        }
        let (end, sep_len) = head_end;
        if end > MAX_HEAD {
            return ReadOutcome::Bad(431, "request head too large".into());
        }
        let head: Vec<u8> = self.buf.drain(..end + sep_len).take(end).collect();
        let mut req = match parse_head(&head) {
            Ok(r) => r,
            Err((status, msg)) => return ReadOutcome::Bad(status, msg),
        };

        // Body framing.
        if req.header("transfer-encoding").is_some() {
            return ReadOutcome::Bad(
                411,
                "Transfer-Encoding request bodies are not supported: send Content-Length".into(),
            );
        }
        let mut content_length: Option<usize> = None;
        for (n, v) in &req.headers {
            if n != "content-length" {
                continue;
            }
            for part in v.split(',') {
                let part = part.trim();
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return ReadOutcome::Bad(400, "invalid Content-Length".into());
                }
                let Ok(len) = part.parse::<usize>() else {
                    return ReadOutcome::Bad(413, "request body too large".into());
                };
                if content_length.is_some_and(|c| c != len) {
                    return ReadOutcome::Bad(400, "conflicting Content-Length values".into());
                }
                content_length = Some(len);
            }
        }
        let len = content_length.unwrap_or(0);
        if len > MAX_BODY {
            return ReadOutcome::Bad(413, "request body too large".into());
        }
        if len > 0
            && self.buf.len() < len
            && req
                .header("expect")
                .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
            && req.version == "HTTP/1.1"
            && stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .and_then(|_| stream.flush())
                .is_err()
        {
            return ReadOutcome::Closed(None);
        }
        while self.buf.len() < len {
            match self.fill(stream) {
                Ok(true) => {}
                Ok(false) => return ReadOutcome::Closed(None),
                Err(e) => return ReadOutcome::Closed(Some(e)),
            }
        }
        req.body = self.buf.drain(..len).collect();
        ReadOutcome::Request(req)
    }
}

/// Finds the end of the head: "\r\n\r\n" (or a lenient "\n\n"). Returns (offset, sep length).
fn find_head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some((i, 2));
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                // "\n\r\n": the head ends at i (the line before ended with '\n' or "\r\n").
                let start = if i > 0 && buf[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                return Some((start, i + 3 - start));
            }
        }
        i += 1;
    }
    None
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn parse_head(head: &[u8]) -> Result<Request, (u16, String)> {
    let bad = |m: &str| (400u16, m.to_string());
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().ok_or_else(|| bad("empty request"))?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(bad("malformed method"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        if version.starts_with("HTTP/") {
            return Err((505, "HTTP version not supported".into()));
        }
        return Err(bad("malformed HTTP version"));
    }
    if target.is_empty() || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad("malformed request target"));
    }
    // origin-form, or absolute-form (take its path), or "*".
    let origin = if target.starts_with('/') || target == "*" {
        target.to_string()
    } else if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        match rest.find('/') {
            Some(i) => rest[i..].to_string(),
            None => "/".to_string(),
        }
    } else {
        return Err(bad("malformed request target"));
    };
    let (path, query) = match origin.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (origin.clone(), None),
    };

    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            return Err(bad("obsolete header line folding"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad("malformed header line"));
        };
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(bad("malformed header name"));
        }
        headers.push((
            name.to_ascii_lowercase(),
            value.trim_matches(|c| c == ' ' || c == '\t').to_string(),
        ));
    }
    if version == "HTTP/1.1" && !headers.iter().any(|(n, _)| n == "host") {
        return Err(bad("missing Host header"));
    }
    let conn_tokens: Vec<String> = headers
        .iter()
        .filter(|(n, _)| n == "connection")
        .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
        .collect();
    let keep_alive = if version == "HTTP/1.1" {
        !conn_tokens.iter().any(|t| t == "close")
    } else {
        conn_tokens.iter().any(|t| t == "keep-alive")
    };
    Ok(Request {
        method: method.to_string(),
        path,
        query,
        version: version.to_string(),
        headers,
        body: Vec::new(),
        keep_alive,
    })
}

// --- Responses -------------------------------------------------------------------------------

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

/// What the body of a response is made of.
pub enum Body {
    Bytes(Vec<u8>),
    /// `len` bytes of `{"access_token":"` followed by filler, generated on the fly.
    Oversize(u64),
    /// The same filler, sent without a Content-Length: the body ends when the connection closes.
    Unframed(u64),
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Oversize(n) | Body::Unframed(n) => *n,
        }
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json;charset=UTF-8".into(),
            )],
            body: Body::Bytes(value.to_string().into_bytes()),
        }
    }

    pub fn error(status: u16, error: &str, message: &str) -> Response {
        Response::json(
            status,
            &serde_json::json!({ "error": error, "message": message }),
        )
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    fn head(&self, version: &str, keep_alive: bool) -> Vec<u8> {
        let mut h = format!("{} {} {}\r\n", version, self.status, reason(self.status));
        h.push_str("Server: flexiti-token-server\r\n");
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("connection") {
                continue;
            }
            h.push_str(n);
            h.push_str(": ");
            h.push_str(v);
            h.push_str("\r\n");
        }
        let unframed = matches!(self.body, Body::Unframed(_));
        if !unframed {
            h.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        if !keep_alive || unframed {
            h.push_str("Connection: close\r\n");
        } else if version == "HTTP/1.0" {
            h.push_str("Connection: keep-alive\r\n");
        }
        h.push_str("\r\n");
        h.into_bytes()
    }
}

/// How to deliver a response (fault injection).
#[derive(Default, Clone, Copy)]
pub struct Delivery {
    /// Pause between the head and the body.
    pub stall_body: Option<Duration>,
    /// Send the body one byte at a time with this pause in between.
    pub trickle: Option<Duration>,
    /// Send only this many body bytes, then reset the connection.
    pub reset_after_bytes: Option<u64>,
    /// The answer to a HEAD request: the head only (its Content-Length is the body's).
    pub head_only: bool,
}

pub enum Sent {
    /// Fully sent.
    Complete,
    /// The peer went away (write failed): close the connection.
    PeerGone,
    /// Stopped after `reset_after_bytes`: the caller must reset the connection.
    ResetNow,
}

const OVERSIZE_PREFIX: &[u8] = b"{\"access_token\":\"";
const CHUNK: usize = 16 * 1024;

/// Writes a response head and body as `delivery` says, never holding an oversize body in
/// memory.
pub fn send(
    stream: &mut Stream,
    version: &str,
    resp: &Response,
    keep_alive: bool,
    delivery: Delivery,
) -> Sent {
    let head = resp.head(version, keep_alive);
    if stream
        .write_all(&head)
        .and_then(|_| stream.flush())
        .is_err()
    {
        return Sent::PeerGone;
    }
    if let Some(d) = delivery.stall_body {
        thread::sleep(d);
    }
    let total = if delivery.head_only { 0 } else { resp.body.len() };
    let limit = delivery.reset_after_bytes.map_or(total, |n| n.min(total));
    let mut sent: u64 = 0;
    let mut chunk = Vec::with_capacity(CHUNK);
    while sent < limit {
        chunk.clear();
        let want = ((limit - sent) as usize).min(CHUNK);
        match &resp.body {
            Body::Bytes(b) => chunk.extend_from_slice(&b[sent as usize..sent as usize + want]),
            Body::Oversize(_) | Body::Unframed(_) => {
                for i in 0..want as u64 {
                    let pos = (sent + i) as usize;
                    chunk.push(if pos < OVERSIZE_PREFIX.len() {
                        OVERSIZE_PREFIX[pos]
                    } else {
                        b'x'
                    });
                }
            }
        }
        if let Some(gap) = delivery.trickle {
            for (i, b) in chunk.iter().enumerate() {
                if (sent > 0 || i > 0) && !gap.is_zero() {
                    thread::sleep(gap);
                }
                if stream
                    .write_all(std::slice::from_ref(b))
                    .and_then(|_| stream.flush())
                    .is_err()
                {
                    return Sent::PeerGone;
                }
            }
        } else if stream
            .write_all(&chunk)
            .and_then(|_| stream.flush())
            .is_err()
        {
            return Sent::PeerGone;
        }
        sent += want as u64;
    }
    if delivery.reset_after_bytes.is_some() {
        return Sent::ResetNow;
    }
    Sent::Complete
}

/// Holds a connection open without answering until the peer closes it or `limit` passes.
/// Reads (and discards) from the raw TCP socket so this works the same under TLS.
pub fn hold_open(stream: &Stream, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut tcp = stream.tcp();
    let mut buf = [0u8; 4096];
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let wait = (deadline - now).max(Duration::from_millis(1));
        if tcp.set_read_timeout(Some(wait)).is_err() {
            thread::sleep(wait);
            break;
        }
        match tcp.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => break,
        }
    }
    let _ = tcp.set_read_timeout(None);
}

// --- Forms -----------------------------------------------------------------------------------

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte; a '%' not
/// followed by two hex digits is kept as is.
pub fn form_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (
                    s.get(i + 1).copied().and_then(hex_val),
                    s.get(i + 2).copied().and_then(hex_val),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a form body into (name, value) pairs in order.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|&b| b == b'=') {
            Some(i) => (form_decode(&p[..i]), form_decode(&p[i + 1..])),
            None => (form_decode(p), String::new()),
        })
        .collect()
}
