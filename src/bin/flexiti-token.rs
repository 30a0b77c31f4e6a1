//! flexiti-token: get, print and check a Flexiti OAuth2 access token from the command line, with
//! the same library a terminal uses. `flexiti-token --help` documents every option and exit status.
//!
//! The client_secret comes from a file or the environment, never from argv unless explicitly
//! allowed (argv is visible to every local user through ps and /proc). Nothing this program
//! prints contains the secret; only `token` prints a token, and `check`/`status` show a 4-character
//! hint of the access token at most.

use flexiti_auth::clock::Now;
use flexiti_auth::log::{token_hint, utc_timestamp, Level};
use flexiti_auth::options::Options;
use flexiti_auth::session::MAX_SESSION_BYTES;
use flexiti_auth::{Client, Decision, FlxStatus, HeldToken};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use serde_json::{json, Value};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const PROGRAM: &str = "flexiti-token";

// Exit statuses (sysexits.h values where one fits). Documented in AFTER_HELP; keep the two in step.
const EXIT_OK: i32 = 0;
const EXIT_EXPIRED: i32 = 1;
const EXIT_USAGE: i32 = 64; // EX_USAGE; also FLX_ERR_INVALID_ARGUMENT
const EXIT_BAD_RESPONSE: i32 = 65; // EX_DATAERR
const EXIT_SESSION: i32 = 66; // EX_NOINPUT
const EXIT_NETWORK: i32 = 69; // EX_UNAVAILABLE
const EXIT_INTERNAL: i32 = 70; // EX_SOFTWARE
const EXIT_CANT_WRITE_SESSION: i32 = 73; // EX_CANTCREAT
const EXIT_OUTPUT: i32 = 74; // EX_IOERR
const EXIT_HTTP_STATUS: i32 = 76; // EX_PROTOCOL
const EXIT_AUTH_REJECTED: i32 = 77; // EX_NOPERM
const EXIT_STORE: i32 = 78; // EX_CONFIG

fn exit_code(status: FlxStatus) -> i32 {
    match status {
        FlxStatus::FLX_OK => EXIT_OK,
        FlxStatus::FLX_ERR_INVALID_ARGUMENT => EXIT_USAGE,
        FlxStatus::FLX_ERR_NETWORK => EXIT_NETWORK,
        FlxStatus::FLX_ERR_HTTP_STATUS => EXIT_HTTP_STATUS,
        FlxStatus::FLX_ERR_AUTH_REJECTED => EXIT_AUTH_REJECTED,
        FlxStatus::FLX_ERR_BAD_RESPONSE => EXIT_BAD_RESPONSE,
        FlxStatus::FLX_ERR_SESSION => EXIT_SESSION,
        FlxStatus::FLX_ERR_INTERNAL => EXIT_INTERNAL,
        FlxStatus::FLX_ERR_STORE => EXIT_STORE,
    }
}

const ABOUT: &str = "get, print and check a Flexiti OAuth2 access token (flexiti-auth)";

const USAGE: &str = "\
flexiti-token [OPTIONS] check      get a token; print the decision, latency and expiry
       flexiti-token [OPTIONS] token      print the access token alone, for scripts
       flexiti-token [OPTIONS] status --session FILE
                                          expiry of a stored session (no network, no credentials)
       flexiti-token --help | --version

Options may come before or after the command. A value follows its option as the next
argument or after `=` (--api-url=URL); after `--` every argument is positional.";

const AFTER_HELP: &str = "\
check prints one line:
  OK decision=new latency_ms=12 expires_in=1200 valid_for=1140s refresh_token=yes token=3d8f…
  decision: new (client_credentials), refreshed (refresh_token), fallback (the refresh was
  refused, then client_credentials) or cached (no request). token= is a 4-character hint.
status prints one line:
  VALID created_at=2026-11-25T17:40:00Z age=120s expires_in=1200 threshold=60 expired=no
        seconds_left=1020 refresh_token=yes token=3d8f…
  or EXPIRED … expired=yes, with seconds_left negative. It never prints a token.
