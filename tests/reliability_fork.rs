//! fork(): a process that loaded the library and holds a token forks children while its own
//! threads keep using the handle. Every child gets tokens on connections of its own, none waits
//! on (or deadlocks behind) a lock or a request of a parent thread, and the parent keeps working.
//! Its own test binary: fork wants few other threads around.

mod common;
mod reliability_support;
use common::*;
use reliability_support::*;
use serde_json::Value;
use std::collections::HashSet;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILDREN: usize = 12;

/// Fork; the child runs `f` with a 15 s alarm and sends what it returns through a pipe.
/// Returns the child's pid and the read end.
fn spawn_child(f: impl FnOnce() -> String) -> (libc::pid_t, std::fs::File) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe {
            libc::close(fds[0]);
            libc::alarm(15); // a deadlocked child dies by SIGALRM instead of hanging the suite
        }
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| "panic".to_owned());
        unsafe {
            libc::write(fds[1], out.as_ptr() as *const libc::c_void, out.len());
            libc::_exit(0);
        }
    }
    unsafe { libc::close(fds[1]) };
    (pid, unsafe { std::fs::File::from_raw_fd(fds[0]) })
}

fn wait_child(pid: libc::pid_t, mut out: std::fs::File) -> Result<String, String> {
    let mut s = String::new();
    let _ = out.read_to_string(&mut s);
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        return Err(if sig == libc::SIGALRM {
            "hung for 15 s (deadlocked on a lock a parent thread held at fork time?)".to_owned()
        } else {
            format!("killed by signal {sig}")
        });
    }
    Ok(s)
}

#[test]
fn children_get_their_own_tokens_while_parent_threads_keep_working() {
    fork_while_working(None);
}

/// The same while the parent's threads write debug log lines to a file and a callback: a child
/// forked in the middle of a log write must still log (and work).
#[test]
fn children_forked_while_parent_threads_log_do_not_hang() {
    let dir = temp_dir("fork-log");
    let file = dir.join("parent.log");
    fork_while_working(Some(&file));
    let log = std::fs::read_to_string(&file).unwrap();
    assert!(log.lines().count() > 100, "the parent's threads hardly logged: the test proved little");
    let _ = std::fs::remove_dir_all(&dir);
}

extern "C" fn count_line(_level: i32, _line: *const std::ffi::c_char, user: *mut std::ffi::c_void) {
    // SAFETY: `user` is the AtomicU64 below, alive for the whole test.
    unsafe { &*(user as *const AtomicU64) }.fetch_add(1, Ordering::Relaxed);
}

static CALLBACK_LINES: AtomicU64 = AtomicU64::new(0);

