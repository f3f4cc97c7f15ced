//! Helpers: a real `latchkey serve` on port 0 over a fresh SQLite file or a
//! fresh PostgreSQL database, the admin CLI against the same database, an
//! HTTP client, and the real `latchkey-token` binary.
// Each test binary uses only some of the helpers (and so of their re-exports).
#![allow(dead_code, unused_imports)]

pub mod browser;
pub mod console;
pub mod directory;
pub mod oidc;
pub mod phone;
pub mod radius;
pub mod web;

mod database;
mod outbox;
mod server;
mod soft_token;
mod sql;
mod throwaway_postgres;

pub use database::Database;
pub use outbox::{outbox_mails, wait_for_mails};
pub use server::{Response, Server};
pub use soft_token::{SoftToken, reset_code_in, stderr, token_binary};
pub use sql::{execute_sql, fresh_postgres, postgres_admin_url, query_i64, tokio_runtime};
pub use throwaway_postgres::{ThrowawayPostgres, free_port};

pub const MASTER_KEY: &str = "6c6174636b6b65792d746573742d6d61737465722d6b65792d30313233343536";
pub const PASSWORD: &str = "correct horse battery";
pub use latchkey_testkit::pins::PIN;