token prints the access token and a newline on stdout, nothing else.
--json output, one JSON object on stdout instead of the line:
  check: {ok, decision, latency_ms, expires_in, created_at, created_at_utc, valid_for_secs,
  threshold_secs, refresh_token, token_type, token_hint, session, stats}; when the request
  fails: {ok: false, status, status_code, exit_code, message, latency_ms, stats};
  token: the token JSON (response fields + created_at; it holds the tokens);
  status: {valid, expired, created_at, created_at_utc, age_secs, expires_in, threshold_secs,
  seconds_left, valid_for_secs, refresh_token, token_hint}
Errors: one line `flexiti-token: error: …` on stderr. The client_secret is never printed.

Exit status:
   0  success (status: the session's token is still valid)
   1  status: the session's token has expired (or is within --threshold of expiring)
  64  usage: a missing or bad argument, an unknown option, a bad option value or api_url
      (FLX_ERR_INVALID_ARGUMENT)
  65  the token endpoint's 2xx answer is not a usable token (FLX_ERR_BAD_RESPONSE)
  66  the --session file or --client-secret-file cannot be read, or the session is not
      valid session JSON (FLX_ERR_SESSION)
  69  the token endpoint could not be reached: DNS, connect, TLS, timeout (FLX_ERR_NETWORK)
  70  internal error (FLX_ERR_INTERNAL)
  73  the token was obtained but the --session file could not be written
  74  standard output could not be written
  76  the token endpoint answered an error status: 5xx, 408, 429, 3xx, other 4xx
      (FLX_ERR_HTTP_STATUS)
  77  the credentials or the grant were rejected: invalid_client, unauthorized_client,
      invalid_grant, invalid_role (FLX_ERR_AUTH_REJECTED)
  78  the token_store directory cannot be used: not this user's alone (0700), not a
      directory, or cannot be created (FLX_ERR_STORE)

Environment: FLEXITI_API_URL, FLEXITI_CLIENT_ID, FLEXITI_CLIENT_SECRET (used when the
matching option is absent), FLX_LOG (log level to stderr), https_proxy, http_proxy,
all_proxy, no_proxy (when --proxy is not given).

Examples:
  export FLEXITI_API_URL=https://posapi-training.flexiti.fi/ FLEXITI_CLIENT_ID=my-id
  flexiti-token check --client-secret-file /etc/flexiti/secret --verbose
  TOKEN=$(flexiti-token token --client-secret-file /etc/flexiti/secret \\
          --session /var/lib/pos/flexiti-session.json --use-cache)
  flexiti-token status --session /var/lib/pos/flexiti-session.json";

const WHERE: &str = "Where and who (check, token)";
const REQUEST: &str = "Request (check, token); in brackets, the library option each one sets";
const STATE: &str = "Token state (check, token)";
const OUTPUT: &str = "Output";

/// The command line, parsed by clap. Every option may come before or after the command.
#[derive(Parser, Debug)]
#[command(
    name = PROGRAM,
    about = ABOUT,
    override_usage = USAGE,
    after_help = AFTER_HELP,
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true,
    args_override_self = true,
    allow_negative_numbers = true,
    max_term_width = 100
)]
struct Cli {
    /// check, token or status (see Usage); help shows this help
    #[arg(value_enum, value_name = "COMMAND", hide_possible_values = true)]
    command: Option<Command>,

    /// Flexiti base URL, e.g. https://posapi-training.flexiti.fi/ (https:// required except for loopback) [env FLEXITI_API_URL]
    #[arg(long, value_name = "URL", help_heading = WHERE)]
    api_url: Option<String>,
    /// OAuth2 client_id [env FLEXITI_CLIENT_ID]
    #[arg(long, value_name = "ID", help_heading = WHERE)]
    client_id: Option<String>,
    /// read the client_secret from PATH (trailing newline removed; `-` reads standard input) [else env FLEXITI_CLIENT_SECRET]
    #[arg(long = "client-secret-file", value_name = "PATH", help_heading = WHERE)]
    secret_file: Option<String>,
    /// refused unless --allow-secret-in-argv is also given: arguments are visible to every local user (ps, /proc/PID/cmdline) and stay in shell history
    #[arg(long = "client-secret", value_name = "VALUE", help_heading = WHERE)]
    secret_argv: Option<String>,
    /// accept --client-secret anyway
    #[arg(long, help_heading = WHERE)]
    allow_secret_in_argv: bool,

