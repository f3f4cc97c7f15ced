//! Helpers: a real `latchkey serve` on port 0 over a fresh SQLite file or a
//! fresh PostgreSQL database, the admin CLI against the same database, an
//! HTTP client, and the real `latchkey-token` binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use latchkey_core::ManualClock;
use latchkey_testkit::CapturedMail;
use latchkey_testkit::token_cli::run_with_input;

pub mod radius;

pub const MASTER_KEY: &str = "6c6174636b6b65792d746573742d6d61737465722d6b65792d30313233343536";
pub const PASSWORD: &str = "correct horse battery";
pub use latchkey_testkit::pins::PIN;

/// Where the database lives for one test.
pub struct Database {
    pub url: String,
    pub dir: tempfile::TempDir,
    pub postgres: bool,
}

impl Database {
    pub fn new(postgres: bool) -> Database {
        let dir = tempfile::tempdir().unwrap();
        let url = if postgres {
            fresh_postgres()
        } else {
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("latchkey.db").display()
            )
        };
        Database { url, dir, postgres }
    }

    fn location(&self) -> Vec<String> {
        vec![
            "--data-dir".into(),
            self.dir.path().display().to_string(),
            "--database".into(),
            self.url.clone(),
        ]
    }

    /// Runs `latchkey admin …` with `input` on standard input.
    pub fn admin(&self, args: &[&str], input: &str) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command
            .arg("admin")
            .args(self.location())
            .args(args)
            .env("LATCHKEY_MASTER_KEY", MASTER_KEY);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("latchkey starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// `latchkey admin … --json`, parsed; panics with the message on failure.
    pub fn admin_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.admin(&all, "");
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("--json prints JSON")
    }

    pub fn add_user(&self, name: &str) {
        let out = self.admin(
            &["user", "add", name, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(
            out.status.success(),
            "user add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn api_key(&self, name: &str, role: &str) -> String {
        self.admin_json(&["apikey", "create", name, "--role", role])["key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Starts a node.
    pub fn serve(&self) -> Server {
        self.serve_with(&[])
    }

    /// Starts a node with more `LATCHKEY_*` settings in its environment.
    pub fn serve_with(&self, settings: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(self.location())
            .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
            .env("LATCHKEY_LOG", "warn")
            .envs(settings.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("latchkey serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("latchkey listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        Server {
            runner: Runner::Process(child),
            url,
        }
    }

    /// Starts a node inside the test process, on a clock the test moves
    /// ([`Server::clock`], starting at the machine's time) and with its mail
    /// captured ([`Server::mail`]): the same domain, router and database as
    /// `latchkey serve`, so a scenario moves time instead of sleeping.
    pub fn spawn_app(&self) -> Server {
        self.spawn_app_with(|_| {})
    }

    /// [`Database::spawn_app`] with the configuration changed first (a
    /// `[directory]` table, say).
    pub fn spawn_app_with(&self, configure: impl FnOnce(&mut latchkey_server::Config)) -> Server {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let clock = ManualClock::at(now);
        let mail = CapturedMail::new();
        let config = latchkey_server::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: self.dir.path().to_owned(),
            database: Some(self.url.clone()),
            master_key: Some(MASTER_KEY.to_owned()),
            ..latchkey_server::Config::default()
        };
        let mut config = config;
        configure(&mut config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (listener, url) = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            (listener, url)
        });
        let state = runtime.block_on(async {
            let (app, lifecycle) =
                latchkey_server::open_with_clock(&config, Arc::new(clock.clone()))
                    .await
                    .expect("the node opens its database");
            latchkey_server::http::AppState {
                app,
                lifecycle,
                metrics: Arc::new(latchkey_server::http::Metrics::default()),
                trusted_proxies: Arc::new(config.trusted_proxies.clone()),
                portal: Arc::new(latchkey_server::http::PortalSettings {
                    base_url: url.clone(),
                    secure_cookies: false,
                    mailer: latchkey_server::mail::WithHelpdeskContact::wrap(
                        Arc::new(mail.clone()),
                        config.helpdesk_contact.as_deref(),
                    ),
                    helpdesk_contact: config.helpdesk_contact.clone(),
                }),
                app_origin: config.app_origin.clone(),
            }
        });
        runtime.spawn(async move {
            if let Err(e) = latchkey_server::http::serve(listener, state).await {
                panic!("the in-process node stopped: {e}");
            }
        });
        Server {
            runner: Runner::InProcess {
                runtime: Some(runtime),
                clock,
                mail,
            },
            url,
        }
    }
}

pub fn postgres_admin_url() -> String {
    latchkey_testkit::postgres::admin_url()
}

/// A new, empty PostgreSQL database; its URL. Fails loudly without PostgreSQL.
pub fn fresh_postgres() -> String {
    let admin = postgres_admin_url();
    let mut id = [0u8; 6];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut id);
    let name = format!(
        "lk_test_{}",
        id.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let runtime = tokio_runtime();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{}",
                    latchkey_testkit::postgres::unreachable_message(&admin, &e)
                )
            });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create a test database");
    });
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs one SQL statement against the test database (to play the attacker).
pub fn execute_sql(url: &str, sql: &str) {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        // The server's SQLite is rusqlite; sqlx here speaks PostgreSQL only.
        let path = rest.split_once('?').map_or(rest, |(path, _)| path);
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        conn.execute_batch(sql).unwrap();
        return;
    }
    tokio_runtime().block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    });
}

