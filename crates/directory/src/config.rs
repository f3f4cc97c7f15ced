//! The `[directory]` table (DESIGN.md "Directory users") and its checks.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::Role;

/// The filter used when none is configured.
pub const DEFAULT_USER_FILTER: &str = "(&(objectClass=inetOrgPerson)(uid={username}))";

/// The `[directory]` table as written: every key of DESIGN.md, with its
/// default. [`Directory::new`](crate::Directory::new) checks it. Its `Debug`
/// leaves out the bind password.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// One or more `ldap://` / `ldaps://` URLs, tried in order.
    pub url: Urls,
    /// StartTLS on the `ldap://` URLs.
    #[serde(default)]
    pub starttls: bool,
    /// PEM file with the CA certificate(s) to trust; the system's roots
    /// when absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The service account that searches; anonymous search when absent.
    #[serde(default)]
    pub bind_dn: Option<String>,
    /// The service account's password.
    #[serde(default)]
    pub bind_password: Option<Zeroizing<String>>,
    /// A file holding the service account's password (one trailing newline
    /// is ignored).
    #[serde(default)]
    pub bind_password_file: Option<PathBuf>,
    /// Where users are searched (required).
    #[serde(default)]
    pub base_dn: String,
    /// Search filter; `{username}` is replaced by the RFC 4515-escaped name.
    #[serde(default = "default_user_filter")]
    pub user_filter: String,
    /// The immutable identity accounts are linked by.
    #[serde(default = "default_id_attribute")]
    pub id_attribute: String,
    /// The mail address attribute.
    #[serde(default = "default_email_attribute")]
    pub email_attribute: String,
    /// The display name attribute.
    #[serde(default = "default_name_attribute")]
    pub name_attribute: String,
    /// Group DN → role, by the entry's `memberOf`.
    #[serde(default)]
    pub group_roles: BTreeMap<String, Role>,
    /// Connect and operation timeout, per server.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// Where "I've forgotten my password" sends directory users.
    #[serde(default)]
    pub password_help_url: Option<String>,
    /// Minutes between scheduled syncs in `serve`; none when absent.
    #[serde(default)]
    pub sync_minutes: Option<u64>,
}

/// `url`: one URL or a list of them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Urls {
    /// `url = "ldap://…"`
    One(String),
    /// `url = ["ldap://…", "ldap://…"]`
    Many(Vec<String>),
}

impl Urls {
    /// The URLs in order.
    pub fn as_slice(&self) -> &[String] {
        match self {
            Urls::One(url) => std::slice::from_ref(url),
            Urls::Many(urls) => urls,
        }
    }
}

impl DirectoryConfig {
    /// A configuration with every default and these URL(s) and base DN.
    pub fn new(urls: &[&str], base_dn: &str) -> DirectoryConfig {
        DirectoryConfig {
            url: Urls::Many(urls.iter().map(|u| u.to_string()).collect()),
            starttls: false,
            ca_file: None,
            bind_dn: None,
            bind_password: None,
            bind_password_file: None,
            base_dn: base_dn.into(),
            user_filter: default_user_filter(),
            id_attribute: default_id_attribute(),
            email_attribute: default_email_attribute(),
            name_attribute: default_name_attribute(),
            group_roles: BTreeMap::new(),
            timeout_seconds: default_timeout_seconds(),
            password_help_url: None,
            sync_minutes: None,
        }
    }
}

fn default_user_filter() -> String {
    DEFAULT_USER_FILTER.into()
}
fn default_id_attribute() -> String {
    "entryUUID".into()
}
fn default_email_attribute() -> String {
    "mail".into()
}
fn default_name_attribute() -> String {
    "cn".into()
}
fn default_timeout_seconds() -> u64 {
    3
}

