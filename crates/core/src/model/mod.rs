//! The domain's values: users, tokens, API keys, audit events.

use std::fmt;
use std::str::FromStr;

/// A normalised user name: trimmed, lower case, 1–64 characters from
/// letters, digits and `. _ - @`. Once a value exists it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

/// Why a user name is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Empty after trimming.
    #[error("a user name cannot be empty")]
    Empty,
    /// Longer than 64 characters.
    #[error("a user name has at most 64 characters")]
    TooLong,
    /// A character outside letters, digits and `. _ - @`.
    #[error("a user name may contain only letters, digits and . _ - @")]
    InvalidCharacter,
}

impl FromStr for Username {
    type Err = UsernameError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let name = text.trim().to_lowercase();
        if name.is_empty() {
            return Err(UsernameError::Empty);
        }
        if name.chars().count() > 64 {
            return Err(UsernameError::TooLong);
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err(UsernameError::InvalidCharacter);
        }
        Ok(Username(name))
    }
}

impl Username {
    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An API key's name: trimmed, 1–64 ASCII letters, digits and `- _ .`.
/// Once a value exists it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiKeyName(String);

/// A name that breaks the API-key naming rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an API key name has 1–64 letters, digits, - _ or .")]
pub struct ApiKeyNameError;

impl FromStr for ApiKeyName {
    type Err = ApiKeyNameError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let name = text.trim();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if name.is_empty() || name.len() > 64 || !name.chars().all(allowed) {
            return Err(ApiKeyNameError);
        }
        Ok(ApiKeyName(name.to_owned()))
    }
}

impl ApiKeyName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApiKeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A security question's text: runs of white space made one space,
/// trimmed, 10–200 characters. Once a value exists it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuestionText(String);

/// A question too short or too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a security question has 10 to 200 characters")]
pub struct QuestionTextError;

impl FromStr for QuestionText {
    type Err = QuestionTextError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !(10..=200).contains(&text.chars().count()) {
            return Err(QuestionTextError);
        }
        Ok(QuestionText(text))
    }
}

