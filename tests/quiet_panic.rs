//! Issue 15 item 7: a panic caught at the C boundary does not print to the host's stderr (the
//! library's panic hook stays quiet for panics inside library calls), while every other panic
//! still reaches the hook the host installed. Its own binary: the panic hook is process-wide.

use std::sync::Mutex;

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[test]
fn a_panic_inside_a_library_call_is_quiet_and_the_hosts_hook_still_sees_its_own() {
    // The host's hook, in place before the library is first called (as in a host program).
    std::panic::set_hook(Box::new(|info| SEEN.lock().unwrap_or_else(|e| e.into_inner()).push(info.to_string())));

    // A panic inside an entry point's guard: FLX_ERR_INTERNAL, and the hook hears nothing.
    let r = flexiti_auth::ffi::guarded(-1, || -> flexiti_auth::error::Result<i32> { panic!("inside-canary: a token would be here") });
    assert_eq!(r, -1);
    assert_eq!(flexiti_auth::ffi::flx_last_error_code(), 7);
    let msg = unsafe { std::ffi::CStr::from_ptr(flexiti_auth::ffi::flx_last_error_message()) }.to_string_lossy().into_owned();
    assert!(msg.contains("panic was caught") && !msg.contains("inside-canary"), "{msg}");
    let seen = SEEN.lock().unwrap().clone();
    assert!(seen.is_empty(), "a caught library panic reached the host's hook: {seen:?}");

    // The same thread after the call, and another thread: their panics are the host's own.
    let _ = std::panic::catch_unwind(|| panic!("outside-canary-1"));
    let _ = std::thread::spawn(|| panic!("outside-canary-2")).join();
    let seen = SEEN.lock().unwrap().clone();
    assert!(seen.iter().any(|s| s.contains("outside-canary-1")), "{seen:?}");
    assert!(seen.iter().any(|s| s.contains("outside-canary-2")), "{seen:?}");
    assert!(!seen.iter().any(|s| s.contains("inside-canary")), "{seen:?}");
    let _ = std::panic::take_hook();
}
