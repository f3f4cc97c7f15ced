//! The directory port over `latchkey-directory` (LDAP / Active Directory),
//! and its health for `/readyz` and `/metrics`.
//!
//! Every call to the LDAP client runs in a task of its own: a hostile or
//! broken server whose answer makes the client's parser panic fails that
//! one call as "unavailable", never the node.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use latchkey_core::{
    BoxFuture, DirectoryEntry, DirectoryLookup, DirectoryUnavailable, Role, UserDirectory,
};
use latchkey_directory::{AuthError, Directory, DirectoryUser, LookupError};
use zeroize::Zeroizing;

/// The directory as the domain uses it, with what its last answers said
/// of its health.
#[derive(Clone, Debug)]
pub struct DirectoryPort {
    directory: Directory,
    health: Arc<Health>,
}

#[derive(Debug, Default)]
struct Health {
    /// 0: not asked yet; [`UP`]: answered last time; [`DOWN`]: did not.
    state: AtomicU8,
    errors: AtomicU64,
    cause: Mutex<Option<String>>,
}

const UP: u8 = 1;
const DOWN: u8 = 2;

/// The directory's state as `/readyz` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryState {
    /// Not asked anything yet.
    Unknown,
    /// Answered the last question.
    Up,
    /// Did not answer the last question; why.
    Down(String),
}

impl DirectoryPort {
    /// The port over a checked directory configuration.
    pub fn new(directory: Directory) -> DirectoryPort {
        DirectoryPort {
            directory,
            health: Arc::new(Health::default()),
        }
    }

    /// The adapter itself, for `directory test` and the schedule.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// What the last answer said.
    pub fn state(&self) -> DirectoryState {
        match self.health.state.load(Ordering::Relaxed) {
            UP => DirectoryState::Up,
            DOWN => DirectoryState::Down(
                self.health
                    .cause
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
                    .unwrap_or_default(),
            ),
            _ => DirectoryState::Unknown,
        }
    }

    /// Asks the directory something cheap (a search for a name no one
    /// has), so that the state is current.
    pub async fn probe(&self) -> DirectoryState {
        let _ = self.find("latchkey-readiness-probe").await;
        self.state()
    }

    /// `/metrics` lines: `latchkey_directory_up` and the error counter.
    pub fn render_metrics(&self) -> String {
        let up = u8::from(self.health.state.load(Ordering::Relaxed) != DOWN);
        format!(
            "# HELP latchkey_directory_up Whether the directory answered its last question.\n\
             # TYPE latchkey_directory_up gauge\n\
             latchkey_directory_up {up}\n\
             # HELP latchkey_directory_errors_total Directory questions no server answered.\n\
             # TYPE latchkey_directory_errors_total counter\n\
             latchkey_directory_errors_total {}\n",
            self.health.errors.load(Ordering::Relaxed)
        )
    }

    fn answered(health: &Health) {
        health.state.store(UP, Ordering::Relaxed);
    }

    fn failed(health: &Health, cause: String) -> DirectoryUnavailable {
        health.state.store(DOWN, Ordering::Relaxed);
        health.errors.fetch_add(1, Ordering::Relaxed);
        *health.cause.lock().unwrap_or_else(PoisonError::into_inner) = Some(cause.clone());
        DirectoryUnavailable(cause)
    }
}

/// The entry as the domain sees it.
pub fn entry_of(user: DirectoryUser) -> DirectoryEntry {
    DirectoryEntry {
        id: user.id,
        dn: user.dn,
        username: user.username,
        email: user.email,
        display_name: user.display_name,
        role: match user.role {
            latchkey_directory::Role::User => Role::User,
            latchkey_directory::Role::Helpdesk => Role::Helpdesk,
            latchkey_directory::Role::Admin => Role::Admin,
        },
        refusal: user.refusal.map(|r| r.to_string()),
    }
}

/// Runs `work` in a task of its own: a panic in the client is a failed
/// call.
async fn contained<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    tokio::spawn(work)
        .await
        .map_err(|e| format!("the directory client failed: {e}"))
}

fn lookup_answer(
    health: &Health,
    found: Result<Result<DirectoryUser, LookupError>, String>,
) -> DirectoryLookup {
    match found {
        Ok(Ok(user)) => {
            DirectoryPort::answered(health);
            Ok(Some(entry_of(user)))
        }
        Ok(Err(LookupError::Unavailable(down))) => {
            Err(DirectoryPort::failed(health, down.to_string()))
        }
        Ok(Err(refused)) => {
            DirectoryPort::answered(health);
            if !matches!(refused, LookupError::NotFound) {
                tracing::warn!(reason = %refused, "a directory entry was refused");
            }
            Ok(None)
        }
        Err(panicked) => Err(DirectoryPort::failed(health, panicked)),
    }
}

impl UserDirectory for DirectoryPort {
    fn find(&self, username: &str) -> BoxFuture<'static, DirectoryLookup> {
        let directory = self.directory.clone();
        let health = self.health.clone();
        let username = username.to_owned();
        Box::pin(async move {
            let found = contained(async move { directory.lookup(&username).await }).await;
            lookup_answer(&health, found)
        })
    }

    fn find_by_id(&self, id: &str) -> BoxFuture<'static, DirectoryLookup> {
        let directory = self.directory.clone();
        let health = self.health.clone();
        let id = id.to_owned();
        Box::pin(async move {
            let found = contained(async move { directory.lookup_by_id(&id).await }).await;
            lookup_answer(&health, found)
        })
    }

    fn verify(
        &self,
        entry: &DirectoryEntry,
        password: Zeroizing<String>,
    ) -> BoxFuture<'static, Result<bool, DirectoryUnavailable>> {
        let directory = self.directory.clone();
        let health = self.health.clone();
        let dn = entry.dn.clone();
        Box::pin(async move {
            let bound = contained(async move { directory.bind_user(&dn, &password).await }).await;
            match bound {
                Ok(Ok(())) => {
                    DirectoryPort::answered(&health);
                    Ok(true)
                }
                Ok(Err(AuthError::Unavailable(down))) => {
                    Err(DirectoryPort::failed(&health, down.to_string()))
                }
                Ok(Err(_refused)) => {
                    DirectoryPort::answered(&health);
                    Ok(false)
                }
                Err(panicked) => Err(DirectoryPort::failed(&health, panicked)),
            }
        })
    }

    fn equalise(&self, password: Zeroizing<String>) -> BoxFuture<'static, ()> {
        let directory = self.directory.clone();
        Box::pin(async move {
            let _ = contained(async move { directory.dummy_bind(&password).await }).await;
        })
    }
}

/// `serve`'s scheduled `directory sync`, every `every`, for as long as
/// the node runs. A failed round is logged and the next one tried.
pub async fn sync_on_schedule(app: crate::App, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    // A round that outlasts the period is followed by one period of rest,
    // not by a burst of the rounds it missed.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once: the node starts with accounts in line.
    let schedule = latchkey_core::Actor {
        name: "directory-sync".into(),
        source: "directory".into(),
    };
    loop {
        ticks.tick().await;
        // Recorded in the audit log: the console shows the last sync.
        match app.sync_directory_recorded(&schedule).await {
            Ok(report) => tracing::info!(
                checked = report.checked,
                changed = report.changes.len(),
                "directory sync"
            ),
            Err(error) => tracing::warn!(%error, "directory sync failed; tried again next time"),
        }
    }
}
