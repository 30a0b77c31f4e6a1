//! flexiti-auth: gets and keeps a valid Flexiti POS-API OAuth2 access token.
//!
//! The safe Rust API is [`Client`]; the C ABI lives in [`ffi`] and is described by the
//! generated headers in `include/`.

pub mod api;
pub mod api_http;
pub mod client;
pub mod clock;
pub mod connect;
pub mod error;
pub mod expiry;
pub mod ffi;
pub mod fork;
pub mod handles;
pub mod log;
pub mod options;
pub mod persistent;
pub mod quiet;
pub mod redact;
pub mod secret;
pub mod session;
pub mod stats;
pub mod store;
pub mod token;
pub mod transport;

pub use client::Client;
pub use error::{Error, FlxStatus};
pub use token::{Decision, HeldToken};