/// A running node; stopped when dropped.
pub struct Server {
    runner: Runner,
    pub url: String,
}

/// How a node runs: the real `latchkey serve` process, or in the test's
/// own process on a moved clock.
enum Runner {
    Process(Child),
    InProcess {
        runtime: Option<tokio::runtime::Runtime>,
        clock: ManualClock,
        mail: CapturedMail,
    },
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.runner {
            Runner::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Runner::InProcess { runtime, .. } => {
                if let Some(runtime) = runtime.take() {
                    runtime.shutdown_background();
                }
            }
        }
    }
}

pub struct Response {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Server {
    fn child(&mut self) -> &mut Child {
        match &mut self.runner {
            Runner::Process(child) => child,
            Runner::InProcess { .. } => panic!("an in-process node has no process"),
        }
    }

    /// The process id, for `kill -9`.
    pub fn pid(&self) -> u32 {
        match &self.runner {
            Runner::Process(child) => child.id(),
            Runner::InProcess { .. } => panic!("an in-process node has no process"),
        }
    }

    /// Whether the process is still running (it has not exited or crashed).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child().try_wait(), Ok(None))
    }

    /// Waits for the process to end (after a kill), reaping it.
    pub fn wait(&mut self) {
        let _ = self.child().wait();
    }

    /// The clock of a node started by [`Database::spawn_app`].
    pub fn clock(&self) -> &ManualClock {
        match &self.runner {
            Runner::InProcess { clock, .. } => clock,
            Runner::Process(_) => panic!("a `latchkey serve` process runs on the machine's clock"),
        }
    }

    /// The node's time, in Unix seconds.
    pub fn now(&self) -> u64 {
        latchkey_core::Clock::now(self.clock())
    }

    /// The mail a node started by [`Database::spawn_app`] has sent.
    pub fn mail(&self) -> &CapturedMail {
        match &self.runner {
            Runner::InProcess { mail, .. } => mail,
            Runner::Process(_) => panic!("a `latchkey serve` process sends its mail to outbox/"),
        }
    }

    /// Like [`Server::post`], but a transport failure (the node is gone, or
    /// no answer within `timeout`) is returned rather than a panic.
    pub fn try_post(
        &self,
        path: &str,
        key: Option<&str>,
        body: &str,
        timeout: std::time::Duration,
    ) -> Result<Response, ureq::Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let mut request = agent
            .post(&format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(key) = key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request.send(body.as_bytes())?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Ok(Response {
            status,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        })
    }