    /// token endpoint path, default flexiti/online-api/oauth/token; POS API v2.5: flexiti/pos-api/v2.5/oauth/token [token_path]
    #[arg(long, value_name = "PATH", action = ArgAction::Append, help_heading = REQUEST)]
    token_path: Vec<String>,
    /// send scope=SCOPE, e.g. merchant or customer [scope]
    #[arg(long, value_name = "SCOPE", action = ArgAction::Append, help_heading = REQUEST)]
    scope: Vec<String>,
    /// extra CA certificates, added to the public roots [ca_file]
    #[arg(long, value_name = "PEM", action = ArgAction::Append, help_heading = REQUEST)]
    ca_file: Vec<String>,
    /// a proxy URL, or none for no proxy; default: like curl, https_proxy, http_proxy, all_proxy, minus no_proxy [proxy]
    #[arg(long, value_name = "URL|none", action = ArgAction::Append, help_heading = REQUEST)]
    proxy: Vec<String>,
    /// whole-request timeout per attempt, default 15000 [timeout_ms]
    #[arg(long, value_name = "N", action = ArgAction::Append, help_heading = REQUEST)]
    timeout_ms: Vec<String>,
    /// TCP + TLS connect timeout, default 5000 [connect_timeout_ms]
    #[arg(long, value_name = "N", action = ArgAction::Append, help_heading = REQUEST)]
    connect_timeout_ms: Vec<String>,
    /// retries of transient failures per grant, default 2 [max_retries]
    #[arg(long, value_name = "N", action = ArgAction::Append, help_heading = REQUEST)]
    max_retries: Vec<String>,
    /// a token counts as expired SECS seconds before its lifetime ends, default 60; status uses it too [expiration_threshold_secs]
    #[arg(long, value_name = "SECS", action = ArgAction::Append, help_heading = REQUEST)]
    threshold: Vec<String>,
    /// set any library option by name (repeatable, applied in order with the options above): expiration_threshold_secs connect_timeout_ms timeout_ms max_retries token_path scope proxy ca_file user_agent log_level log_file token_store refresh_min_age_secs
    #[arg(long, value_name = "NAME=VALUE", action = ArgAction::Append, help_heading = REQUEST)]
    option: Vec<String>,

    /// session JSON shared between runs: imported before the request when FILE exists and is not empty, written back after a new or refreshed token (mode 0600, atomic rename). It holds the tokens: keep it private. status reads it.
    #[arg(long, value_name = "FILE", help_heading = STATE)]
    session: Option<String>,
    /// return a still-valid held token without a request (the library's use_cache=true); without it a valid token is refreshed (grant_type=refresh_token) and a missing or expired one replaced (grant_type=client_credentials)
    #[arg(long, help_heading = STATE)]
    use_cache: bool,

    /// one JSON object on stdout instead of the line (its fields: below)
    #[arg(long, help_heading = OUTPUT)]
    json: bool,
    /// log every step to stderr (same as --log-level debug)
    #[arg(short = 'v', long, help_heading = OUTPUT)]
    verbose: bool,
    /// off, error, warn, info or debug; lines go to stderr (FLX_LOG=LEVEL in the environment does the same)
    #[arg(long, value_name = "LEVEL", help_heading = OUTPUT)]
    log_level: Option<String>,
    /// this help
    #[arg(short = 'h', long, action = ArgAction::Help, help_heading = OUTPUT)]
    help: Option<bool>,
    /// version
    #[arg(short = 'V', long, help_heading = OUTPUT)]
    version: bool,
}

/// The library options the command line sets, as (flag, option name) pairs; their values are
/// applied in command-line order, whichever flag gave them.
const LIBRARY_OPTIONS: &[(&str, &str)] = &[
    ("token_path", "token_path"),
    ("scope", "scope"),
    ("ca_file", "ca_file"),
    ("proxy", "proxy"),
    ("timeout_ms", "timeout_ms"),
    ("connect_timeout_ms", "connect_timeout_ms"),
    ("max_retries", "max_retries"),
    ("threshold", "expiration_threshold_secs"),
];

/// A failure: one line for stderr and the exit status.
struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure { code: EXIT_USAGE, message: format!("{}; try '{PROGRAM} --help'", message.into()) }
    }
    fn new(code: i32, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into() }
    }
    fn library(e: &flexiti_auth::Error) -> Failure {
        Failure { code: exit_code(e.status), message: e.to_string() }
    }
}

