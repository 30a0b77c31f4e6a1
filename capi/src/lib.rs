//! libflexiti_auth.so / libflexiti_auth.a: the C ABI of flexiti-auth (`../src/ffi.rs`,
//! described by `../include/flexiti_auth.h`). Every `#[no_mangle] extern "C"` function of the
//! Rust library is exported from here; nothing else is.

extern crate flexiti_auth_core;
