//! Accounts linked to directory entries, on SQLite.

use latchkey_core::*;
use rusqlite::{Row, params};

use super::rows::USER_COLUMN_COUNT;
use super::{SqliteStore, append_in, get, query_all, query_one, update_and_audit, user_from};
use crate::queries::{
    DIRECTORY_LINK_OF, DIRECTORY_USERS, INSERT_DIRECTORY_LINK, INSERT_USER,
    SET_DIRECTORY_DISPLAY_NAME, UPDATE_DIRECTORY_USER, USER_BY_DIRECTORY_ID,
};

/// The link in columns `at` (directory id) and `at + 1` (display name).
fn link_from(row: &Row<'_>, at: usize) -> StoreResult<DirectoryLink> {
    Ok(DirectoryLink {
        directory_id: get(row, at)?,
        display_name: get(row, at + 1)?,
    })
}

impl DirectoryStore for SqliteStore {
    async fn directory_link_of(&self, user_id: i64) -> StoreResult<Option<DirectoryLink>> {
        self.read(move |conn| {
            query_one(conn, DIRECTORY_LINK_OF.sqlite(), [user_id], |row| {
                link_from(row, 0)
            })
        })
        .await
    }

    async fn user_by_directory_id(&self, directory_id: &str) -> StoreResult<Option<User>> {
        let directory_id = directory_id.to_owned();
        self.read(move |conn| {
            query_one(
                conn,
                USER_BY_DIRECTORY_ID.sqlite(),
                [directory_id],
                user_from,
            )
        })
        .await
    }

    async fn insert_directory_user(
        &self,
        user: NewUser,
        link: DirectoryLink,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        self.write(move |tx| {
            let id: i64 = tx.prepare_cached(INSERT_USER.sqlite())?.query_row(
                params![
                    user.username.as_str(),
                    user.email,
                    user.role.as_str(),
                    UserStatus::Active.as_str(),
                    user.password_hash,
                    event.at,
                ],
                |row| row.get(0),
            )?;
            tx.prepare_cached(INSERT_DIRECTORY_LINK.sqlite())?
                .execute(params![id, link.directory_id, link.display_name])?;
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn update_directory_user(
        &self,
        user_id: i64,
        username: Username,
        email: Option<String>,
        role: Role,
        display_name: Option<String>,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            tx.prepare_cached(SET_DIRECTORY_DISPLAY_NAME.sqlite())?
                .execute(params![display_name, user_id])?;
            update_and_audit(
                tx,
                UPDATE_DIRECTORY_USER.sqlite(),
                params![username.as_str(), email, role.as_str(), user_id],
                &event,
            )
        })
        .await
    }

    async fn directory_users(&self) -> StoreResult<Vec<(User, DirectoryLink)>> {
        self.read(|conn| {
            query_all(conn, DIRECTORY_USERS.sqlite(), [], |row| {
                Ok((user_from(row)?, link_from(row, USER_COLUMN_COUNT)?))
            })
        })
        .await
    }
}