type Res<T> = Result<T, Failure>;

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Command {
    Check,
    Token,
    Status,
    /// `flexiti-token help`: the same as --help
    Help,
}

#[derive(Default)]
struct Args {
    command: Option<Command>,
    help: bool,
    version: bool,
    api_url: Option<String>,
    client_id: Option<String>,
    secret_file: Option<String>,
    /// Given with --client-secret (never echoed).
    secret_argv: Option<String>,
    allow_secret_in_argv: bool,
    /// Library options, in command-line order: (flag as typed, option name, value).
    options: Vec<(String, String, String)>,
    session: Option<PathBuf>,
    use_cache: bool,
    json: bool,
    log_level: Option<String>,
}

/// An argument quoted in an error message only when it is short and plain: anything else might
/// be a secret typed in the wrong place.
fn quote_arg(arg: &str) -> String {
    if arg.len() <= 24 && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        format!("'{arg}'")
    } else {
        format!("({} characters, not shown)", arg.chars().count())
    }
}

fn parse_args(raw: Vec<OsString>) -> Res<Args> {
    let argv = std::iter::once(OsString::from(PROGRAM)).chain(raw);
    let matches = match Cli::command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::DisplayHelp => return Ok(Args { help: true, ..Args::default() }),
        Err(e) => return Err(usage_error(&e)),
    };
    let cli = Cli::from_arg_matches(&matches).map_err(|e| usage_error(&e))?;
    let mut args = Args {
        api_url: cli.api_url,
        client_id: cli.client_id,
        secret_file: cli.secret_file,
        secret_argv: cli.secret_argv,
        allow_secret_in_argv: cli.allow_secret_in_argv,
        use_cache: cli.use_cache,
        json: cli.json,
        version: cli.version,
        ..Args::default()
    };
    match cli.command {
        Some(Command::Help) => args.help = true,
        command => args.command = command,
    }

    // Library options, from the shorthands and --option alike, in command-line order.
    let mut ordered: Vec<(usize, String, String, String)> = Vec::new();
    for (id, option) in LIBRARY_OPTIONS {
        for (at, value) in occurrences(&matches, id) {
            ordered.push((at, format!("--{}", id.replace('_', "-")), (*option).to_owned(), value));
        }
    }
    for (at, value) in occurrences(&matches, "option") {
        let Some((name, v)) = value.split_once('=') else {
            return Err(Failure::usage("--option needs NAME=VALUE, e.g. --option user_agent=pos-42"));
        };
        ordered.push((at, "--option".to_owned(), name.trim().to_owned(), v.to_owned()));
    }
    ordered.sort_by_key(|o| o.0);
    args.options = ordered.into_iter().map(|(_, flag, name, value)| (flag, name, value)).collect();

    if let Some(session) = cli.session {
        if session.is_empty() {
            return Err(Failure::usage("--session needs a file name"));
        }
        args.session = Some(PathBuf::from(session));
    }
    // --verbose and --log-level: the later one wins.
    if let Some(level) = &cli.log_level {
        if Level::parse(level).is_err() {
            return Err(Failure::usage(format!("--log-level must be off, error, warn, info or debug, not {}", quote_arg(level))));
        }
    }
    let last = |id: &str| matches.indices_of(id).and_then(|i| i.max());
    args.log_level = match (cli.verbose.then(|| last("verbose")).flatten(), last("log_level")) {
        (Some(v), Some(l)) if v > l => Some("debug".to_owned()),
        (_, Some(_)) => cli.log_level,
        (Some(_), None) => Some("debug".to_owned()),
        (None, None) => None,
    };
    Ok(args)
}

/// The values an option was given, each with its position on the command line.
fn occurrences(matches: &ArgMatches, id: &str) -> Vec<(usize, String)> {
    match (matches.get_many::<String>(id), matches.indices_of(id)) {
        (Some(values), Some(at)) => at.zip(values.cloned()).collect(),
        _ => Vec::new(),
    }
}

