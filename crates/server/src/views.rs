//! What the JSON API and the admin CLI's `--json` show of the domain's
//! rows, once, as the wire types of `latchkey-api`: the two cannot disagree
//! on what a user, a token, an API key or an audit row is.

use latchkey_api as wire;
use latchkey_core::{
    ApiKey, ApiRole, AuditRow, IssuedToken, Role, Token, TokenKind, TokenState, User, UserStatus,
};
use serde::Serialize;
use serde_json::Value;

/// A view as a JSON value.
#[allow(
    clippy::expect_used,
    reason = "serialising a wire type, whose fields are strings, numbers and enums, cannot fail"
)]
pub fn to_json(view: &impl Serialize) -> Value {
    serde_json::to_value(view).expect("the wire types are JSON")
}

/// A user's role as the wire names it.
pub fn wire_role(role: Role) -> wire::Role {
    match role {
        Role::User => wire::Role::User,
        Role::Helpdesk => wire::Role::Helpdesk,
        Role::Admin => wire::Role::Admin,
        Role::Auditor => wire::Role::Auditor,
    }
}

/// An API key's role as the wire names it.
pub fn wire_api_role(role: ApiRole) -> wire::ApiKeyRole {
    match role {
        ApiRole::Authenticate => wire::ApiKeyRole::Authenticate,
        ApiRole::Admin => wire::ApiKeyRole::Admin,
    }
}

/// A user's public face: never the password hash.
pub fn user_view(user: &User) -> wire::UserView {
    wire::UserView {
        created_at: user.created_at,
        email: user.email.clone(),
        role: wire_role(user.role),
        status: match user.status {
            UserStatus::Active => wire::UserStatus::Active,
            UserStatus::Disabled => wire::UserStatus::Disabled,
        },
        username: user.username.as_str().to_owned(),
    }
}

/// A token's public face: never its seed or unlock secret (S03).
pub fn token_view(token: &Token, username: Option<&str>) -> wire::TokenView {
    wire::TokenView {
        algorithm: token.otp.algorithm.name().to_owned(),
        created_at: token.created_at,
        digits: token.otp.digits.get(),
        failures: token.failures,
        kind: match token.kind {
            TokenKind::Latchkey => wire::TokenKind::Latchkey,
            TokenKind::Totp => wire::TokenKind::Totp,
            TokenKind::Hotp => wire::TokenKind::Hotp,
        },
        locked: token.locked,
        period: token.otp.period,
        serial: token.serial.to_string(),
        state: match token.state {
            TokenState::New => wire::TokenState::New,
            TokenState::Active => wire::TokenState::Active,
            TokenState::Suspended => wire::TokenState::Suspended,
            TokenState::Revoked => wire::TokenState::Revoked,
        },
        user: username.map(str::to_owned),
    }
}

/// A token's view as a JSON value.
pub fn token_json(token: &Token, username: Option<&str>) -> Value {
    to_json(&token_view(token, username))
}

/// A token just issued: serial, activation code or key URI.
pub fn issued_view(issued: &IssuedToken) -> wire::IssuedToken {
    wire::IssuedToken {
        activation_code: issued.activation_code.clone(),
        otpauth_uri: issued.otpauth_uri.clone(),
        serial: issued.serial.clone(),
    }
}

/// An API key's public face: never the key or its hash.
pub fn api_key_view(key: &ApiKey) -> wire::ApiKeyView {
    wire::ApiKeyView {
        created_at: key.created_at,
        name: key.name.clone(),
        prefix: key.prefix.clone(),
        revoked: key.revoked,
        role: wire_api_role(key.role),
    }
}

/// One audit row.
pub fn audit_view(row: &AuditRow) -> wire::AuditRowView {
    let e = &row.event;
    wire::AuditRowView {
        action: e.action.to_string(),
        actor: e.actor.clone(),
        at: e.at,
        detail: e.detail.clone(),
        hash: data_encoding::HEXLOWER.encode(&row.hash),
        id: row.id,
        outcome: e.outcome.to_string(),
        source: e.source.clone(),
        subject: e.subject.clone(),
    }
}
