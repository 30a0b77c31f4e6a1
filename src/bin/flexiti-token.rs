//! flexiti-token: check a Flexiti setup from the command line (being written).
fn main() {
    eprintln!("flexiti-token: not built yet");
    std::process::exit(2);
}
