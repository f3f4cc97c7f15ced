//! Directory users (DESIGN.md "Directory users (LDAP / Active Directory)"):
//! an OpenLDAP or Active Directory server as the source of users and their
//! first factor.
//!
//! A password is checked by **search, then bind**: the service account (or
//! an anonymous connection) searches `base_dn` with `user_filter`, the user
//! name escaped as RFC 4515 §3 says; exactly one entry must match; then a
//! separate connection binds as that entry's DN with the password. An empty
//! or blank password is refused before any bind, since an empty simple bind
//! "succeeds" as an anonymous one (RFC 4513 §5.1.2).
//!
//! Several URLs are tried in order, each with `timeout_seconds` for the
//! connection and for each operation; a server that did not answer is
//! skipped for [`SKIP_AFTER_FAILURE`] while another one is left to try.
//! TLS is rustls: `ldaps://`, or StartTLS on `ldap://`, trusting `ca_file`
//! or else the system's roots.
//!
//! Errors tell the caller "directory down" ([`AuthError::Unavailable`])
//! apart from "refused" (every other variant) so that it can log the cause
//! and show its generic message either way.

mod ad;
mod config;
mod entry;
mod tls;

#[cfg(feature = "slapd-fixture")]
pub mod slapd;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, SearchOptions};
use rustls::ClientConfig;
use zeroize::Zeroizing;

pub use ad::{
    AccountRefusal, AdAccount, UF_ACCOUNTDISABLE, filetime_to_system_time, guid_from_string,
    guid_to_string,
};
pub use config::{ConfigError, DEFAULT_USER_FILTER, DirectoryConfig, Urls};
pub use entry::{DirectoryUser, Role};

use entry::EntryShape;

/// How long a server that did not answer is skipped (while another one is
/// left to try).
pub const SKIP_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// The directory: checked configuration plus each server's recent health.
/// Cheap to clone; clones share the health.
#[derive(Clone)]
pub struct Directory {
    inner: Arc<Inner>,
}

struct Inner {
    servers: Vec<Server>,
    starttls: bool,
    tls: Option<Arc<ClientConfig>>,
    service: Option<(String, Zeroizing<String>)>,
    base_dn: String,
    user_filter: String,
    shape: EntryShape,
    timeout: Duration,
    password_help_url: Option<String>,
    sync_interval: Option<Duration>,
}

struct Server {
    url: String,
    tls: bool,
    down_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field(
                "urls",
                &self
                    .inner
                    .servers
                    .iter()
                    .map(|s| s.url.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("base_dn", &self.inner.base_dn)
            .field(
                "service_account",
                &self.inner.service.as_ref().map(|(dn, _)| dn),
            )
            .finish_non_exhaustive()
    }
}

/// Which step of the work a server failed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Not tried: it did not answer a moment ago.
    Skipped,
    /// Connecting (TCP, StartTLS, TLS handshake).
    Connect,
    /// The service account's bind.
    ServiceBind,
    /// The search.
    Search,
    /// The user's bind (a server error, not a wrong password).
    UserBind,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Skipped => "skipped (did not answer a moment ago)",
            Stage::Connect => "connect",
            Stage::ServiceBind => "service account bind",
            Stage::Search => "search",
            Stage::UserBind => "user bind",
        })
    }
}

/// One server's failure within an [`Unavailable`].
#[derive(Debug)]
pub struct ServerFailure {
    /// The server's URL.
    pub url: String,
    /// Where it failed.
    pub stage: Stage,
    /// The client library's error; none for [`Stage::Skipped`].
    pub error: Option<LdapError>,
}

/// No server could do the work: each one's failure, in the order tried.
#[derive(Debug, thiserror::Error)]
#[error("no directory server could answer: {}", describe(.failures))]
pub struct Unavailable {
    /// Each server's failure.
    pub failures: Vec<ServerFailure>,
}