/// clap's usage errors as one line that quotes no argument that could be a secret.
fn usage_error(e: &clap::Error) -> Failure {
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let arg = context(ContextKind::InvalidArg);
    let value = context(ContextKind::InvalidValue);
    // "--session <FILE>" -> "--session"; "--json=yes" -> "--json"
    let flag = arg.split([' ', '=']).next().unwrap_or_default().to_owned();
    let message = match e.kind() {
        ErrorKind::UnknownArgument if flag.starts_with('-') && flag != "-" => format!("unknown option {}", quote_arg(&flag)),
        ErrorKind::UnknownArgument if Command::from_str(&arg, false).is_ok() => {
            format!("more than one command given ({} too): give one of check, token or status", quote_arg(&arg))
        }
        ErrorKind::UnknownArgument => format!("unexpected argument {}: give one command, check, token or status", quote_arg(&arg)),
        ErrorKind::InvalidValue if !flag.starts_with('-') => {
            format!("unknown command {}: expected check, token or status", quote_arg(&value))
        }
        ErrorKind::InvalidValue if value.is_empty() => format!("{flag} needs a value"),
        ErrorKind::InvalidValue => format!("{flag}: bad value {}", quote_arg(&value)),
        ErrorKind::TooManyValues | ErrorKind::NoEquals => format!("{flag} takes no value"),
        ErrorKind::InvalidUtf8 => "an argument is not valid UTF-8".to_owned(),
        kind => format!("{}{}", kind.as_str().unwrap_or("bad arguments"), if flag.is_empty() { String::new() } else { format!(" ({flag})") }),
    };
    Failure::usage(message)
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn main() {
    let code = match run() {
        Ok(code) => code,
        Err(f) => {
            print_error(&f.message);
            f.code
        }
    };
    std::process::exit(code);
}

/// The one stderr line of a failure (control characters flattened so it stays one line).
fn print_error(message: &str) {
    let line: String = message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let _ = writeln!(std::io::stderr().lock(), "{PROGRAM}: error: {line}");
}

fn run() -> Res<i32> {
    let args = parse_args(std::env::args_os().skip(1).collect())?;
    if args.help {
        out(&Cli::command().render_help().to_string())?;
        return Ok(EXIT_OK);
    }
    if args.version {
        out(&format!("{PROGRAM} {} (flexiti-auth {0})\n", env!("CARGO_PKG_VERSION")))?;
        return Ok(EXIT_OK);
    }
    match args.command {
        None => Err(Failure::usage("no command given: expected check, token or status")),
        Some(Command::Status) => run_status(&args),
        Some(command) => run_request(&args, command),
    }
}

/// Write to stdout; a failure to do so is exit status 74.
fn out(text: &str) -> Res<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .map_err(|e| Failure::new(EXIT_OUTPUT, format!("cannot write to standard output: {e}")))
}

fn read_secret(args: &Args) -> Res<String> {
    let secret = match (&args.secret_argv, &args.secret_file) {
        (Some(_), Some(_)) => return Err(Failure::usage("give either --client-secret-file or --client-secret, not both")),
        (Some(_), None) if !args.allow_secret_in_argv => {
            return Err(Failure::usage(
                "--client-secret is refused: command-line arguments are visible to every local user (ps, /proc/PID/cmdline) \
                 and stay in shell history; use --client-secret-file PATH or FLEXITI_CLIENT_SECRET, \
                 or add --allow-secret-in-argv to accept the risk",
            ))
        }
        (Some(s), None) => s.clone(),
        (None, Some(path)) => {
            let mut raw = Vec::new();
            let result = if path == "-" {
                std::io::stdin().lock().take(64 * 1024).read_to_end(&mut raw)
            } else {
                std::fs::File::open(path).and_then(|f| f.take(64 * 1024).read_to_end(&mut raw))
            };
            result.map_err(|e| Failure::new(EXIT_SESSION, format!("cannot read --client-secret-file {path:?}: {e}")))?;
            let text = String::from_utf8(raw)
                .map_err(|_| Failure::new(EXIT_SESSION, format!("--client-secret-file {path:?} is not UTF-8 text")))?;
            let secret = text.trim_end_matches(['\n', '\r']).to_owned();
            if secret.is_empty() {
                return Err(Failure::usage(format!("--client-secret-file {path:?} is empty")));
            }
            if secret.contains(['\n', '\r']) {
                return Err(Failure::usage(format!("--client-secret-file {path:?} holds more than one line")));
            }
            secret
        }
        (None, None) => env_nonempty("FLEXITI_CLIENT_SECRET").ok_or_else(|| {
            Failure::usage("no client secret: give --client-secret-file PATH or set FLEXITI_CLIENT_SECRET")
        })?,
    };
    Ok(secret)
}

