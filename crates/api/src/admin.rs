//! The administration API's resources and requests: users, tokens, API
//! keys, security questions and the audit log.

use latchkey_oath::{ActivationCode, Serial, UnlockCode};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Text that names no variant of a wire enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue(pub String);

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown value \"{}\"", self.0)
    }
}

impl std::error::Error for UnknownValue {}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vdoc])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            /// Every variant, in the order the API documents them.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(text: &str) -> Result<Self, UnknownValue> {
                match text { $($text => Ok($name::$variant),)+ _ => Err(UnknownValue(text.to_owned())) }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// What a user may do.
    Role {
        /// Signs in and uses self-service.
        User = "user",
        /// Also helps other users: unlock codes, lock resets.
        Helpdesk = "helpdesk",
        /// Also administers users, tokens and keys.
        Admin = "admin",
        /// Reads every page of the admin console and changes nothing.
        Auditor = "auditor",
    }
);

wire_enum!(
    /// Whether a user may sign in.
    UserStatus {
        /// May sign in.
        Active = "active",
        /// May not sign in.
        Disabled = "disabled",
    }
);

wire_enum!(
    /// What kind of token.
    TokenKind {
        /// A Latchkey soft token, activated with a code.
        Latchkey = "latchkey",
        /// A TOTP token for a generic authenticator app.
        Totp = "totp",
        /// A counter-based token.
        Hotp = "hotp",
    }
);

wire_enum!(
    /// Where a token is in its life.
    TokenState {
        /// Issued, waiting for activation.
        New = "new",
        /// In use.
        Active = "active",
        /// Out of use for now.
        Suspended = "suspended",
        /// Out of use for good.
        Revoked = "revoked",
    }
);

wire_enum!(
    /// What an API key may call.
    ApiKeyRole {
        /// `POST /api/v1/authenticate` and nothing else.
        Authenticate = "authenticate",
        /// The administration API too.
        Admin = "admin",
    }
);

wire_enum!(
    /// `POST /api/v1/tokens/{serial}/{action}`: what to do to a token.
    TokenAction {
        /// Clear the server-side lock and failure count.
        Reset = "reset",
        /// Take the token out of use for now.
        Suspend = "suspend",
        /// Put a suspended token back in use.
        Resume = "resume",
        /// Take the token out of use for good.
        Revoke = "revoke",
        /// Answer a soft token's reset code with an unlock code.
        UnlockCode = "unlock-code",
        /// Move an HOTP token's counter to where two consecutive codes
        /// (`otp1`, `otp2`) are (RFC 4226 §7.4).
        Resync = "resync",
    }
);

/// A user, as the API shows one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// Unix seconds.
    pub created_at: i64,
    /// Where mail goes; `null` for none.
    pub email: Option<String>,
    /// What the user may do.
    pub role: Role,
    /// Whether the user may sign in.
    pub status: UserStatus,
    /// The normalised user name.
    pub username: String,
}

/// `POST /api/v1/users`.
#[derive(Serialize, Deserialize)]
pub struct AddUserRequest {
    /// Where mail goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A first password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Zeroizing<String>>,
    /// One of [`Role`]'s names; `user` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The user name.
    pub username: String,
}

/// A token's public face: never its seed or unlock secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    /// The HMAC hash name, as stored (`SHA1`, `SHA256`, `SHA512`).
    pub algorithm: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Digits per code.
    pub digits: u8,
    /// Wrong codes in a row.
    pub failures: u32,
    /// What kind of token.
    pub kind: TokenKind,
    /// Locked on the server after too many wrong codes.
    pub locked: bool,
    /// Seconds per step; 0 for HOTP.
    pub period: u64,
    /// The serial, as stored (bare digits).
    pub serial: String,
    /// Where the token is in its life.
    pub state: TokenState,
    /// Whose token; `null` where the request already says whose.
    pub user: Option<String>,
}

/// `POST /api/v1/tokens`.
#[derive(Serialize, Deserialize)]
pub struct IssueTokenRequest {
    /// One of [`TokenKind`]'s names; `latchkey` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whose token.
    pub username: String,
}

/// `POST /api/v1/tokens/{serial}/assign`: an unassigned hardware token
/// (named by its Latchkey serial or the vendor's) handed to a user.
#[derive(Serialize, Deserialize)]
pub struct AssignTokenRequest {
    /// Whose token it becomes.
    pub user: String,
}

