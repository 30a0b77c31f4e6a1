//! At most 64 persistent handles per process: the 65th distinct account is refused with a clear
//! error, while the 64 already held keep being returned. (Its own binary: the registry is per
//! process.)

use flexiti_auth::ffi::*;
use flexiti_auth::FlxStatus;
use std::ffi::{CStr, CString};

fn persistent(id: &str) -> *mut FlxClient {
    let (url, id, secret) = (CString::new("https://posapi.example.com/").unwrap(), CString::new(id).unwrap(), CString::new("limit-secret").unwrap());
    flx_client_persistent(url.as_ptr(), id.as_ptr(), secret.as_ptr())
}

#[test]
fn the_65th_persistent_handle_is_refused() {
    let handles: Vec<_> = (0..64).map(|i| persistent(&format!("merchant-{i}"))).collect();
    assert!(handles.iter().all(|h| !h.is_null()));
    assert_eq!(flexiti_auth::persistent::count(), 64);

    assert!(persistent("merchant-64").is_null());
    assert_eq!(flx_last_error_code(), FlxStatus::FLX_ERR_INVALID_ARGUMENT as i32);
    let message = unsafe { CStr::from_ptr(flx_last_error_message()) }.to_string_lossy().into_owned();
    assert!(message.contains("64 persistent handles"), "{message}");
    assert!(!message.contains("limit-secret"));
    assert_eq!(flexiti_auth::persistent::count(), 64);

    // The ones held are still found (no new entry needed), and plain handles are not limited.
    for (i, h) in handles.iter().enumerate() {
        assert_eq!(persistent(&format!("merchant-{i}")), *h);
    }
    let url = CString::new("https://posapi.example.com/").unwrap();
    let plain = flx_client_new(url.as_ptr(), c"merchant-64".as_ptr(), c"limit-secret".as_ptr());
    assert!(!plain.is_null());
    flx_client_free(plain);
}
