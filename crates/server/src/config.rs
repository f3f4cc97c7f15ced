//! One typed configuration: defaults, then a TOML file, then `LATCHKEY_*`
//! environment variables, then command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Everything the server and the admin CLI need to know. Its `Debug` leaves
/// out the master key, the metrics token and the passwords in database and
/// SMTP URLs.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder for the SQLite file, the master key and the mail outbox.
    pub data_dir: PathBuf,
    /// A database URL; SQLite in `data_dir` when absent.
    pub database: Option<String>,
    /// The public base URL used in links (never the request's Host).
    pub public_url: Option<String>,
    /// The origin the phone app is served from when it is not this
    /// server's own (`https://app.example.org`; the app is at `/app/` there):
    /// phone activation links point at it, the app calls the API at
    /// `public_url`, and the app's API calls from it are answered with CORS.
    /// Checked and written in its normal form by [`Config::load`].
    pub app_origin: Option<String>,
    /// SMTP server for mail (`smtp://host:port`, `smtps://…`, with
    /// `?tls=required` for STARTTLS); without one, mail goes to `outbox/`
    /// in the data folder.
    pub smtp_url: Option<String>,
    /// The sender of the portal's mail.
    pub mail_from: String,
    /// How users reach the help desk (a phone number, an address, a URL):
    /// shown on every portal page and at the foot of every mail.
    pub helpdesk_contact: Option<String>,
    /// The master key as 64 hex digits; else the key file in `data_dir`.
    #[serde(skip)]
    pub master_key: Option<String>,
    /// Logs as JSON lines instead of text.
    pub log_json: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How many Argon2 hashes may run at once.
    pub hash_parallelism: usize,
    /// The issuer name shown in authenticator apps.
    pub issuer: String,
    /// Consecutive OTP failures that lock a token.
    pub otp_failure_limit: u32,
    /// The RADIUS listener (`[radius]`).
    pub radius: RadiusConfig,
    /// Directory users (`[directory]`); none: every user is local.
    pub directory: Option<latchkey_directory::DirectoryConfig>,
    /// PEM certificate chain to serve HTTPS with (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// A plain-HTTP address that answers every request with a redirect to
    /// the public URL.
    pub redirect_http_listen: Option<SocketAddr>,
    /// A separate address for `/metrics`; the public listener then answers
    /// it 404.
    pub metrics_listen: Option<SocketAddr>,
    /// A bearer token `/metrics` asks for; without it, 401.
    pub metrics_token: Option<String>,
    /// During a master-key rotation, the key being replaced (64 hex
    /// digits); else `master.key.previous` in `data_dir` if there is one.
    #[serde(skip)]
    pub previous_master_key: Option<String>,
}

/// `[radius]`: where RADIUS is answered (DESIGN.md, "RADIUS").
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RadiusConfig {
    /// UDP address to answer RADIUS on (e.g. `0.0.0.0:1812`); none: no RADIUS.
    pub listen: Option<SocketAddr>,
}

impl Default for Config {
    #[allow(
        clippy::expect_used,
        reason = "each expect here names the invariant that makes it unreachable"
    )]
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().expect("a valid address"),
            data_dir: PathBuf::from("latchkey-data"),
            database: None,
            public_url: None,
            app_origin: None,
            smtp_url: None,
            mail_from: "Latchkey <latchkey@localhost>".into(),
            helpdesk_contact: None,
            master_key: None,
            log_json: false,
            trusted_proxies: Vec::new(),
            hash_parallelism: 4,
            issuer: "Latchkey".into(),
            otp_failure_limit: 10,
            radius: RadiusConfig::default(),
            directory: None,
            tls_cert: None,
            tls_key: None,
            redirect_http_listen: None,
            metrics_listen: None,
            metrics_token: None,
            previous_master_key: None,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database.as_deref().map(without_password))
            .field("public_url", &self.public_url)
            .field("app_origin", &self.app_origin)
            .field("smtp_url", &self.smtp_url.as_deref().map(without_password))
            .field("mail_from", &self.mail_from)
            .field("helpdesk_contact", &self.helpdesk_contact)
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "[redacted]"),
            )
            .field("log_json", &self.log_json)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("hash_parallelism", &self.hash_parallelism)
            .field("issuer", &self.issuer)
            .field("otp_failure_limit", &self.otp_failure_limit)
            .field("radius", &self.radius)
            .field("directory", &self.directory)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("redirect_http_listen", &self.redirect_http_listen)
            .field("metrics_listen", &self.metrics_listen)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "previous_master_key",
                &self.previous_master_key.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// `app_origin` in the form browsers send in `Origin`