fn describe(failures: &[ServerFailure]) -> String {
    failures
        .iter()
        .map(|f| match &f.error {
            Some(e) => format!("{}: {}: {e}", f.url, f.stage),
            None => format!("{}: {}", f.url, f.stage),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why [`Directory::lookup`] or [`Directory::lookup_by_id`] found no user.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// No entry matches.
    #[error("no directory entry matches")]
    NotFound,
    /// More than one entry matches: refused rather than guessed.
    #[error("more than one directory entry matches")]
    Ambiguous,
    /// The entry lacks an attribute the configuration relies on.
    #[error("the directory entry {dn} has no usable {attribute}")]
    Incomplete {
        /// The entry.
        dn: String,
        /// The attribute (e.g. the `id_attribute`).
        attribute: String,
    },
    /// No server answered.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// Why [`Directory::authenticate`] refused. Everything but
/// [`AuthError::Unavailable`] is "refused"; show the same message for all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The password is empty or blank; nothing was asked of the directory.
    #[error("empty or blank password")]
    EmptyPassword,
    /// No entry matches the name.
    #[error("no directory entry matches")]
    NotFound,
    /// More than one entry matches the name.
    #[error("more than one directory entry matches")]
    Ambiguous,
    /// The entry lacks an attribute the configuration relies on.
    #[error("the directory entry {dn} has no usable {attribute}")]
    Incomplete {
        /// The entry.
        dn: String,
        /// The attribute.
        attribute: String,
    },
    /// The bind as the entry was refused (wrong password, or the server
    /// refused that account).
    #[error("the directory refused the password")]
    InvalidCredentials,
    /// The entry's AD account state refuses it (no bind was tried).
    #[error("{0}")]
    AccountState(AccountRefusal),
    /// No server answered.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

impl From<LookupError> for AuthError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::NotFound => AuthError::NotFound,
            LookupError::Ambiguous => AuthError::Ambiguous,
            LookupError::Incomplete { dn, attribute } => AuthError::Incomplete { dn, attribute },
            LookupError::Unavailable(u) => AuthError::Unavailable(u),
        }
    }
}

/// Result codes that mean "this server cannot serve now" (RFC 4511
/// §4.1.9: busy, unavailable, other) rather than "refused".
const SERVER_TROUBLE: [u32; 3] = [51, 52, 80];
/// invalidCredentials.
const INVALID_CREDENTIALS: u32 = 49;
/// sizeLimitExceeded: more entries than the two asked for.
const SIZE_LIMIT_EXCEEDED: u32 = 4;