fn fork_while_working(log_file: Option<&std::path::Path>) {
    let server = TokenServer::start();
    let h = Arc::new(Handle::new(&server.url, CLIENT_ID, CLIENT_SECRET));
    if let Some(file) = log_file {
        assert_eq!(h.set("log_level", "debug"), OK);
        assert_eq!(h.set("log_file", file.to_str().unwrap()), OK);
        let user = &CALLBACK_LINES as *const AtomicU64 as *mut std::ffi::c_void;
        assert_eq!(flexiti_auth::ffi::flx_client_set_log_callback(h.0, Some(count_line), user), OK);
    }
    let first = h.access_token(false).expect("parent token");

    // Parent threads use the handle all through the forks: cached calls, refreshes, exports.
    let stop = Arc::new(AtomicBool::new(false));
    let parent_calls = Arc::new(AtomicU64::new(0));
    let parent_failures = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let (h, stop, calls, failures) = (h.clone(), stop.clone(), parent_calls.clone(), parent_failures.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let ok = match (i, n % 20) {
                        (0, 0) => h.access_token(false).is_some(),
                        (1, 0) => h.export().is_some(),
                        _ => h.access_token(true).is_some(),
                    };
                    calls.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));

    // Children, forked at random moments of the parent's work, each one identifiable on the
    // wire by its User-Agent.
    let mut children = Vec::new();
    for i in 0..CHILDREN {
        std::thread::sleep(Duration::from_millis(5 + (i as u64 * 7) % 20));
        let hc = h.clone();
        let logging = log_file.is_some();
        children.push(spawn_child(move || {
            let t0 = Instant::now();
            let lines_before = CALLBACK_LINES.load(Ordering::Relaxed);
            if hc.set("user_agent", &format!("fork-child-{i}")) != OK {
                return format!("set_option failed: {:?}", last_error());
            }
            let cached = hc.access_token(true);
            let fresh = hc.access_token(false);
            let again = hc.access_token(true);
            if logging && CALLBACK_LINES.load(Ordering::Relaxed) == lines_before {
                return "logged nothing to the callback".to_owned();
            }
            match (cached, fresh, again) {
                (Some(c), Some(f), Some(a)) if f == a => format!("ok {c} {f} {}", t0.elapsed().as_millis()),
                (c, f, a) => format!("failed {:?} {} {} {}: {:?}", c.is_some(), f.is_some(), a.is_some(), 0, last_error()),
            }
        }));
    }
    let mut problems = Vec::new();
    let mut child_tokens = Vec::new();
    for (i, (pid, out)) in children.into_iter().enumerate() {
        match wait_child(pid, out) {
            Ok(s) if s.starts_with("ok ") => {
                let parts: Vec<&str> = s.split(' ').collect();
                child_tokens.push((i, parts[1].to_owned(), parts[2].to_owned()));
            }
            Ok(s) => problems.push(format!("child {i}: {s}")),
            Err(e) => problems.push(format!("child {i}: {e}")),
        }
    }
    // The parent keeps working after the children are gone, too.
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    assert!(problems.is_empty(), "{} of {CHILDREN} children failed:\n{}", problems.len(), problems.join("\n"));
    assert_eq!(parent_failures.load(Ordering::Relaxed), 0, "the parent's calls failed during the forks");
    assert!(parent_calls.load(Ordering::Relaxed) > 1000);
    assert!(h.access_token(false).is_some(), "the parent still refreshes: {:?}", last_error());

    let issued: HashSet<String> = server.issued_access_tokens().into_iter().collect();
    let requests = server.requests();
    let ua = |r: &Value| r["headers"]["user-agent"].as_str().unwrap_or("").to_owned();
    let parent_conns: HashSet<u64> =
        requests.iter().filter(|r| !ua(r).starts_with("fork-child-")).map(|r| r["connection_id"].as_u64().unwrap()).collect();
    let mut seen_child_conns: HashSet<u64> = HashSet::new();
    for (i, cached, fresh) in &child_tokens {
        // The cached call in the child returns the inherited token without a request; the
        // fresh one is a token the server issued, obtained by the child itself.
        assert!(issued.contains(cached) || cached == &first, "child {i}: cached token unknown");
        assert!(issued.contains(fresh), "child {i}: token not issued by the server");
        let mine: Vec<&Value> = requests.iter().filter(|r| ua(r) == format!("fork-child-{i}")).collect();
        assert!(!mine.is_empty(), "child {i} sent no request of its own");
        for r in mine {
            let conn = r["connection_id"].as_u64().unwrap();
            assert!(!parent_conns.contains(&conn), "child {i} used a connection of the parent");
            seen_child_conns.insert(conn);
        }
    }
    let child_request_conns: Vec<u64> = requests.iter().filter(|r| ua(r).starts_with("fork-child-")).map(|r| r["connection_id"].as_u64().unwrap()).collect();
    let per_child: HashSet<(String, u64)> = requests.iter().filter(|r| ua(r).starts_with("fork-child-")).map(|r| (ua(r), r["connection_id"].as_u64().unwrap())).collect();
    let conns: HashSet<u64> = per_child.iter().map(|(_, c)| *c).collect();
    assert_eq!(conns.len(), per_child.len(), "two children shared a connection: {child_request_conns:?}");
    let fresh: HashSet<&String> = child_tokens.iter().map(|(_, _, f)| f).collect();
    assert_eq!(fresh.len(), child_tokens.len(), "two children ended with the same new token");
    Arc::try_unwrap(h).ok().unwrap().free();
}