/// check and token: one get_token call, with the session file around it.
fn run_request(args: &Args, command: Command) -> Res<i32> {
    let api_url = args
        .api_url
        .clone()
        .or_else(|| env_nonempty("FLEXITI_API_URL"))
        .ok_or_else(|| Failure::usage("missing --api-url URL (or FLEXITI_API_URL)"))?;
    let client_id = args
        .client_id
        .clone()
        .or_else(|| env_nonempty("FLEXITI_CLIENT_ID"))
        .ok_or_else(|| Failure::usage("missing --client-id ID (or FLEXITI_CLIENT_ID)"))?;
    let secret = read_secret(args)?;
    let client = Client::new(&api_url, &client_id, &secret).map_err(|e| Failure::library(&e))?;
    drop(secret);

    // Log lines to stderr: FLX_LOG already gives the logger a stderr sink; otherwise a callback
    // does, so that `--option log_level=…` shows lines too.
    let flx_log_on_stderr = std::env::var("FLX_LOG").ok().is_some_and(|v| matches!(Level::parse(&v), Ok(Some(_))));
    if !flx_log_on_stderr {
        client.logger.set_callback(Some(Arc::new(|_level, line: &str| {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        })));
    }
    if let Some(level) = &args.log_level {
        client.set_option("log_level", level).map_err(|e| Failure::usage(format!("--log-level: {}", e.message)))?;
    }
    for (flag, name, value) in &args.options {
        client.set_option(name, value).map_err(|e| Failure::usage(format!("{flag}: {}", e.message)))?;
    }

    let mut loaded = false;
    if let Some(path) = &args.session {
        if let Some(json) = read_session_file(path, true)? {
            client.import_session(&json).map_err(|e| {
                Failure::new(
                    EXIT_SESSION,
                    format!("session file {}: {} (fix or delete it to start afresh)", path.display(), e.message),
                )
            })?;
            loaded = true;
            if let Some(t) = client.held_token() {
                debug(&client, &format!("session {} loaded: token {} created_at {}, expires_in {} s", path.display(), token_hint(&t.access_token), t.created_at, t.expires_in));
            }
        } else {
            debug(&client, &format!("session {} is absent or empty: starting without a token", path.display()));
        }
    }

    let started = Instant::now();
    let result = client.get_token_with_decision(args.use_cache);
    let latency_ms = started.elapsed().as_millis() as u64;

    let (token, decision) = match result {
        Ok(ok) => ok,
        Err(e) => {
            let failure = Failure::library(&e);
            if command == Command::Check && args.json {
                {
                    let doc = json!({
                        "ok": false,
                        "status": e.status.name(),
                        "status_code": e.status as i32,
                        "exit_code": failure.code,
                        "message": e.message,
                        "latency_ms": latency_ms,
                        "stats": stats(&client),
                    });
                    out(&format!("{doc}\n"))?;
                }
            }
            return Err(failure);
        }
    };

    let mut saved = false;
    if let Some(path) = &args.session {
        if decision != Decision::Cached {
            let json = client.export_session().map_err(|e| Failure::library(&e))?;
            write_session_file(path, &json).map_err(|e| {
                Failure::new(
                    EXIT_CANT_WRITE_SESSION,
                    format!("the token was obtained but the session file {} could not be written: {e}", path.display()),
                )
            })?;
            saved = true;
            debug(&client, &format!("session {} saved", path.display()));
        }
    }

    match command {
        Command::Token => {
            if args.json {
                out(&format!("{}\n", token.token_json))?;
            } else {
                out(&format!("{}\n", token.access_token))?;
            }
        }
        _ => {
            let threshold = client.options().expiration_threshold_secs;
            let valid_for = clamp(token.seconds_left(threshold, Now::read()).max(0));
            if args.json {
                let doc = json!({
                    "ok": true,
                    "decision": decision.name(),
                    "latency_ms": latency_ms,
                    "expires_in": token.expires_in,
                    "created_at": token.created_at,
                    "created_at_utc": utc_timestamp(token.created_at),
                    "valid_for_secs": valid_for,
                    "threshold_secs": threshold,
                    "refresh_token": token.refresh_token.is_some(),
                    "token_type": token.response.get("token_type").cloned().unwrap_or(Value::Null),
                    "token_hint": token_hint(&token.access_token),
                    "session": args.session.as_ref().map(|p| json!({"path": p.display().to_string(), "loaded": loaded, "saved": saved})),
                    "stats": stats(&client),
                });
                out(&format!("{doc}\n"))?;
            } else {
                out(&format!(
                    "OK decision={} latency_ms={latency_ms} expires_in={} valid_for={valid_for}s refresh_token={} token={}\n",
                    decision.name(),
                    token.expires_in,
                    yes_no(token.refresh_token.is_some()),
                    token_hint(&token.access_token),
                ))?;
            }
        }
    }
    Ok(EXIT_OK)
}

