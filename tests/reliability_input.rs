//! Bad input from the caller that the C suite (tests/c/test_bad_input.c) cannot check well:
//! inputs that could exhaust the host's memory, and the size of messages about huge inputs.

mod common;
mod reliability_support;
use common::*;
use reliability_support::*;

/// Run `f` in a forked child limited to 1 GiB of address space and 20 s; its exit code is the
/// result. A library that reads without bound dies there (ENOMEM abort) instead of in the suite.
fn in_limited_child(f: impl FnOnce() -> i32) -> Result<i32, String> {
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe {
            let limit = libc::rlimit { rlim_cur: 1 << 30, rlim_max: 1 << 30 };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            libc::alarm(20);
        }
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        return Err(format!("killed by signal {}", libc::WTERMSIG(status)));
    }
    Ok(libc::WEXITSTATUS(status))
}

/// ca_file pointing at an endless device is refused with FLX_ERR_INVALID_ARGUMENT, not read
/// until the host runs out of memory.
#[test]
fn ca_file_on_an_endless_device_is_refused_without_exhausting_memory() {
    let server = TokenServer::start();
    for path in ["/dev/zero", "/dev/urandom"] {
        let url = server.url.clone();
        let r = in_limited_child(move || {
            let h = Handle::new(&url, CLIENT_ID, CLIENT_SECRET);
            let rc = h.set("ca_file", path);
            let (_, msg) = last_error();
            h.free();
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
            let peak_mib = usage.ru_maxrss / 1024;
            match (rc == INVALID && msg.contains("ca_file"), peak_mib < 256) {
                (true, true) => 0,
                (false, _) => 3,
                (true, false) => 4,
            }
        });
        assert_ne!(r, Ok(4), "ca_file {path:?} was read into memory until the 1 GiB limit stopped it (peak RSS over 256 MiB): a host without a limit would be exhausted");
        assert_eq!(r, Ok(0), "flx_client_set_option(c, \"ca_file\", {path:?}) did not return FLX_ERR_INVALID_ARGUMENT within 1 GiB and 20 s");
    }
}

/// An oversized but valid-looking ca_file (64 MiB of junk) is refused too, and quickly.
#[test]
fn ca_file_that_is_huge_is_refused() {
    let dir = temp_dir("bigca");
    let path = dir.join("big.pem");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(64 << 20).unwrap(); // sparse: no disk used
    let server = TokenServer::start();
    let h = Handle::new(&server.url, CLIENT_ID, CLIENT_SECRET);
    let t0 = std::time::Instant::now();
    assert_eq!(h.set("ca_file", path.to_str().unwrap()), INVALID);
    assert!(last_error().1.contains("ca_file"));
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    h.free();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Inputs up to the 64 KiB argument limit are refused with a message of bounded size: the
/// library cuts the values it quotes ("an enormous string must not make an enormous message").
#[test]
fn messages_stay_short_whatever_the_input_size() {
    let server = TokenServer::start();
    let h = Handle::new(&server.url, CLIENT_ID, CLIENT_SECRET);
    let big = "x".repeat(60_000);
    let mut long = Vec::new();
    let mut check = |what: &str, expected: i32, rc: i32| {
        let (code, msg) = last_error();
        assert_eq!(rc, expected, "{what}");
        assert_eq!(code, expected, "{what}");
        if msg.len() > 1024 {
            long.push(format!("{what}: {} bytes", msg.len()));
        }
    };
    for (what, url) in [("api_url", format!("https://a b{big}")), ("api_url scheme", format!("ftp://{big}")), ("api_url http", format!("http://{big}/"))] {
        let c = flexiti_auth::ffi::flx_client_new(cstr(&url).as_ptr(), cstr(CLIENT_ID).as_ptr(), cstr("s").as_ptr());
        if c.is_null() {
            check(what, INVALID, INVALID);
        } else {
            flexiti_auth::ffi::flx_client_free(c);
            check(what, INVALID, OK);
        }
    }
    check("option name", INVALID, h.set(&big, "1"));
    for (name, value) in [
        ("timeout_ms", big.clone()),
        ("max_retries", big.clone()),
        ("expiration_threshold_secs", big.clone()),
        ("token_path", format!("a b{big}")),
        ("proxy", format!("::{big}")),
        ("log_level", big.clone()),
        ("user_agent", format!("a\n{big}")),
    ] {
        check(name, INVALID, h.set(name, &value));
    }
    check("ca_file", INVALID, h.set("ca_file", &format!("/nonexistent/{big}")));
    check("log_file", INVALID, h.set("log_file", &format!("/nonexistent/{big}")));
    check("session", SESSION, h.import(&format!("{{\"token\":{{\"{big}\":1}}}}")));
    h.free();
    assert!(long.is_empty(), "messages over 1 KiB: {long:?}");
}
