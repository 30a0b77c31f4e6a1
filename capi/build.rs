//! The shared library's soname: installed copies follow the usual libfoo.so -> libfoo.so.0 ->
//! libfoo.so.0.1.0 scheme; the ABI major version is the crate's major version (0 until 1.0).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libflexiti_auth.so.{major}");
    }
}