/// A token just issued: what its user needs to start using it.
#[derive(Serialize, Deserialize)]
pub struct IssuedToken {
    /// The single-use activation code (Latchkey tokens only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::activation_code_if_any"
    )]
    pub activation_code: Option<ActivationCode>,
    /// An `otpauth://` key URI for a generic app (TOTP and HOTP tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<Zeroizing<String>>,
    /// The new token's serial.
    #[serde(with = "crate::wire::serial")]
    pub serial: Serial,
}

/// The body of `POST /api/v1/tokens/{serial}/{action}`; only `unlock-code`
/// needs one.
#[derive(Default, Serialize, Deserialize)]
pub struct TokenActionRequest {
    /// The reset code the soft token shows (`unlock-code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_code: Option<Zeroizing<String>>,
    /// The first of two consecutive codes from an HOTP token (`resync`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp1: Option<Zeroizing<String>>,
    /// The code after it (`resync`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp2: Option<Zeroizing<String>>,
}

/// What a token action other than `unlock-code` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenActionDone {
    /// The action taken.
    pub done: TokenAction,
    /// The serial, as the request's path wrote it.
    pub serial: String,
}

/// What `unlock-code` answers.
#[derive(Serialize, Deserialize)]
pub struct UnlockCodeIssued {
    /// The unlock code for the person to type into the soft token.
    #[serde(with = "crate::wire::unlock_code")]
    pub unlock_code: UnlockCode,
}

/// An API key's public face: never the key or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    /// Unix seconds.
    pub created_at: i64,
    /// A name people recognise.
    pub name: String,
    /// The public part of the key.
    pub prefix: String,
    /// Whether it was revoked.
    pub revoked: bool,
    /// What it may call.
    pub role: ApiKeyRole,
}

/// `POST /api/v1/apikeys`.
#[derive(Serialize, Deserialize)]
pub struct CreateApiKeyRequest {
    /// A name people recognise.
    pub name: String,
    /// One of [`ApiKeyRole`]'s names; `authenticate` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A key just made: the only time the whole key is shown.
#[derive(Serialize, Deserialize)]
pub struct CreatedApiKey {
    /// The whole key, for `Authorization: Bearer KEY`.
    pub key: Zeroizing<String>,
    /// Its name.
    pub name: String,
    /// What it may call.
    pub role: ApiKeyRole,
}

/// A security question in the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionView {
    /// Whether users may still choose it.
    pub active: bool,
    /// Its id.
    pub id: i64,
    /// The question as shown.
    pub text: String,
}

/// `POST /api/v1/questions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddQuestionRequest {
    /// The question, 10 to 200 characters.
    pub text: String,
}

/// A question just added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionCreated {
    /// Its id.
    pub id: i64,
}

/// `GET /api/v1/audit?after=ID&limit=N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Rows after this id; 0 for the first.
    #[serde(default)]
    pub after: i64,
    /// At most this many rows (the server keeps it within 1–1000).
    #[serde(default = "AuditQuery::default_limit")]
    pub limit: i64,
}

impl AuditQuery {
    fn default_limit() -> i64 {
        100
    }
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRowView {
    /// What happened, e.g. `otp.accept`.
    pub action: String,
    /// Who acted: a user name, `api:NAME`, `cli`, or `anonymous`.
    pub actor: String,
    /// Unix seconds.
    pub at: i64,
    /// Anything else worth knowing; never a secret.
    pub detail: String,
    /// The row's chain hash, 64 hex digits.
    pub hash: String,
    /// 1, 2, 3, … without gaps.
    pub id: i64,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// The client address, or `cli`.
    pub source: String,
    /// What it happened to: a user name or a serial.
    pub subject: String,
}

/// `GET /api/v1/audit/verify`: `{"intact": true, "rows": N}` or
/// `{"intact": false, "error": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// Where the chain breaks (a broken chain only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether every row's hash matches.
    pub intact: bool,
    /// How many rows were checked (an intact chain only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

impl AuditVerification {
    /// An intact chain of `rows` rows.
    pub fn intact(rows: u64) -> Self {
        AuditVerification {
            error: None,
            intact: true,
            rows: Some(rows),
        }
    }

    /// A chain broken as `error` says.
    pub fn broken(error: impl Into<String>) -> Self {
        AuditVerification {
            error: Some(error.into()),
            intact: false,
            rows: None,
        }
    }
}
