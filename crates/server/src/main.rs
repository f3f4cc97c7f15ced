//! `latchkey`: the Latchkey server and its admin CLI.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use latchkey_core::{Admin, Role, TokenKind};
use latchkey_server::config::LocationFlags;
use latchkey_server::http::{AppState, Metrics, PortalSettings};
use latchkey_server::report::error_chain;
use latchkey_server::{Config, admin};
use zeroize::Zeroizing;

/// The Latchkey authentication server.
#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Latchkey: two-factor authentication with self-service token recovery"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        #[command(flatten)]
        location: LocationFlags,
        /// Create a demo user and soft token, and print what to type next
        #[arg(long)]
        demo: bool,
        /// Log JSON lines instead of text
        #[arg(long)]
        log_json: bool,
    },
    /// Administer users, tokens, API keys and the audit log
    Admin {
        #[command(flatten)]
        location: LocationFlags,
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LATCHKEY_LOG")
        .unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Binds an optional extra listener, naming its address when that fails.
async fn bind_optional(
    address: Option<SocketAddr>,
) -> Result<Option<tokio::net::TcpListener>, String> {
    match address {
        Some(address) => tokio::net::TcpListener::bind(address)
            .await
            .map(Some)
            .map_err(|e| format!("cannot listen on {address}: {e}")),
        None => Ok(None),
    }
}

async fn serve(
    config: Config,
    demo: bool,
    certificate: Option<Arc<latchkey_server::tls::ReloadableCertificate>>,
) -> Result<(), String> {
    // `serve` holds no admin right, except for the demo's set-up: the
    // operator who typed `--demo` at this command line owns the database,
    // and the right is dropped before the first request is served.
    let (app, lifecycle, operator) = if demo {
        let (app, lifecycle, operator) = latchkey_server::open_as_operator(&config)
            .await
            .map_err(|e| error_chain(&e))?;
        refuse_demo_on_a_used_database(&app, &operator.admin).await?;
        (app, lifecycle, Some(operator.admin))
    } else {
        let (app, lifecycle) = latchkey_server::open(&config)
            .await
            .map_err(|e| error_chain(&e))?;
        (app, lifecycle, None)
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| error_chain(&e))?;
    let tls = match &certificate {
        Some(certificate) => {
            certificate
                .reload_on_sighup()
                .map_err(|e| format!("cannot watch for SIGHUP: {e}"))?;
            Some(certificate.acceptor())
        }
        None => {
            latchkey_server::tls::log_sighup_without_tls()
                .map_err(|e| format!("cannot watch for SIGHUP: {e}"))?;
            None
        }
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let redirect = bind_optional(config.redirect_http_listen).await?;
    let metrics_listener = bind_optional(config.metrics_listen).await?;
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{address}"));
    if let Some(radius) = config.radius.listen {
        latchkey_server::radius::start(radius, app.clone())
            .await
            .map_err(|e| format!("cannot answer RADIUS on {radius}: {e}"))?;
    }
    if let Some(port) = lifecycle.directory() {
        // So that /readyz and /metrics report the directory's state from
        // the start, not only after its first user.
        let port = port.clone();
        tokio::spawn(async move {
            if let latchkey_server::directory::DirectoryState::Down(cause) = port.probe().await {
                tracing::warn!(%cause, "the directory does not answer; its users are refused until it does");
            }
        });
    }
    if let Some(every) = lifecycle
        .directory()
        .and_then(|port| port.directory().sync_interval())
    {
        tokio::spawn(latchkey_server::directory::sync_on_schedule(
            app.clone(),
            every,
        ));
    }
    println!("latchkey listening on {scheme}://{address}");
    if operator.is_none() && app.needs_first_admin().await.unwrap_or(false) {
        // Written, not printed: whoever started the server may have read
        // the address line and closed the pipe, and that is no reason to
        // stop.
        let _ = writeln!(
            std::io::stdout(),
            "No administrator yet. Create the first with\n  \
             latchkey admin user add NAME --role admin\n\
             and give them a token with `latchkey admin token issue NAME` (see the README's first hour)."
        );
    }
    // Logged, not printed: the first line of standard output is the one
    // scripts read for the public address.
    if let Some(redirect) = &redirect {
        let at = redirect.local_addr().map_err(|e| error_chain(&e))?;
        tracing::info!(%at, to = %base, "redirecting plain HTTP");
    }
    if let Some(metrics) = &metrics_listener {
        let at = metrics.local_addr().map_err(|e| error_chain(&e))?;
        tracing::info!(%at, "serving /metrics apart");
    }
    if let Some(admin) = operator {
        print_demo(&app, &admin, &base).await?;
    }
    let _ = std::io::stdout().flush();
    tracing::info!(%address, database = ?lifecycle.backend(), "serving");
    let base_url = config.base_url(address);
    let mailer = latchkey_server::mail::PortalMailer::new(
        &config.mail_from,
        config.smtp_url.as_deref(),
        config.outbox(),
    )
    .map_err(|e| error_chain(&e))?;
    let state = AppState::new(latchkey_server::http::Shared {
        app: app.clone(),
        lifecycle: lifecycle.clone(),
        metrics: Arc::new(Metrics::default()),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        portal: Arc::new(PortalSettings {
            secure_cookies: base_url.starts_with("https://"),
            base_url,
            mailer: latchkey_server::mail::WithHelpdeskContact::wrap(
                Arc::new(mailer),
                config.helpdesk_contact.as_deref(),
            ),
            helpdesk_contact: config.helpdesk_contact.clone(),
        }),
        app_origin: config.app_origin.clone(),
    });
    let listeners = latchkey_server::http::Listeners {
        public: listener,
        tls,
        redirect,
        base_url: state.portal.base_url.clone(),
        metrics: metrics_listener,
        metrics_token: config.metrics_token.clone(),
    };
    latchkey_server::http::serve_all(listeners, state)
        .await
        .map_err(|e| error_chain(&e))?;
    lifecycle.close().await;
    Ok(())
}

/// `--demo` sets up an empty database only: left in a service unit, it
/// would otherwise add a known account with a printed password at every
/// start (UX-REVIEW F3).
async fn refuse_demo_on_a_used_database(
    app: &latchkey_server::App,
    admin: &Admin,
) -> Result<(), String> {
    let users = app.list_users(admin).await.map_err(|e| error_chain(&e))?;
    if users.is_empty() {
        return Ok(());
    }
    Err(format!(
        "--demo sets up an empty database only, and this one has {} user{}: \
         start without --demo, or give a new data folder (--data-dir DIR)",
        users.len(),
        if users.len() == 1 { "" } else { "s" }
    ))
}

/// How to run `latchkey-token` as printed: the binary beside this one when
/// it was built (`cargo build` makes both), else through cargo, since after
/// the README's `cargo run` it is not on the PATH (UX-REVIEW F1).
fn token_command() -> String {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("latchkey-token")))
        .filter(|path| path.is_file());
    match beside {
        Some(path) => shell_quote(&path.display().to_string()),
        None => "cargo run -q -p latchkey-token --".into(),
    }
}

