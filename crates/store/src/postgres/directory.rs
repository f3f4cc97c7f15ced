//! Accounts linked to directory entries, on PostgreSQL.

use latchkey_core::*;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, append_in, fail, user_from};
use crate::queries::{
    DIRECTORY_LINK_OF, DIRECTORY_USERS, INSERT_DIRECTORY_LINK, INSERT_USER,
    SET_DIRECTORY_DISPLAY_NAME, UPDATE_DIRECTORY_USER, USER_BY_DIRECTORY_ID,
};

fn link_from(row: &PgRow) -> StoreResult<DirectoryLink> {
    Ok(DirectoryLink {
        directory_id: row.try_get("directory_id").map_err(fail)?,
        display_name: row.try_get("display_name").map_err(fail)?,
    })
}

impl DirectoryStore for PostgresStore {
    async fn directory_link_of(&self, user_id: i64) -> StoreResult<Option<DirectoryLink>> {
        let row = sqlx::query(DIRECTORY_LINK_OF.postgres())
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.as_ref().map(link_from).transpose()
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
        link: DirectoryLink,
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
            .bind(link.directory_id)
            .bind(link.display_name)
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
        display_name: Option<String>,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        sqlx::query(SET_DIRECTORY_DISPLAY_NAME.postgres())
            .bind(display_name)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        let changed = sqlx::query(UPDATE_DIRECTORY_USER.postgres())
            .bind(username.as_str().to_owned())
            .bind(email)
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected()
            > 0;
        if changed {
            append_in(&mut tx, &event).await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(changed)
    }

    async fn directory_users(&self) -> StoreResult<Vec<(User, DirectoryLink)>> {
        let rows = sqlx::query(DIRECTORY_USERS.postgres())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| Ok((user_from(row)?, link_from(row)?)))
            .collect()
    }
}
