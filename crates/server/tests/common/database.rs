//! The database of one test (a fresh SQLite file or PostgreSQL database),
//! the admin CLI against it, and the nodes that serve it: the real
//! `latchkey serve`, or the same router in the test's process on a moved
//! clock.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use latchkey_core::ManualClock;
use latchkey_testkit::CapturedMail;

use super::server::Runner;
use super::{MASTER_KEY, PASSWORD, Server, fresh_postgres};

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
            latchkey_server::http::AppState::new(latchkey_server::http::Shared {
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
            })
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