    /// The status of `GET path`, or the transport failure.
    pub fn try_get_status(
        &self,
        path: &str,
        timeout: std::time::Duration,
    ) -> Result<u16, ureq::Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let response = agent.get(&format!("{}{path}", self.url)).call()?;
        Ok(response.status().as_u16())
    }

    pub fn post(&self, path: &str, key: Option<&str>, body: &str) -> Response {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut request = agent
            .post(&format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(key) = key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request.send(body.as_bytes()).expect("the server answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Response {
            status,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        }
    }

    pub fn delete(&self, path: &str, key: Option<&str>) -> Response {
        self.call_without_body(|agent, url| agent.delete(url), path, key)
    }

    pub fn get(&self, path: &str, key: Option<&str>) -> Response {
        self.call_without_body(|agent, url| agent.get(url), path, key)
    }

    /// A request without a body (`method` picks GET, DELETE, …) and its answer.
    fn call_without_body(
        &self,
        method: impl FnOnce(&ureq::Agent, &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody>,
        path: &str,
        key: Option<&str>,
    ) -> Response {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut request = method(&agent, &format!("{}{path}", self.url));
        if let Some(key) = key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request.call().expect("the server answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Response {
            status,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        }
    }

    pub fn authenticate(&self, key: &str, user: &str, otp: &str) -> String {
        let body =
            serde_json::json!({ "username": user, "password": PASSWORD, "otp": otp }).to_string();
        let response = self.post("/api/v1/authenticate", Some(key), &body);
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.body["result"].as_str().unwrap().to_owned()
    }
}

/// The `latchkey-token` binary of this workspace, built if need be.
pub fn token_binary() -> &'static Path {
    latchkey_testkit::token_cli::token_binary(Path::new(env!("CARGO_BIN_EXE_latchkey")))
}

/// A vault folder for the real soft token.
pub struct SoftToken {
    pub home: tempfile::TempDir,
    /// The clock of the in-process node the token is used with: its codes
    /// are for that clock's time (`latchkey-token --now`).
    clock: Option<ManualClock>,
}

impl SoftToken {
    pub fn new() -> Self {
        SoftToken {
            home: tempfile::tempdir().unwrap(),
            clock: None,
        }
    }

    /// A token whose codes follow the moved clock of `server` (a node
    /// started by [`Database::spawn_app`]).
    pub fn following(server: &Server) -> Self {
        SoftToken {
            clock: Some(server.clock().clone()),
            ..SoftToken::new()
        }
    }

    pub fn run(&self, args: &[&str], input: &[&str]) -> Output {
        let now = self
            .clock
            .as_ref()
            .map(|clock| latchkey_core::Clock::now(clock).to_string());
        let mut command = Command::new(token_binary());
        command
            .arg("--pin-stdin")
            .args(now.iter().flat_map(|now| ["--now", now.as_str()]))
            .args(args)
            .env("LATCHKEY_TOKEN_HOME", self.home.path())
            .env("LATCHKEY_TOKEN_TEST_KDF", "cheap");
        run_with_input(command, input)
    }

    pub fn code(&self, pin: &str) -> Output {
        self.run(&["code"], &[pin])
    }