fn debug(client: &Client, line: &str) {
    client.logger.emit(Level::Debug, &format!("{PROGRAM}: {line}"));
}

fn stats(client: &Client) -> Value {
    serde_json::from_str(&client.stats_json()).unwrap_or(Value::Null)
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn clamp(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// The session file's text; None when it does not exist (if `missing_ok`) or holds only
/// whitespace (a file just made by mktemp).
fn read_session_file(path: &Path, missing_ok: bool) -> Res<Option<String>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if missing_ok && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Failure::new(EXIT_SESSION, format!("cannot read session file {}: {e}", path.display()))),
    };
    let mut raw = Vec::new();
    file.take(MAX_SESSION_BYTES as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| Failure::new(EXIT_SESSION, format!("cannot read session file {}: {e}", path.display())))?;
    if raw.len() > MAX_SESSION_BYTES {
        return Err(Failure::new(
            EXIT_SESSION,
            format!("session file {} is over the {MAX_SESSION_BYTES}-byte limit", path.display()),
        ));
    }
    let text = String::from_utf8(raw)
        .map_err(|_| Failure::new(EXIT_SESSION, format!("session file {} is not UTF-8 text", path.display())))?;
    Ok((!text.trim().is_empty()).then_some(text))
}

/// Replace `path` atomically with `json`, readable by its owner only: a temporary file in the
/// same directory, synced, then renamed over it. Readers see the old or the new session, whole.
fn write_session_file(path: &Path, json: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path does not name a file"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let _ = std::fs::remove_file(&tmp); // a leftover of an earlier process with this pid
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(json.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable (best effort: not every filesystem allows it).
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// status: the stored session's expiry, offline. Exit 0 valid, 1 expired, 66 unusable file.
fn run_status(args: &Args) -> Res<i32> {
    let path = args.session.as_ref().ok_or_else(|| Failure::usage("status needs --session FILE"))?;
    let mut options = Options::default();
    for (flag, name, value) in &args.options {
        if name == "expiration_threshold_secs" {
            options.set(name, value).map_err(|e| Failure::usage(format!("{flag}: {}", e.message)))?;
        }
    }
    let threshold = options.expiration_threshold_secs;
    let json = read_session_file(path, false)?
        .ok_or_else(|| Failure::new(EXIT_SESSION, format!("session file {} is empty", path.display())))?;
    let now = Now::read();
    let token: HeldToken = flexiti_auth::session::import(&json, now)
        .map_err(|e| Failure::new(EXIT_SESSION, format!("session file {}: {}", path.display(), e.message)))?;
    let age = clamp(token.age(now));
    let seconds_left = clamp(token.seconds_left(threshold, now));
    let expired = token.is_expired(threshold, now);
    if args.json {
        let doc = json!({
            "valid": !expired,
            "expired": expired,
            "created_at": token.created_at,
            "created_at_utc": utc_timestamp(token.created_at),
            "age_secs": age,
            "expires_in": token.expires_in,
            "threshold_secs": threshold,
            "seconds_left": seconds_left,
            "valid_for_secs": seconds_left.max(0),
            "refresh_token": token.refresh_token.is_some(),
            "token_hint": token_hint(&token.access_token),
        });
        out(&format!("{doc}\n"))?;
    } else {
        out(&format!(
            "{} created_at={} age={age}s expires_in={} threshold={threshold} expired={} seconds_left={seconds_left} refresh_token={} token={}\n",
            if expired { "EXPIRED" } else { "VALID" },
            utc_timestamp(token.created_at),
            token.expires_in,
            yes_no(expired),
            yes_no(token.refresh_token.is_some()),
            token_hint(&token.access_token),
        ))?;
    }
    Ok(if expired { EXIT_EXPIRED } else { EXIT_OK })
}
