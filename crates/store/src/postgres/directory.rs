//! Accounts linked to directory entries, on PostgreSQL.

use latchkey_core::*;
use sqlx::Row;

use super::{PostgresStore, append_in, fail, user_from};
use crate::queries::{
    DIRECTORY_ID_OF, DIRECTORY_USERS, INSERT_DIRECTORY_LINK, INSERT_USER, UPDATE_DIRECTORY_USER,
    USER_BY_DIRECTORY_ID,
};

impl DirectoryStore for PostgresStore {
    async fn directory_id_of(&self, user_id: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query(DIRECTORY_ID_OF.postgres())
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.map(|row| row.try_get(0).map_err(fail)).transpose()
    }

    async fn user_by_directory_id(&self, directory_id: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(USER_BY_DIRECTORY_ID.postgres())
            .bind(directory_id.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn insert_directory_user(
        &self,
        user: NewUser,
        directory_id: String,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(INSERT_USER.postgres())
            .bind(user.username.as_str().to_owned())
            .bind(user.email)
            .bind(user.role.as_str())
            .bind(UserStatus::Active.as_str())
            .bind(user.password_hash)
            .bind(event.at)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        let id: i64 = row.try_get(0).map_err(fail)?;
        sqlx::query(INSERT_DIRECTORY_LINK.postgres())
            .bind(id)
            .bind(directory_id)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(id)
    }

    async fn update_directory_user(
        &self,
        user_id: i64,
        username: Username,
        email: Option<String>,
        role: Role,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query(UPDATE_DIRECTORY_USER.postgres())
                .bind(username.as_str().to_owned())
                .bind(email)
                .bind(role.as_str())
                .bind(user_id),
            event,
        )
        .await
    }

    async fn directory_users(&self) -> StoreResult<Vec<(User, String)>> {
        let rows = sqlx::query(DIRECTORY_USERS.postgres())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| Ok((user_from(row)?, row.try_get("directory_id").map_err(fail)?)))
            .collect()
    }
}