    /// The vault's token records.
    pub fn records(&self) -> Vec<latchkey_token::TokenRecord> {
        std::fs::read_dir(self.home.path())
            .unwrap()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("token-")
            })
            .map(|path| {
                latchkey_token::TokenRecord::from_json(&std::fs::read(path).unwrap()).unwrap()
            })
            .collect()
    }

    /// Five wrong PINs, the first four refused and the fifth locking the
    /// token (exit code 4); the answer to the fifth. The PIN is one the
    /// vault's 10-bit check refuses (a wrong PIN that passes it shows a
    /// decoy code by design, see `latchkey_testkit::pins`).
    pub fn lock_with_wrong_pins(&self) -> Output {
        let wrong = latchkey_testkit::pins::refused_pins(&self.records(), &[PIN])
            .next()
            .expect("a PIN the vault refuses");
        for attempt in 1..=5 {
            let out = self.code(&wrong);
            let expected = if attempt < 5 { 3 } else { 4 };
            assert_eq!(
                out.status.code(),
                Some(expected),
                "wrong PIN {attempt}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            if attempt == 5 {
                return out;
            }
        }
        unreachable!("the fifth wrong PIN returned")
    }

    pub fn otp(&self) -> String {
        let out = self.code(PIN);
        assert!(
            out.status.success(),
            "code: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The finished mails in the outbox of a served node, oldest first.
pub fn outbox_mails(db: &Database) -> Vec<String> {
    let mut mails: Vec<(PathBuf, String)> = std::fs::read_dir(db.dir.path().join("outbox"))
        .map(|entries| {
            entries
                .filter_map(|e| {
                    // Only finished mails: one being written is a hidden `.part` file.
                    let path = e.ok()?.path();
                    if path.extension()? != "eml" {
                        return None;
                    }
                    let text = std::fs::read_to_string(&path).ok()?;
                    Some((path, text))
                })
                .collect()
        })
        .unwrap_or_default();
    mails.sort();
    mails.into_iter().map(|(_, text)| text).collect()
}

/// Waits for a served node's background mail task to write `count` mails
/// (the answer does not wait for it); what is there after five seconds.
pub fn wait_for_mails(db: &Database, count: usize) -> Vec<String> {
    for _ in 0..100 {
        let mails = outbox_mails(db);
        if mails.len() >= count {
            return mails;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    outbox_mails(db)
}

pub mod browser;
pub mod console;
pub mod phone;
pub mod web;

impl SoftToken {
    /// Activates the token `latchkey admin token issue … --json` printed,
    /// with the PIN [`PIN`]; panics with the token's message on failure.
    pub fn activate(&self, server: &Server, issued: &serde_json::Value) {
        let out = self.run(
            &[
                "activate",
                "--server",
                &server.url,
                "--serial",
                issued["serial"].as_str().expect("a serial"),
                "--activation-code",
                issued["activation_code"]
                    .as_str()
                    .expect("an activation code"),
            ],
            &[PIN, PIN],
        );
        assert!(out.status.success(), "activate: {}", stderr(&out));
    }

    /// The PIN Reset Code `forgot-pin` shows (grouped, 1234-5678-9012).
    pub fn reset_code(&self) -> String {
        reset_code_in(&stderr(&self.run(&["forgot-pin"], &[])))
            .expect("forgot-pin shows the PIN Reset Code")
    }
}

/// The first grouped PIN Reset Code (three groups of four digits) in `text`.
pub fn reset_code_in(text: &str) -> Option<String> {
    latchkey_testkit::token_cli::reset_code_in(text).map(|code| code.grouped())
}

/// A PostgreSQL server of the test's own (initdb into a temporary folder,
/// its own port), so a test can stop and start it without touching the
/// machine's shared one. Stopped when dropped. Fails loudly when the
/// PostgreSQL server programs are not installed.
pub struct ThrowawayPostgres {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    folder: tempfile::TempDir,
}

impl ThrowawayPostgres {
    /// Creates the cluster and starts it.
    pub fn start() -> ThrowawayPostgres {
        let bin = postgres_bin_dir();
        let folder = tempfile::tempdir().unwrap();
        let data = folder.path().join("data");
        if running_as_root() {
            // PostgreSQL refuses to run as root; its own user owns the folder.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(folder.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown the cluster folder to postgres");
        }
        let out = as_postgres_user(&bin.join("initdb"))
            .args(["--auth=trust", "--username=postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let cluster = ThrowawayPostgres {
            bin,
            data,
            port,
            folder,
        };
        cluster.start_server();
        cluster
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.folder.path().display()
        );
        let out = as_postgres_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-o", &options, "-l"])
            .arg(self.folder.path().join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(self.folder.path().join("server.log")).unwrap_or_default()
        );
    }

    /// Stops the server, ending every connection ("fast" shutdown).
    pub fn stop_server(&self) {
        let out = as_postgres_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        let _ = as_postgres_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The newest `/usr/lib/postgresql/N/bin` that has `initdb`.
fn postgres_bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect(
        "the PostgreSQL server programs (initdb, pg_ctl) must be installed under \
         /usr/lib/postgresql/*/bin (Debian package postgresql; .ci/run installs it)",
    )
}

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id runs");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// `program` run as the `postgres` user when we are root (initdb and
/// postgres refuse root), else as ourselves.
fn as_postgres_user(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One number from the test database (SQLite or PostgreSQL).
pub fn query_i64(url: &str, sql: &str) -> i64 {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = rest.split_once('?').map_or(rest, |(path, _)| path);
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        return conn.query_row(sql, [], |row| row.get(0)).unwrap();
    }
    tokio_runtime().block_on(async {
        use sqlx::{Connection, Row};
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get::<i64, _>(0)
    })
}