/// (`https://app.example.org`, lower case, no default port), or why it is
/// not an origin: a scheme (https, or http for a test on loopback), a host,
/// perhaps a port, and nothing else.
pub fn app_origin(text: &str) -> Result<String, String> {
    let shape = "give an origin like https://app.example.org (scheme, host and port only)";
    let url = url::Url::parse(text.trim()).map_err(|_| format!("not a URL; {shape}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!("the scheme must be https; {shape}"));
    }
    if url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(shape.into());
    }
    Ok(url.origin().ascii_serialization())
}

/// `url` with any password in it replaced; a URL that does not parse is
/// not shown at all, since where its password is cannot be told.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("redacted"));
            }
            parsed.to_string()
        }
        Err(_) => "[not a URL; not shown]".into(),
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The file is not valid.
    #[error("the configuration file {0} is not valid: {1}")]
    Parse(PathBuf, toml::de::Error),
    /// An environment variable is not valid.
    #[error("the environment variable {0} is not valid: {1}")]
    Env(&'static str, String),
    /// A key in the file is not valid.
    #[error("the configuration key {0} is not valid: {1}")]
    Key(&'static str, String),
}

/// Where the flags say things are.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct LocationFlags {
    /// Data folder (SQLite file, master key, mail outbox) [default: ./latchkey-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (sqlite://… or postgres://…) [default: SQLite in the data folder]
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// TOML configuration file
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl Config {
    /// Loads defaults → file → environment → flags.
    pub fn load(flags: &LocationFlags, listen: Option<SocketAddr>) -> Result<Config, ConfigError> {
        let file = flags
            .config
            .clone()
            .or_else(|| std::env::var_os("LATCHKEY_CONFIG").map(PathBuf::from));
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError::Read(path.clone(), e))?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse(path, e))?
            }
            None => Config::default(),
        };
        if let Ok(value) = std::env::var("LATCHKEY_LISTEN") {
            config.listen = value.parse().map_err(|_| {
                ConfigError::Env(
                    "LATCHKEY_LISTEN",
                    "not an address like 127.0.0.1:8080".into(),
                )
            })?;
        }
        if let Some(value) = std::env::var_os("LATCHKEY_DATA_DIR") {
            config.data_dir = value.into();
        }
        if let Ok(value) = std::env::var("LATCHKEY_DATABASE") {
            config.database = Some(value);
        }
        if let Ok(value) = std::env::var("LATCHKEY_PUBLIC_URL") {
            config.public_url = Some(value);
        }
        if let Some(value) = &config.app_origin {
            config.app_origin =
                Some(app_origin(value).map_err(|e| ConfigError::Key("app_origin", e))?);
        }
        if let Ok(value) = std::env::var("LATCHKEY_APP_ORIGIN") {
            config.app_origin = match value.trim() {
                // Set but empty: the app stays on this server's origin.
                "" => None,
                value => Some(
                    app_origin(value).map_err(|e| ConfigError::Env("LATCHKEY_APP_ORIGIN", e))?,
                ),
            };
        }
        if let Ok(value) = std::env::var("LATCHKEY_SMTP_URL") {
            config.smtp_url = Some(value);
        }
        if let Ok(value) = std::env::var("LATCHKEY_MAIL_FROM") {
            config.mail_from = value;
        }
        if let Ok(value) = std::env::var("LATCHKEY_HELPDESK_CONTACT") {
            config.helpdesk_contact = Some(value);
        }
        if let Ok(value) = std::env::var("LATCHKEY_MASTER_KEY") {
            config.master_key = Some(value);
        }
        if let Ok(value) = std::env::var("LATCHKEY_LOG_JSON") {
            config.log_json = matches!(value.as_str(), "1" | "true" | "yes");
        }
        if let Ok(value) = std::env::var("LATCHKEY_RADIUS_LISTEN") {
            config.radius.listen = Some(value.parse().map_err(|_| {
                ConfigError::Env(
                    "LATCHKEY_RADIUS_LISTEN",
                    "not an address like 0.0.0.0:1812".into(),
                )
            })?);
        }
        directory_from_env(&mut config.directory)?;
        if let Some(dir) = &flags.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(database) = &flags.database {
            config.database = Some(database.clone());
        }
        if let Some(value) = std::env::var_os("LATCHKEY_TLS_CERT") {
            config.tls_cert = Some(value.into());
        }
        if let Some(value) = std::env::var_os("LATCHKEY_TLS_KEY") {
            config.tls_key = Some(value.into());
        }
        for (variable, slot) in [
            (
                "LATCHKEY_REDIRECT_HTTP_LISTEN",
                &mut config.redirect_http_listen,
            ),
            ("LATCHKEY_METRICS_LISTEN", &mut config.metrics_listen),
        ] {
            if let Ok(value) = std::env::var(variable) {
                *slot = Some(value.parse().map_err(|_| {
                    ConfigError::Env(variable, "not an address like 127.0.0.1:9090".into())
                })?);
            }
        }
        if let Ok(value) = std::env::var("LATCHKEY_METRICS_TOKEN") {
            config.metrics_token = Some(value);
        }
        if let Ok(value) = std::env::var("LATCHKEY_PREVIOUS_MASTER_KEY") {
            config.previous_master_key = Some(value);
        }
        if let Some(listen) = listen {
            config.listen = listen;
        }
        Ok(config)
    }

    /// The public base URL links are built from (S34): the configured one,
    /// else the address the server is bound to. Never the request's `Host` header.
    pub fn base_url(&self, bound: std::net::SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.tls_cert.is_some() => format!("https://{bound}"),
            None => format!("http://{bound}"),
        }
    }

    /// The folder mail goes to when no SMTP server is configured.
    pub fn outbox(&self) -> std::path::PathBuf {
        self.data_dir.join("outbox")
    }

    /// The database URL: the configured one, or the SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("latchkey.db").display()
            ),
        }
    }
}

