//! The wire contract of Latchkey's JSON API under `/api/v1`: the serde types
//! of every request the API reads and every answer it writes, and the
//! `{"error": …}` body of a refusal.
//!
//! The server serialises these types and its clients (the soft token, the
//! load generator, the tests) deserialise them, so the contract is written
//! once. `crates/server/openapi.json` describes the same shapes; a test
//! compares the two.
//!
//! Two rules keep the JSON what it has always been:
//!
//! - Fields are declared in alphabetical order, the order in which the
//!   server's earlier `json!` maps wrote them, so answers stay byte for byte
//!   the same.
//! - Request fields a person chooses (a role, a token kind) are the text the
//!   caller sent: the server parses them and answers a bad value with a 400
//!   that names the choices, not with a serde message.

mod admin;
mod error;
mod token;
pub mod wire;

pub use admin::AssignTokenRequest;
pub use admin::{
    AddQuestionRequest, AddUserRequest, ApiKeyRole, ApiKeyView, AuditQuery, AuditRowView,
    AuditVerification, CreateApiKeyRequest, CreatedApiKey, IssueTokenRequest, IssuedToken,
    QuestionCreated, QuestionView, Role, TokenAction, TokenActionDone, TokenActionRequest,
    TokenKind, TokenState, TokenView, UnknownValue, UnlockCodeIssued, UserStatus, UserView,
};
pub use error::ErrorBody;
pub use token::{
    ActivateRequest, ActivateResponse, AuthResult, AuthenticateRequest, AuthenticateResponse,
    OtpDescription, OtpKind, RefreshRequest, RefreshResponse, TokenPolicy,
};
