//! Query helpers and the row decoders.

use std::str::FromStr;

use super::{corrupt, fail};
use crate::decode;
use crate::queries::API_KEY_BY_PREFIX;
use latchkey_core::*;
use rusqlite::{Connection, Params, Row};

/// The API key row with this prefix.
pub(super) fn api_key_with_prefix(conn: &Connection, prefix: &str) -> StoreResult<Option<ApiKey>> {
    query_one(conn, API_KEY_BY_PREFIX.sqlite(), [prefix], api_key_from)
}

pub(super) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(fail)?;
    let mut rows = statement.query(params).map_err(fail)?;
    let mut all = Vec::new();
    while let Some(row) = rows.next().map_err(fail)? {
        all.push(map(row)?);
    }
    Ok(all)
}

pub(super) fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl Fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(fail)?;
    let mut rows = statement.query(params).map_err(fail)?;
    rows.next().map_err(fail)?.map(map).transpose()
}

pub(super) fn parse<T: FromStr>(text: String, what: &str) -> StoreResult<T> {
    text.parse().map_err(|_| corrupt(what))
}

pub(super) fn get<T: rusqlite::types::FromSql>(row: &Row<'_>, index: usize) -> StoreResult<T> {
    row.get(index).map_err(fail)
}

/// How many columns `user_columns!()` names: where a joined row's next
/// table starts.
pub(super) const USER_COLUMN_COUNT: usize = 11;

pub(super) fn user_from(row: &Row<'_>) -> StoreResult<User> {
    Ok(User {
        id: get(row, 0)?,
        username: parse(get(row, 1)?, "user name")?,
        email: get(row, 2)?,
        role: parse(get(row, 3)?, "role")?,
        status: parse(get(row, 4)?, "status")?,
        password_hash: get(row, 5)?,
        created_at: get(row, 6)?,
        password_failures: u32::try_from(get::<i64>(row, 7)?).unwrap_or(u32::MAX),
        password_blocked_until: get(row, 8)?,
        answer_failures: u32::try_from(get::<i64>(row, 9)?).unwrap_or(u32::MAX),
        answer_blocked_until: get(row, 10)?,
    })
}

pub(super) fn token_from(row: &Row<'_>) -> StoreResult<Token> {
    token_at(row, 0)
}

/// A token from the columns of `token_columns!()` starting at `at`.
pub(super) fn token_at(row: &Row<'_>, at: usize) -> StoreResult<Token> {
    Ok(Token {
        id: get(row, at)?,
        serial: decode::serial(get(row, at + 1)?)?,
        user_id: get(row, at + 2)?,
        kind: parse(get(row, at + 3)?, "token kind")?,
        state: parse(get(row, at + 4)?, "token state")?,
        otp: decode::otp_params(get(row, at + 5)?, get(row, at + 6)?, get(row, at + 7)?)?,
        sealed_seed: get(row, at + 8)?,
        sealed_unlock_secret: get(row, at + 9)?,
        last_used: get(row, at + 10)?,
        drift: get(row, at + 11)?,
        failures: u32::try_from(get::<i64>(row, at + 12)?).unwrap_or(u32::MAX),
        locked: get::<i64>(row, at + 13)? != 0,
        activation_hash: get(row, at + 14)?,
        activation_expires: get(row, at + 15)?,
        activation_failures: u32::try_from(get::<i64>(row, at + 16)?).unwrap_or(u32::MAX),
        created_at: get(row, at + 17)?,
    })
}

pub(super) fn api_key_from(row: &Row<'_>) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: get(row, 0)?,
        name: get(row, 1)?,
        prefix: get(row, 2)?,
        hash: get(row, 3)?,
        role: parse(get(row, 4)?, "API role")?,
        revoked: get::<i64>(row, 5)? != 0,
        created_at: get(row, 6)?,
    })
}

/// A user found by name and that user's tokens in id order, in one
/// statement (so from one snapshot): the user's columns on every line, then
/// that line's token (NULLs for a user without any).
pub(super) fn user_with_tokens(
    conn: &Connection,
    username: &str,
) -> StoreResult<Option<(User, Vec<Token>)>> {
    let mut statement = conn
        .prepare_cached(concat!(
            "SELECT ",
            user_columns!("users."),
            ", ",
            token_columns!("tokens."),
            " FROM users LEFT JOIN tokens ON tokens.user_id = users.id \
             WHERE users.username = ?1 ORDER BY tokens.id"
        ))
        .map_err(fail)?;
    let mut rows = statement.query([username]).map_err(fail)?;
    let mut found: Option<(User, Vec<Token>)> = None;
    while let Some(row) = rows.next().map_err(fail)? {
        let (_, tokens) = match &mut found {
            Some(found) => found,
            none => none.insert((user_from(row)?, Vec::new())),
        };
        if get::<Option<i64>>(row, USER_COLUMN_COUNT)?.is_some() {
            tokens.push(token_at(row, USER_COLUMN_COUNT)?);
        }
    }
    Ok(found)
}