/// `LATCHKEY_DIRECTORY_<KEY>` for each key of `[directory]`, over the
/// file's table (or making one, given at least the URL).
fn directory_from_env(
    directory: &mut Option<latchkey_directory::DirectoryConfig>,
) -> Result<(), ConfigError> {
    fn text(variable: &'static str) -> Result<Option<String>, ConfigError> {
        match std::env::var(variable) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(ConfigError::Env(variable, "not valid UTF-8".into()))
            }
        }
    }
    fn flag(variable: &'static str, value: &str) -> Result<bool, ConfigError> {
        match value {
            "1" | "true" | "yes" => Ok(true),
            "0" | "false" | "no" => Ok(false),
            _ => Err(ConfigError::Env(variable, "not true or false".into())),
        }
    }
    fn number(variable: &'static str, value: &str) -> Result<u64, ConfigError> {
        value
            .parse()
            .map_err(|_| ConfigError::Env(variable, "not a whole number".into()))
    }
    if let Some(urls) = text("LATCHKEY_DIRECTORY_URL")? {
        let urls: Vec<String> = urls
            .split([' ', ','])
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        match directory {
            Some(config) => config.url = latchkey_directory::Urls::Many(urls),
            None => {
                let mut config = latchkey_directory::DirectoryConfig::new(&[], "");
                config.url = latchkey_directory::Urls::Many(urls);
                *directory = Some(config);
            }
        }
    }
    let variables: [&'static str; 15] = [
        "LATCHKEY_DIRECTORY_STARTTLS",
        "LATCHKEY_DIRECTORY_CA_FILE",
        "LATCHKEY_DIRECTORY_BIND_DN",
        "LATCHKEY_DIRECTORY_BIND_PASSWORD",
        "LATCHKEY_DIRECTORY_BIND_PASSWORD_FILE",
        "LATCHKEY_DIRECTORY_BASE_DN",
        "LATCHKEY_DIRECTORY_USER_FILTER",
        "LATCHKEY_DIRECTORY_ID_ATTRIBUTE",
        "LATCHKEY_DIRECTORY_EMAIL_ATTRIBUTE",
        "LATCHKEY_DIRECTORY_NAME_ATTRIBUTE",
        "LATCHKEY_DIRECTORY_GROUP_ROLES",
        "LATCHKEY_DIRECTORY_TIMEOUT_SECONDS",
        "LATCHKEY_DIRECTORY_PASSWORD_HELP_URL",
        "LATCHKEY_DIRECTORY_SYNC_MINUTES",
        "LATCHKEY_DIRECTORY_URL",
    ];
    let Some(config) = directory else {
        if let Some(variable) = variables.iter().find(|v| std::env::var_os(v).is_some()) {
            return Err(ConfigError::Env(
                variable,
                "set LATCHKEY_DIRECTORY_URL (or directory.url) too".into(),
            ));
        }
        return Ok(());
    };
    for variable in variables {
        let Some(value) = text(variable)? else {
            continue;
        };
        match variable {
            "LATCHKEY_DIRECTORY_STARTTLS" => config.starttls = flag(variable, &value)?,
            "LATCHKEY_DIRECTORY_CA_FILE" => config.ca_file = Some(value.into()),
            "LATCHKEY_DIRECTORY_BIND_DN" => config.bind_dn = Some(value),
            "LATCHKEY_DIRECTORY_BIND_PASSWORD" => config.bind_password = Some(value.into()),
            "LATCHKEY_DIRECTORY_BIND_PASSWORD_FILE" => {
                config.bind_password_file = Some(value.into())
            }
            "LATCHKEY_DIRECTORY_BASE_DN" => config.base_dn = value,
            "LATCHKEY_DIRECTORY_USER_FILTER" => config.user_filter = value,
            "LATCHKEY_DIRECTORY_ID_ATTRIBUTE" => config.id_attribute = value,
            "LATCHKEY_DIRECTORY_EMAIL_ATTRIBUTE" => config.email_attribute = value,
            "LATCHKEY_DIRECTORY_NAME_ATTRIBUTE" => config.name_attribute = value,
            "LATCHKEY_DIRECTORY_GROUP_ROLES" => {
                // A TOML inline table, as in the file:
                // {"cn=helpdesk,ou=groups,dc=example,dc=org" = "helpdesk"}
                #[derive(Deserialize)]
                struct Roles {
                    group_roles: std::collections::BTreeMap<String, latchkey_directory::Role>,
                }
                let roles: Roles =
                    toml::from_str(&format!("group_roles = {value}")).map_err(|e| {
                        ConfigError::Env(
                            variable,
                            format!("not a TOML table of group DN = role: {e}"),
                        )
                    })?;
                config.group_roles = roles.group_roles;
            }
            "LATCHKEY_DIRECTORY_TIMEOUT_SECONDS" => {
                config.timeout_seconds = number(variable, &value)?
            }
            "LATCHKEY_DIRECTORY_PASSWORD_HELP_URL" => config.password_help_url = Some(value),
            "LATCHKEY_DIRECTORY_SYNC_MINUTES" => {
                config.sync_minutes = Some(number(variable, &value)?)
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_leaves_out_the_master_key_and_url_passwords() {
        let config = Config {
            database: Some("postgres://latchkey:db-secret-1@db.example.org/latchkey".into()),
            smtp_url: Some("smtps://mailer:smtp-secret-2@mail.example.org:465".into()),
            master_key: Some("ab".repeat(32)),
            metrics_token: Some("metrics-secret-3".into()),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        for secret in [
            "db-secret-1",
            "smtp-secret-2",
            &"ab".repeat(32),
            "metrics-secret-3",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("postgres://latchkey:redacted@db.example.org/latchkey"),
            "{shown}"
        );
        assert!(
            shown.contains("mailer:redacted@mail.example.org"),
            "{shown}"
        );
        assert!(
            shown.contains(r#"master_key: Some("[redacted]")"#),
            "{shown}"
        );

        let unparsable = Config {
            database: Some("postgres://u:pa ss@host/db".into()),
            ..Config::default()
        };
        assert!(!format!("{unparsable:?}").contains("pa ss"));
    }

    #[test]
    fn app_origin_is_an_origin_in_the_form_browsers_send() {
        assert_eq!(
            app_origin("HTTPS://App.Example.org:443/").as_deref(),
            Ok("https://app.example.org")
        );
        assert_eq!(
            app_origin("http://127.0.0.1:8443").as_deref(),
            Ok("http://127.0.0.1:8443")
        );
        for refused in [
            "app.example.org",
            "ftp://app.example.org",
            "https://app.example.org/app/",
            "https://app.example.org/?x=1",
            "https://user@app.example.org",
            "https://app.example.org/#top",
        ] {
            let error = app_origin(refused).expect_err(refused);
            assert!(
                error.contains("https://app.example.org"),
                "{refused}: {error}"
            );
        }
    }
}
