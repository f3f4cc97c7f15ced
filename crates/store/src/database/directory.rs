//! The directory-link port, handed to the backend.

use latchkey_core::*;

use super::Database;

impl DirectoryStore for Database {
    async fn directory_link_of(&self, user_id: i64) -> StoreResult<Option<DirectoryLink>> {
        delegate!(self, s => s.directory_link_of(user_id))
    }
    async fn user_by_directory_id(&self, directory_id: &str) -> StoreResult<Option<User>> {
        delegate!(self, s => s.user_by_directory_id(directory_id))
    }
    async fn insert_directory_user(
        &self,
        user: NewUser,
        link: DirectoryLink,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        delegate!(self, s => s.insert_directory_user(user, link, event))
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
        delegate!(self, s => s.update_directory_user(user_id, username, email, role, display_name, event))
    }
    async fn directory_users(&self) -> StoreResult<Vec<(User, DirectoryLink)>> {
        delegate!(self, s => s.directory_users())
    }
}