impl QuestionText {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for QuestionText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token's serial: 10 digits, the last a Luhn check digit (a
/// [`latchkey_oath::Serial`]). Shown, stored and compared in its digits-only
/// form (`1234567897`), which is what it dereferences to; once a value
/// exists it is valid. Parsing accepts what people type (spaces, dashes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Serial(latchkey_oath::Serial);

impl std::hash::Hash for Serial {
    /// As its digits hash, so that a `&str` finds it ([`Borrow`](std::borrow::Borrow)).
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Serial {
    /// A new random serial.
    pub fn generate() -> Self {
        Serial(latchkey_oath::Serial::generate())
    }

    /// The digits alone, check digit last.
    pub fn as_str(&self) -> &str {
        self.0.digits()
    }

    /// The serial as the OATH crate's type (what unlock codes derive from).
    pub fn as_oath(&self) -> &latchkey_oath::Serial {
        &self.0
    }

    /// The grouped form for reading aloud, `12345-67897`.
    pub fn grouped(&self) -> String {
        self.0.grouped()
    }
}

impl FromStr for Serial {
    type Err = latchkey_oath::CodeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(Serial)
    }
}

impl From<latchkey_oath::Serial> for Serial {
    fn from(serial: latchkey_oath::Serial) -> Self {
        Serial(serial)
    }
}

impl From<&latchkey_oath::Serial> for Serial {
    fn from(serial: &latchkey_oath::Serial) -> Self {
        Serial(serial.clone())
    }
}

impl From<Serial> for latchkey_oath::Serial {
    fn from(serial: Serial) -> Self {
        serial.0
    }
}

impl From<Serial> for String {
    fn from(serial: Serial) -> Self {
        serial.as_str().to_owned()
    }
}

impl std::ops::Deref for Serial {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Serial {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Serial {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Serial {
    /// The digits alone, as stored and as the wire carries them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Serial {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Serial {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Serial {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Serial> for str {
    fn eq(&self, other: &Serial) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Serial> for &str {
    fn eq(&self, other: &Serial) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Serial> for String {
    fn eq(&self, other: &Serial) -> bool {
        self == other.as_str()
    }
}

/// How a token makes its codes: the HMAC hash, the digits per code and the
/// seconds per step (0 for a counter-based token). Decoded once, where a
/// row is read; a stored value outside these is a corrupt row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OtpParams {
    /// The HMAC hash.
    pub algorithm: latchkey_oath::Algorithm,
    /// Digits per code (6 to 10).
    pub digits: latchkey_oath::Digits,
    /// Seconds per step (TOTP); 0 for HOTP.
    pub period: u64,
}

impl OtpParams {
    /// The code generator over `seed`.
    pub fn generator(
        &self,
        seed: latchkey_oath::Secret,
    ) -> Result<latchkey_oath::Hotp, latchkey_oath::ParamError> {
        latchkey_oath::Hotp::new(seed, self.algorithm, self.digits)
    }
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every variant's name, in the order declared (what a command
            /// line offers).
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The stored and displayed name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(text: &str) -> Result<Self, UnknownValue> {
                match text { $($text => Ok($name::$variant),)+ _ => Err(UnknownValue(text.to_owned())) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod audit;
pub use audit::{AuditAction, AuditEvent, AuditRow, Outcome};

/// A value that names no variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value \"{0}\"")]
pub struct UnknownValue(pub String);

text_enum!(
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

text_enum!(
    /// Whether a user may sign in.
    UserStatus {
        /// May sign in.
        Active = "active",
        /// May not sign in.
        Disabled = "disabled",
    }
);

text_enum!(
    /// What kind of token.
    TokenKind {
        /// A Latchkey soft token (TOTP SHA-256, 8 digits, with unlock slots).
        Latchkey = "latchkey",
        /// A generic authenticator app (TOTP SHA-1, 6 digits).
        Totp = "totp",
        /// A counter-based token.
        Hotp = "hotp",
    }
);

text_enum!(
    /// Where a token is in its life: new → active → suspended / revoked.
    TokenState {
        /// Issued, waiting for activation.
        New = "new",
        /// In use.
        Active = "active",
        /// Temporarily out of use (reported lost, or by an administrator).
        Suspended = "suspended",
        /// Out of use for good.
        Revoked = "revoked",
    }
);

text_enum!(
    /// What an API key may call.
    ApiRole {
        /// `POST /api/v1/authenticate` and nothing else.
        Authenticate = "authenticate",
        /// The administration API too.
        Admin = "admin",
    }
);

/// A user as stored.
#[derive(Debug, Clone)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// The normalised name.
    pub username: Username,
    /// Where mail goes.
    pub email: Option<String>,
    /// What the user may do.
    pub role: Role,
    /// Whether the user may sign in.
    pub status: UserStatus,
    /// Argon2id PHC string, if a password is set.
    pub password_hash: Option<String>,
    /// Wrong passwords in a row.
    pub password_failures: u32,
    /// Until when (Unix seconds) passwords are not checked at all.
    pub password_blocked_until: i64,
    /// Wrong security answers in a row: a count of their own (S44), which
    /// only the right answers or a complete sign-in clear.
    pub answer_failures: u32,
    /// Until when (Unix seconds) answers are not checked at all.
    pub answer_blocked_until: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A token as stored. Secrets are sealed (encrypted with the master key).
#[derive(Clone)]
pub struct Token {
    /// Row id.
    pub id: i64,
    /// The serial.
    pub serial: Serial,
    /// Whose token it is.
    pub user_id: i64,
    /// Kind.
    pub kind: TokenKind,
    /// State.
    pub state: TokenState,
    /// How it makes its codes.
    pub otp: OtpParams,
    /// The sealed seed.
    pub sealed_seed: Vec<u8>,
    /// The sealed unlock secret (Latchkey tokens).
    pub sealed_unlock_secret: Option<Vec<u8>>,
    /// The last accepted time step (TOTP) or counter (HOTP); −1 for none.
    pub last_used: i64,
    /// Observed clock drift in steps (TOTP).
    pub drift: i64,
    /// Consecutive OTP failures.
    pub failures: u32,
    /// Locked on the server after too many failures.
    pub locked: bool,
    /// Keyed hash of the activation code, while one is outstanding.
    pub activation_hash: Option<Vec<u8>>,
    /// When the activation code expires (Unix seconds).
    pub activation_expires: i64,
    /// Wrong activation codes tried.
    pub activation_failures: u32,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("serial", &self.serial)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .field("failures", &self.failures)
            .field("locked", &self.locked)
            .finish_non_exhaustive()
    }
}

/// An API key as stored: its public prefix and a hash of the whole key.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// Row id.
    pub id: i64,
    /// A name people recognise.
    pub name: String,
    /// The public part that finds the row.
    pub prefix: String,
    /// SHA-256 of the whole key.
    pub hash: Vec<u8>,
    /// What it may call.
    pub role: ApiRole,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Unix seconds.
    pub created_at: i64,
}

text_enum!(
    /// How far a portal session has come.
    SessionStage {
        /// The password was right; the second factor is still to come.
        Password = "password",
        /// Password and second factor: the whole account.
        Full = "full",
        /// Password and security questions: the recovery actions only.
        Recovery = "recovery",
    }
);

/// A portal session as stored. The session id itself is never stored, only
/// its SHA-256, so a database dump cannot be replayed as cookies.
#[derive(Debug, Clone)]
pub struct WebSession {
    /// SHA-256 of the session id.
    pub id_hash: Vec<u8>,
    /// Whose session.
    pub user_id: i64,
    /// How far it has come.
    pub stage: SessionStage,
    /// Unix seconds of the first factor (the absolute timeout counts from here).
    pub created_at: i64,
    /// Unix seconds of the last request (the idle timeout counts from here).
    pub last_seen: i64,
}

/// A security question from the pool the administrator manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Row id.
    pub id: i64,
    /// The question as shown.
    pub text: String,
    /// Whether users may still choose it.
    pub active: bool,
}

/// A user's answer to one question, as stored.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The question.
    pub question_id: i64,
    /// Argon2id PHC string of the normalised answer.
    pub answer_hash: String,
    /// Part of the challenge now waiting for this user.
    pub asked: bool,
}
