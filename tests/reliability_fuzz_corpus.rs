//! Replays the fuzz corpus (fuzz/corpus/<target>/*: the seeds, and every input a fuzz run found
//! worth keeping, crashes included once fixed) through the same checks the cargo-fuzz targets
//! run (fuzz/checks.rs), on stable Rust: `make test` needs no nightly.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|e| e.unwrap().path()).collect();
    entries.sort();
    assert!(entries.len() >= 10, "{target}: only {} corpus files", entries.len());
    let mut failed = Vec::new();
    for path in &entries {
        let data = std::fs::read(path).unwrap();
        if let Err(p) = std::panic::catch_unwind(|| check(&data)) {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            failed.push(format!("{}: {msg}", path.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(failed.is_empty(), "{target}: {} of {} corpus inputs fail:\n{}", failed.len(), entries.len(), failed.join("\n"));
}

#[test]
fn token_response_corpus() {
    replay("token_response", checks::token_response);
}

#[test]
fn session_import_corpus() {
    replay("session_import", checks::session_import);
}

#[test]
fn options_corpus() {
    replay("options", checks::options);
}

#[test]
fn response_headers_corpus() {
    replay("response_headers", checks::response_headers);
}