impl fmt::Debug for DirectoryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryConfig")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("ca_file", &self.ca_file)
            .field("bind_dn", &self.bind_dn)
            .field(
                "bind_password",
                &self.bind_password.as_ref().map(|_| "[redacted]"),
            )
            .field("bind_password_file", &self.bind_password_file)
            .field("base_dn", &self.base_dn)
            .field("user_filter", &self.user_filter)
            .field("id_attribute", &self.id_attribute)
            .field("email_attribute", &self.email_attribute)
            .field("name_attribute", &self.name_attribute)
            .field("group_roles", &self.group_roles)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("password_help_url", &self.password_help_url)
            .field("sync_minutes", &self.sync_minutes)
            .finish()
    }
}

/// What is wrong with a `[directory]` table. Each message names the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `url` is an empty list.
    #[error("directory.url: at least one ldap:// or ldaps:// URL is needed")]
    NoUrl,
    /// A URL does not parse.
    #[error("directory.url: {url:?} is not a URL: {source}")]
    BadUrl {
        /// The URL as written.
        url: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// A URL is not `ldap://` or `ldaps://`.
    #[error(
        "directory.url: {url:?} has the scheme {scheme:?}; only ldap:// and ldaps:// are served"
    )]
    BadScheme {
        /// The URL as written.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// A URL has no host, or a path, query or credentials.
    #[error(
        "directory.url: {url:?} must be just scheme://host[:port] (no path, query or credentials)"
    )]
    UrlShape {
        /// The URL as written.
        url: String,
    },
    /// `ca_file` cannot be read.
    #[error("directory.ca_file: cannot read {path}: {source}")]
    CaFileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `ca_file` holds no usable certificate.
    #[error("directory.ca_file: {path} holds no usable PEM certificate{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    CaFileInvalid {
        /// The file.
        path: PathBuf,
        /// What the parser or the root store said, if anything.
        detail: Option<String>,
    },
    /// `base_dn` is missing or empty.
    #[error(
        "directory.base_dn is required (where users are searched, e.g. \"ou=people,dc=example,dc=org\")"
    )]
    MissingBaseDn,
    /// `user_filter` has no `{username}`.
    #[error(
        "directory.user_filter must contain {{username}} (it is replaced by the escaped user name): {filter:?}"
    )]
    FilterWithoutUsername {
        /// The filter as written.
        filter: String,
    },
    /// `user_filter` is not an LDAP filter.
    #[error("directory.user_filter is not a valid LDAP filter (RFC 4515): {filter:?}")]
    BadFilter {
        /// The filter as written.
        filter: String,
    },
    /// Both `bind_password` and `bind_password_file` are set.
    #[error("directory: set bind_password or bind_password_file, not both")]
    TwoPasswords,
    /// A bind password without `bind_dn`.
    #[error("directory: bind_password needs bind_dn (the service account's DN)")]
    PasswordWithoutDn,
    /// `bind_dn` without a password.
    #[error("directory: bind_dn needs bind_password or bind_password_file")]
    DnWithoutPassword,
    /// `bind_password_file` cannot be read.
    #[error("directory.bind_password_file: cannot read {path}: {source}")]
    PasswordFileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An attribute key is empty.
    #[error("directory.{key} must not be empty")]
    EmptyAttribute {
        /// The key.
        key: &'static str,
    },
    /// `timeout_seconds` is 0.
    #[error("directory.timeout_seconds must be at least 1")]
    ZeroTimeout,
    /// `sync_minutes` is 0.
    #[error("directory.sync_minutes must be at least 1 (leave it out for no scheduled sync)")]
    ZeroSyncMinutes,
    /// `password_help_url` is not an http(s) URL.
    #[error("directory.password_help_url: {url:?} is not an http:// or https:// URL")]
    BadHelpUrl {
        /// The URL as written.
        url: String,
    },
    /// A `group_roles` key is empty.
    #[error("directory.group_roles: a group DN must not be empty")]
    EmptyGroupDn,
    /// The TLS settings cannot be built.
    #[error("directory: TLS set-up failed: {0}")]
    Tls(#[source] rustls::Error),
}
