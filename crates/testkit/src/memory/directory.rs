//! The directory-link port on the fake: accounts linked to directory
//! entries by the entry's immutable id.

use latchkey_core::*;

use super::{MemoryStore, conflict};

impl DirectoryStore for MemoryStore {
    async fn directory_link_of(&self, user_id: i64) -> StoreResult<Option<DirectoryLink>> {
        Ok(self.lock().directory_links.get(&user_id).cloned())
    }

    async fn user_by_directory_id(&self, directory_id: &str) -> StoreResult<Option<User>> {
        let s = self.lock();
        Ok(s.directory_links
            .iter()
            .find(|(_, link)| link.directory_id == directory_id)
            .and_then(|(user_id, _)| s.users.get(user_id).cloned()))
    }

    async fn insert_directory_user(
        &self,
        user: NewUser,
        link: DirectoryLink,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        if self
            .lock()
            .directory_links
            .values()
            .any(|l| l.directory_id == link.directory_id)
        {
            return Err(conflict("directory id"));
        }
        let id = self.insert_user(user, event).await?;
        self.lock().directory_links.insert(id, link);
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
        let mut s = self.lock();
        if s.user_named(&username).is_some_and(|u| u.id != user_id) {
            return Err(conflict(format!("user {username}")));
        }
        let Some(user) = s.users.get_mut(&user_id) else {
            return Ok(false);
        };
        user.username = username;
        user.email = email;
        user.role = role;
        if let Some(link) = s.directory_links.get_mut(&user_id) {
            link.display_name = display_name;
        }
        s.append(event);
        Ok(true)
    }

    async fn directory_users(&self) -> StoreResult<Vec<(User, DirectoryLink)>> {
        let s = self.lock();
        let mut users: Vec<(User, DirectoryLink)> = s
            .directory_links
            .iter()
            .filter_map(|(user_id, link)| s.users.get(user_id).map(|u| (u.clone(), link.clone())))
            .collect();
        users.sort_by(|a, b| a.0.username.cmp(&b.0.username));
        Ok(users)
    }
}
