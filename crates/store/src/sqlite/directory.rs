//! Accounts linked to directory entries, on SQLite.

use latchkey_core::*;
use rusqlite::params;

use super::rows::USER_COLUMN_COUNT;
use super::{SqliteStore, append_in, get, query_all, query_one, update_and_audit, user_from};
use crate::queries::{
    DIRECTORY_ID_OF, DIRECTORY_USERS, INSERT_DIRECTORY_LINK, INSERT_USER, UPDATE_DIRECTORY_USER,
    USER_BY_DIRECTORY_ID,
};

impl DirectoryStore for SqliteStore {
    async fn directory_id_of(&self, user_id: i64) -> StoreResult<Option<String>> {
        self.read(move |conn| {
            query_one(conn, DIRECTORY_ID_OF.sqlite(), [user_id], |row| get(row, 0))
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
        directory_id: String,
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
                .execute(params![id, directory_id])?;
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
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            update_and_audit(
                tx,
                UPDATE_DIRECTORY_USER.sqlite(),
                params![username.as_str(), email, role.as_str(), user_id],
                &event,
            )
        })
        .await
    }

    async fn directory_users(&self) -> StoreResult<Vec<(User, String)>> {
        self.read(|conn| {
            query_all(conn, DIRECTORY_USERS.sqlite(), [], |row| {
                Ok((user_from(row)?, get(row, USER_COLUMN_COUNT)?))
            })
        })
        .await
    }
}
