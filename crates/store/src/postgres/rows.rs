//! Row decoders and the lookups the OTP checks share.

use std::str::FromStr;

use latchkey_core::*;
use sqlx::postgres::PgRow;
use sqlx::{Executor, Postgres, Row};

use super::{corrupt, fail};
use crate::decode;
use crate::queries::{API_KEY_BY_PREFIX, USER_BY_NAME};

/// The user named `username`, on the pool or inside a transaction.
pub(super) async fn user_named<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    username: &str,
) -> StoreResult<Option<User>> {
    sqlx::query(USER_BY_NAME.postgres())
        .bind(username.to_owned())
        .fetch_optional(executor)
        .await
        .map_err(fail)?
        .as_ref()
        .map(user_from)
        .transpose()
}

/// The API key with `prefix`, on the pool or inside a transaction.
pub(super) async fn api_key_with_prefix<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    prefix: &str,
) -> StoreResult<Option<ApiKey>> {
    sqlx::query(API_KEY_BY_PREFIX.postgres())
        .bind(prefix.to_owned())
        .fetch_optional(executor)
        .await
        .map_err(fail)?
        .as_ref()
        .map(api_key_from)
        .transpose()
}

pub(super) fn parse<T: FromStr>(text: String, what: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| corrupt(what))
}

pub(super) fn user_from(row: &PgRow) -> Result<User, StoreError> {
    user_from_columns(row, "")
}

/// A user from the columns named `prefix` + the users table's own names.
pub(super) fn user_from_columns(row: &PgRow, prefix: &str) -> Result<User, StoreError> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(User {
        id: row.try_get(column("id").as_str()).map_err(fail)?,
        username: parse(
            row.try_get(column("username").as_str()).map_err(fail)?,
            "user name",
        )?,
        email: row.try_get(column("email").as_str()).map_err(fail)?,
        role: parse(row.try_get(column("role").as_str()).map_err(fail)?, "role")?,
        status: parse(
            row.try_get(column("status").as_str()).map_err(fail)?,
            "status",
        )?,
        password_hash: row
            .try_get(column("password_hash").as_str())
            .map_err(fail)?,
        password_failures: u32::try_from(
            row.try_get::<i64, _>(column("password_failures").as_str())
                .map_err(fail)?,
        )
        .unwrap_or(u32::MAX),
        password_blocked_until: row
            .try_get(column("password_blocked_until").as_str())
            .map_err(fail)?,
        answer_failures: u32::try_from(
            row.try_get::<i64, _>(column("answer_failures").as_str())
                .map_err(fail)?,
        )
        .unwrap_or(u32::MAX),
        answer_blocked_until: row
            .try_get(column("answer_blocked_until").as_str())
            .map_err(fail)?,
        created_at: row.try_get(column("created_at").as_str()).map_err(fail)?,
    })
}

/// The users table's columns, each named `u_` + its own name, for a join
/// with the tokens table (whose names they share in part).
pub(super) const USER_COLUMNS_AS_U: &str = "u.id AS u_id, u.username AS u_username, u.email AS u_email, \
     u.role AS u_role, u.status AS u_status, u.password_hash AS u_password_hash, \
     u.password_failures AS u_password_failures, u.password_blocked_until AS u_password_blocked_until, \
     u.answer_failures AS u_answer_failures, u.answer_blocked_until AS u_answer_blocked_until, \
     u.created_at AS u_created_at";

pub(super) fn token_from(row: &PgRow) -> Result<Token, StoreError> {
    let get_i64 =
        |name: &str| -> Result<i64, StoreError> { row.try_get::<i64, _>(name).map_err(fail) };
    Ok(Token {
        id: get_i64("id")?,
        serial: decode::serial(row.try_get("serial").map_err(fail)?)?,
        user_id: get_i64("user_id")?,
        kind: parse(row.try_get("kind").map_err(fail)?, "token kind")?,
        state: parse(row.try_get("state").map_err(fail)?, "token state")?,
        otp: decode::otp_params(
            row.try_get("algorithm").map_err(fail)?,
            get_i64("digits")?,
            get_i64("period")?,
        )?,
        sealed_seed: row.try_get("sealed_seed").map_err(fail)?,
        sealed_unlock_secret: row.try_get("sealed_unlock_secret").map_err(fail)?,
        last_used: get_i64("last_used")?,
        drift: get_i64("drift")?,
        failures: u32::try_from(get_i64("failures")?).unwrap_or(u32::MAX),
        locked: row.try_get("locked").map_err(fail)?,
        activation_hash: row.try_get("activation_hash").map_err(fail)?,
        activation_expires: get_i64("activation_expires")?,
        activation_failures: u32::try_from(get_i64("activation_failures")?).unwrap_or(u32::MAX),
        created_at: get_i64("created_at")?,
    })
}

pub(super) fn api_key_from(row: &PgRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: row.try_get("id").map_err(fail)?,
        name: row.try_get("name").map_err(fail)?,
        prefix: row.try_get("prefix").map_err(fail)?,
        hash: row.try_get("hash").map_err(fail)?,
        role: parse(row.try_get("role").map_err(fail)?, "API role")?,
        revoked: row.try_get("revoked").map_err(fail)?,
        created_at: row.try_get("created_at").map_err(fail)?,
    })
}