impl Directory {
    /// Checks the configuration (URLs, CA file, base DN, filter, service
    /// account, attributes) and prepares TLS. Connects to nothing.
    pub fn new(config: &DirectoryConfig) -> Result<Directory, ConfigError> {
        let urls = config.url.as_slice();
        if urls.is_empty() {
            return Err(ConfigError::NoUrl);
        }
        let mut servers = Vec::with_capacity(urls.len());
        for raw in urls {
            let url = url::Url::parse(raw).map_err(|source| ConfigError::BadUrl {
                url: raw.clone(),
                source,
            })?;
            let tls = match url.scheme() {
                "ldaps" => true,
                "ldap" => config.starttls,
                other => {
                    return Err(ConfigError::BadScheme {
                        url: raw.clone(),
                        scheme: other.into(),
                    });
                }
            };
            if url.host_str().is_none_or(str::is_empty)
                || !matches!(url.path(), "" | "/")
                || url.query().is_some()
                || !url.username().is_empty()
                || url.password().is_some()
            {
                return Err(ConfigError::UrlShape { url: raw.clone() });
            }
            servers.push(Server {
                url: raw.clone(),
                tls,
                down_until: Mutex::new(None),
            });
        }

        let ca = match &config.ca_file {
            Some(path) => Some(tls::read_ca_file(path)?),
            None => None,
        };
        let tls = if servers.iter().any(|s| s.tls) {
            Some(tls::client_config(ca)?)
        } else {
            None
        };

        if config.base_dn.trim().is_empty() {
            return Err(ConfigError::MissingBaseDn);
        }
        if !config.user_filter.contains("{username}") {
            return Err(ConfigError::FilterWithoutUsername {
                filter: config.user_filter.clone(),
            });
        }
        if ldap3::parse_filter(config.user_filter.replace("{username}", "x")).is_err() {
            return Err(ConfigError::BadFilter {
                filter: config.user_filter.clone(),
            });
        }

        let password = match (&config.bind_password, &config.bind_password_file) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoPasswords),
            (Some(p), None) => Some(p.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|source| {
                    ConfigError::PasswordFileUnreadable {
                        path: path.clone(),
                        source,
                    }
                })?;
                let text = Zeroizing::new(text);
                let line = text
                    .strip_suffix('\n')
                    .map(|t| t.strip_suffix('\r').unwrap_or(t))
                    .unwrap_or(&text);
                Some(Zeroizing::new(line.to_owned()))
            }
            (None, None) => None,
        };
        let service = match (&config.bind_dn, password) {
            (Some(dn), Some(pw)) => Some((dn.clone(), pw)),
            (Some(_), None) => return Err(ConfigError::DnWithoutPassword),
            (None, Some(_)) => return Err(ConfigError::PasswordWithoutDn),
            (None, None) => None,
        };

        for (key, value) in [
            ("id_attribute", &config.id_attribute),
            ("email_attribute", &config.email_attribute),
            ("name_attribute", &config.name_attribute),
        ] {
            if value.trim().is_empty() {
                return Err(ConfigError::EmptyAttribute { key });
            }
        }
        if config.group_roles.keys().any(|dn| dn.trim().is_empty()) {
            return Err(ConfigError::EmptyGroupDn);
        }
        if config.timeout_seconds == 0 {
            return Err(ConfigError::ZeroTimeout);
        }
        if config.sync_minutes == Some(0) {
            return Err(ConfigError::ZeroSyncMinutes);
        }
        if let Some(help) = &config.password_help_url {
            let ok = url::Url::parse(help)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .unwrap_or(false);
            if !ok {
                return Err(ConfigError::BadHelpUrl { url: help.clone() });
            }
        }

        Ok(Directory {
            inner: Arc::new(Inner {
                servers,
                starttls: config.starttls,
                tls,
                service,
                base_dn: config.base_dn.clone(),
                user_filter: config.user_filter.clone(),
                shape: EntryShape::new(config),
                timeout: Duration::from_secs(config.timeout_seconds),
                password_help_url: config.password_help_url.clone(),
                sync_interval: config.sync_minutes.map(|m| Duration::from_secs(m * 60)),
            }),
        })
    }

    /// Where "I've forgotten my password" sends directory users.
    pub fn password_help_url(&self) -> Option<&str> {
        self.inner.password_help_url.as_deref()
    }

    /// How often `serve` syncs accounts; none when not on a schedule.
    pub fn sync_interval(&self) -> Option<Duration> {
        self.inner.sync_interval
    }

    /// The connect and per-operation timeout (per server).
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Checks `password` for `username` by search, then bind. On success,
    /// the user's entry; a refusal names its reason (for the log only).
    #[tracing::instrument(skip(self, password))]
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<DirectoryUser, AuthError> {
        if password.trim().is_empty() {
            return Err(AuthError::EmptyPassword);
        }
        let (server, user) = self.find_by_name(username).await?;
        if let Some(refusal) = user.refusal {
            return Err(AuthError::AccountState(refusal));
        }
        self.bind_as(server, &user.dn, password).await?;
        Ok(user)
    }

    /// What `username` resolves to (the search alone, no password): for
    /// `directory test` and for creating an account before first sign-in.
    pub async fn lookup(&self, username: &str) -> Result<DirectoryUser, LookupError> {
        self.find_by_name(username).await.map(|(_, user)| user)
    }

    /// The second half of search, then bind, for an entry [`Directory::lookup`]
    /// found: binds as `dn` with `password` on a connection of its own. A
    /// caller that throttles checks its throttle between the two halves, so
    /// a waiting account binds nothing. An empty or blank password is
    /// refused before any bind.
    #[tracing::instrument(skip(self, password))]
    pub async fn bind_user(&self, dn: &str, password: &str) -> Result<(), AuthError> {
        if password.trim().is_empty() {
            return Err(AuthError::EmptyPassword);
        }
        self.bind_as(0, dn, password).await
    }

    /// Binds as a DN no entry has, answer ignored: what a wrong password
    /// costs, spent for a name with no entry, so that how long a refusal
    /// takes does not tell which names the directory knows.
    pub async fn dummy_bind(&self, password: &str) {
        if password.trim().is_empty() {
            return;
        }
        let dn = format!("cn=latchkey-no-such-entry,{}", self.inner.base_dn);
        let _ = self.bind_as(0, &dn, password).await;
    }

    /// The entry whose `id_attribute` is `id` (as [`DirectoryUser::id`]
    /// shows it), if `user_filter` still accepts it: for sync. An entry
    /// gone, renamed out of `base_dn` or out of the filter is
    /// [`LookupError::NotFound`].
    pub async fn lookup_by_id(&self, id: &str) -> Result<DirectoryUser, LookupError> {
        let Some(id_filter) = self.inner.shape.id_filter(id) else {
            // Not an id this directory can have (e.g. not a GUID on AD).
            return Err(LookupError::NotFound);
        };
        let anyone = self.inner.user_filter.replace("{username}", "*");
        let filter = format!("(&{id_filter}{anyone})");
        self.search_one(&filter, None).await.map(|(_, user)| user)
    }

    async fn find_by_name(&self, username: &str) -> Result<(usize, DirectoryUser), LookupError> {
        if username.trim().is_empty() {
            return Err(LookupError::NotFound);
        }
        let filter = self
            .inner
            .user_filter
            .replace("{username}", &ldap3::ldap_escape(username));
        self.search_one(&filter, Some(username)).await
    }

    /// Searches on the first server that answers; exactly one entry.
    async fn search_one(
        &self,
        filter: &str,
        typed_name: Option<&str>,
    ) -> Result<(usize, DirectoryUser), LookupError> {
        let inner = &self.inner;
        let mut failures = Vec::new();
        for index in self.order(None, &mut failures) {
            let server = &inner.servers[index];
            let mut ldap = match self.connect(server).await {
                Ok(ldap) => ldap,
                Err(error) => {
                    self.failed(index, Stage::Connect, error, &mut failures);
                    continue;
                }
            };
            if let Some((dn, password)) = &inner.service {
                let bound = ldap
                    .with_timeout(inner.timeout)
                    .simple_bind(dn, password)
                    .await
                    .and_then(|r| r.success());
                if let Err(error) = bound {
                    let _ = ldap.unbind().await;
                    self.failed(index, Stage::ServiceBind, error, &mut failures);
                    continue;
                }
            }
            let found = ldap
                .with_timeout(inner.timeout)
                .with_search_options(SearchOptions::new().sizelimit(2))
                .search(
                    &inner.base_dn,
                    Scope::Subtree,
                    filter,
                    inner.shape.requested(),
                )
                .await;
            let _ = ldap.unbind().await;
            let entries = match found {
                Ok(result) if matches!(result.1.rc, 0 | SIZE_LIMIT_EXCEEDED) => result.0,
                Ok(result) => {
                    let error = LdapError::from(result.1);
                    self.failed(index, Stage::Search, error, &mut failures);
                    continue;
                }
                Err(error) => {
                    self.failed(index, Stage::Search, error, &mut failures);
                    continue;
                }
            };
            self.answered(index);
            let mut entries = entries.into_iter().map(SearchEntry::construct);
            return match (entries.next(), entries.next()) {
                (None, _) => Err(LookupError::NotFound),
                (Some(_), Some(_)) => Err(LookupError::Ambiguous),
                (Some(entry), None) => inner
                    .shape
                    .user(&entry, typed_name, SystemTime::now())
                    .map(|user| (index, user)),
            };
        }
        Err(Unavailable { failures }.into())
    }

    /// Binds as `dn` on a new connection, to the server that found the
    /// entry first, then the others.
    async fn bind_as(&self, found_on: usize, dn: &str, password: &str) -> Result<(), AuthError> {
        let inner = &self.inner;
        let mut failures = Vec::new();
        for index in self.order(Some(found_on), &mut failures) {
            let server = &inner.servers[index];
            let mut ldap = match self.connect(server).await {
                Ok(ldap) => ldap,
                Err(error) => {
                    self.failed(index, Stage::Connect, error, &mut failures);
                    continue;
                }
            };
            let bound = ldap
                .with_timeout(inner.timeout)
                .simple_bind(dn, password)
                .await;
            let _ = ldap.unbind().await;
            match bound {
                Ok(result) if result.rc == 0 => {
                    self.answered(index);
                    return Ok(());
                }
                Ok(result) if SERVER_TROUBLE.contains(&result.rc) => {
                    self.failed(index, Stage::UserBind, result.into(), &mut failures);
                }
                Ok(result) => {
                    self.answered(index);
                    if result.rc != INVALID_CREDENTIALS {
                        tracing::info!(rc = result.rc, text = %result.text, "directory refused a user bind");
                    }
                    return Err(AuthError::InvalidCredentials);
                }
                Err(error) => self.failed(index, Stage::UserBind, error, &mut failures),
            }
        }
        Err(Unavailable { failures }.into())
    }

    async fn connect(&self, server: &Server) -> Result<Ldap, LdapError> {
        let inner = &self.inner;
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(inner.timeout)
            .set_starttls(inner.starttls);
        if let (true, Some(tls)) = (server.tls, &inner.tls) {
            settings = settings.set_config(tls.clone());
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &server.url).await?;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    /// The servers to try: `first` if given, then the rest in order, less
    /// those that did not answer a moment ago — unless that would leave
    /// none, when all are tried (so a lone server is asked again at once
    /// when it is back).
    fn order(&self, first: Option<usize>, failures: &mut Vec<ServerFailure>) -> Vec<usize> {
        let servers = &self.inner.servers;
        let mut all: Vec<usize> = (0..servers.len()).collect();
        if let Some(first) = first {
            all.retain(|&i| i != first);
            all.insert(0, first);
        }
        let now = Instant::now();
        let (up, down): (Vec<usize>, Vec<usize>) = all.into_iter().partition(|&i| {
            let until = servers[i]
                .down_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            until.is_none_or(|t| t <= now)
        });
        if up.is_empty() {
            return down;
        }
        failures.extend(down.into_iter().map(|i| ServerFailure {
            url: servers[i].url.clone(),
            stage: Stage::Skipped,
            error: None,
        }));
        up
    }

    fn failed(
        &self,
        index: usize,
        stage: Stage,
        error: LdapError,
        failures: &mut Vec<ServerFailure>,
    ) {
        let server = &self.inner.servers[index];
        if did_not_answer(&error) {
            *server
                .down_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some(Instant::now() + SKIP_AFTER_FAILURE);
        }
        tracing::warn!(url = %server.url, %stage, %error, "directory server failed");
        failures.push(ServerFailure {
            url: server.url.clone(),
            stage,
            error: Some(error),
        });
    }

    fn answered(&self, index: usize) {
        *self.inner.servers[index]
            .down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// A timeout or a broken connection: skip the server for a while. A TLS
/// failure or an LDAP error answered, so it is not skipped.
fn did_not_answer(error: &LdapError) -> bool {
    match error {
        LdapError::Timeout { .. }
        | LdapError::EndOfStream
        | LdapError::OpSend { .. }
        | LdapError::ResultRecv { .. } => true,
        LdapError::Io { source } => source.kind() != std::io::ErrorKind::InvalidData,
        LdapError::LdapResult { result } => SERVER_TROUBLE.contains(&result.rc),
        _ => false,
    }
}