/// `text` as one word for a POSIX shell.
fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
async fn print_demo(app: &latchkey_server::App, admin: &Admin, base: &str) -> Result<(), String> {
    let mut secret = [0u8; 9];
    rand_fill(&mut secret);
    let password = Zeroizing::new(format!(
        "demo-{}",
        data_encoding::BASE32_NOPAD.encode(&secret).to_lowercase()
    ));
    let name = format!("demo-{}", &data_encoding::HEXLOWER.encode(&secret)[..6]);
    app.add_user(admin, &name, None, Role::User, Some(password.clone()))
        .await
        .map_err(|e| error_chain(&e))?;
    let issued = app
        .issue_token(admin, &name, TokenKind::Latchkey)
        .await
        .map_err(|e| error_chain(&e))?;
    let code = issued
        .activation_code
        .expect("a Latchkey token has an activation code");
    let key = app
        .create_api_key(
            admin,
            &format!("{name}-app"),
            latchkey_core::ApiRole::Authenticate,
        )
        .await
        .map_err(|e| error_chain(&e))?;
    println!(
        "\nDemo user {name} with password {pw}\n\
         1. Activate the soft token (choose a PIN of 6+ digits):\n   \
            {token} activate --server {base} --serial {serial} --activation-code {code}\n\
         2. Show a one-time password:\n   \
            {token} code\n\
         3. Authenticate as a relying application would (it asks for the PIN):\n   \
            curl -s {base}/api/v1/authenticate -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n     \
            -d '{{\"username\": \"{name}\", \"password\": \"{pw}\", \"otp\": \"'\"$({token} code)\"'\"}}'\n\
         4. Sign in to the self-service portal at {base}/login with the password and an OTP;\n   \
            then lock the token with five wrong PINs and unlock it there\n   \
            (\"My token is locked, lost, or I forgot its PIN\").\n",
        token = token_command(),
        pw = password.as_str(),
        serial = issued.serial,
        code = code.grouped(),
        key = key.as_str(),
    );
    Ok(())
}

/// mimalloc rather than glibc's allocator: requests allocate on the async
/// threads and the SQLite threads free, and the other way round; glibc's
/// per-arena locks and chunk consolidation cost more than the work itself
/// there (measured in bench/authenticate.sh, see the closing note).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rand_fill(bytes: &mut [u8]) {
    rand::Rng::fill_bytes(&mut rand::rng(), bytes);
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve {
            listen,
            location,
            demo,
            log_json,
        } => {
            let config = match Config::load(&location, listen) {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            init_logging(log_json || config.log_json);
            // A certificate that does not load is the operator's to fix
            // before anything listens: refused like a bad configuration.
            let certificate = match latchkey_server::tls::from_config(&config) {
                Ok(certificate) => certificate,
                Err(e) => {
                    eprintln!("latchkey: {e}");
                    return ExitCode::from(2);
                }
            };
            match runtime.block_on(serve(config, demo, certificate)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("latchkey: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Admin { location, command } => {
            let config = match Config::load(&location, None) {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            if let admin::AdminCommand::Restore(args) = command {
                return match runtime.block_on(admin::restore(&config, args)) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(failure) => {
                        eprintln!("{}", failure.message);
                        ExitCode::from(failure.status)
                    }
                };
            }
            let result = runtime.block_on(async {
                let (app, lifecycle, operator) = latchkey_server::open_as_operator(&config)
                    .await
                    .map_err(|e| admin::Failure {
                    status: 1,
                    message: error_chain(&e),
                })?;
                let result = admin::run(&app, &operator, &config, command).await;
                lifecycle.close().await;
                result
            });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(failure) => {
                    eprintln!("{}", failure.message);
                    ExitCode::from(failure.status)
                }
            }
        }
    }
}
