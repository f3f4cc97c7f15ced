//! What the audit log records: an event's action and outcome, typed, and
//! its place in the hash chain.

use std::fmt;
use std::str::FromStr;

use super::UnknownValue;

text_enum!(
    /// What an audit row records happened: the closed set of security
    /// events every entry point writes (stored as its text). `unlock.issue`
    /// and `token.refresh`, with their outcomes, are also SQL literals in
    /// the store's partial indexes and the statements they serve; a store
    /// test keeps those equal to this text.
    AuditAction {
        /// An API key was created.
        ApikeyCreate = "apikey.create",
        /// An API key was revoked.
        ApikeyRevoke = "apikey.revoke",
        /// The audit log was exported.
        AuditExport = "audit.export",
        /// A console action was confirmed with a fresh OTP.
        ConsoleConfirm = "console.confirm",
        /// A sign-in was refused before any token was tried: an unknown or
        /// disabled user, or one without an active token.
        Authenticate = "authenticate",
        /// A backup was taken.
        DatabaseBackup = "database.backup",
        /// The database was restored from a backup.
        DatabaseRestore = "database.restore",
        /// A local user was linked to a directory entry.
        DirectoryLink = "directory.link",
        /// A directory sync ran.
        DirectorySync = "directory.sync",
        /// A directory user's local copy was updated.
        DirectoryUpdate = "directory.update",
        /// The master key was rotated: every sealed value re-sealed.
        MasterKeyRotate = "master_key.rotate",
        /// An OIDC client failed to authenticate.
        OidcClientAuth = "oidc.client-auth",
        /// An OIDC authorization code was issued.
        OidcCode = "oidc.code",
        /// A used OIDC code came back: its grant was revoked.
        OidcCodeReuse = "oidc.code-reuse",
        /// OIDC grants were revoked.
        OidcGrantRevoke = "oidc.grant-revoke",
        /// An RP-initiated logout.
        OidcLogout = "oidc.logout",
        /// An OIDC refresh token was used.
        OidcRefresh = "oidc.refresh",
        /// A used OIDC refresh token came back: its family was revoked.
        OidcRefreshReuse = "oidc.refresh-reuse",
        /// The OIDC token or revocation endpoint refused an address past its
        /// failure limit (once per window).
        OidcTokenThrottle = "oidc.token-throttle",
        /// An OIDC token was revoked (RFC 7009).
        OidcRevoke = "oidc.revoke",
        /// The OIDC token endpoint answered a code exchange.
        OidcToken = "oidc.token",
        /// An OIDC client was registered.
        OidcClientAdd = "oidc_client.add",
        /// An OIDC client was removed.
        OidcClientRemove = "oidc_client.remove",
        /// An OIDC signing key was made.
        OidcKeyCreate = "oidc_key.create",
        /// The OIDC signing keys were rotated.
        OidcKeyRotate = "oidc_key.rotate",
        /// An OTP was checked (accepted or refused).
        OtpVerify = "otp.verify",
        /// A user changed their password.
        PasswordChange = "password.change",
        /// A password was reset by an e-mailed link.
        PasswordReset = "password.reset",
        /// A password-reset link was asked for.
        PasswordResetRequest = "password.reset-request",
        /// An account's password throttle was cleared.
        PasswordUnthrottle = "password.unthrottle",
        /// A password was checked.
        PasswordVerify = "password.verify",
        /// The portal's password step.
        PortalPassword = "portal.password",
        /// A portal recovery session began or was refused.
        PortalRecovery = "portal.recovery",
        /// A portal sign-in.
        PortalSignIn = "portal.sign-in",
        /// A portal sign-out.
        PortalSignOut = "portal.sign-out",
        /// A security question was added.
        QuestionsAdd = "questions.add",
        /// A user's security answers were cleared.
        QuestionsReset = "questions.reset",
        /// A security question was retired.
        QuestionsRetire = "questions.retire",
        /// A user set their security answers.
        QuestionsSet = "questions.set",
        /// Security answers were checked.
        QuestionsVerify = "questions.verify",
        /// A RADIUS Access-Challenge was sent.
        RadiusChallenge = "radius.challenge",
        /// A RADIUS Access-Challenge state was used or refused.
        RadiusState = "radius.state",
        /// A RADIUS client was registered.
        RadiusClientAdd = "radius_client.add",
        /// A RADIUS client was removed.
        RadiusClientRemove = "radius_client.remove",
        /// A session was ended.
        SessionEnd = "session.end",
        /// Every session of a user was ended.
        SessionEndAll = "session.end-all",
        /// A token was activated, or an activation was refused.
        TokenActivate = "token.activate",
        /// A stock token was assigned to a user.
        TokenAssign = "token.assign",
        /// Tokens were imported.
        TokenImport = "token.import",
        /// A token was issued.
        TokenIssue = "token.issue",
        /// A token was locked on the server after too many failures.
        TokenLock = "token.lock",
        /// A token was reported lost.
        TokenLost = "token.lost",
        /// A token's seed and unlock secret were refreshed.
        TokenRefresh = "token.refresh",
        /// A token's server-side lock was cleared.
        TokenReset = "token.reset",
        /// A suspended token was put back in use.
        TokenResume = "token.resume",
        /// An HOTP token's counter was resynchronised.
        TokenResync = "token.resync",
        /// A token was revoked.
        TokenRevoke = "token.revoke",
        /// A token was suspended.
        TokenSuspend = "token.suspend",
        /// An unlock code was issued.
        UnlockIssue = "unlock.issue",
        /// A user was added.
        UserAdd = "user.add",
        /// A user was disabled.
        UserDisable = "user.disable",
        /// A user was enabled.
        UserEnable = "user.enable",
        /// Users were imported from a file.
        UserImport = "user.import",
        /// An administrator set a user's password.
        UserPasswordReset = "user.password-reset",
        /// A user's role was changed.
        UserRole = "user.role",
    }
);

text_enum!(
    /// How a security event ended.
    Outcome {
        /// It was done.
        Success = "success",
        /// The caller got something wrong (a password, a code, an answer).
        Failure = "failure",
        /// It was not allowed (a lock, a throttle, a missing right).
        Denied = "denied",
    }
);

/// One security event, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Unix seconds.
    pub at: i64,
    /// Who acted: a user name, `api:NAME`, `cli`, or `anonymous`.
    pub actor: String,
    /// What happened.
    pub action: AuditAction,
    /// What it happened to: a user name or a serial.
    pub subject: String,
    /// The client address, or `cli`.
    pub source: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Anything else worth knowing; never a secret.
    pub detail: String,
}

/// An audit event with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// 1, 2, 3, … without gaps.
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
    /// The previous row's hash (all zeros for the first).
    pub prev_hash: Vec<u8>,
    /// SHA-256 over this row and `prev_hash`.
    pub hash: Vec<u8>,
}
