//! The console's reads: users found by part of a name or address, a
//! user's whole picture, tokens by what they are, the audit log by filter,
//! the dashboard, the directory and the integrations' lists. Each takes an
//! [`Auditor`], the right both console roles have.

use super::{
    AuditSearch, ConsoleStore, Dashboard, DirectoryOverview, HourOfEvents, TokenSearch,
    TokenStatus, UserPage,
};
use crate::capability::Auditor;
use crate::context::Latchkey;
use crate::model::{ApiKey, AuditAction, AuditRow, Outcome, Question, Token, User, Username};
use crate::oidc::{OidcClient, OidcClientError, OidcStore};
use crate::ports::{RadiusClient, RadiusStore, Store, StoreError};
use crate::radius::RadiusClientError;

/// How many expiring activation codes the dashboard lists.
const DASHBOARD_ACTIVATIONS: i64 = 50;
/// How many audit rows a user's page shows.
const RECENT_ROWS: i64 = 20;
/// How many users without a second factor the dashboard lists.
const DASHBOARD_USERS: i64 = 50;

impl<S: Store + ConsoleStore> Latchkey<S> {
    /// Users whose name or mail address contains `part`, by name, after
    /// `after`, at most `limit` (1–500).
    pub async fn console_search_users(
        &self,
        _auditor: &Auditor,
        part: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<User>, StoreError> {
        self.store
            .search_users(&part.trim().to_lowercase(), after, limit.clamp(1, 500))
            .await
    }

    /// Everything the console shows about the user named `name`; `None` for
    /// a name that is not valid or not taken.
    pub async fn console_user(
        &self,
        auditor: &Auditor,
        name: &str,
    ) -> Result<Option<UserPage>, StoreError> {
        let Ok(username) = name.parse::<Username>() else {
            return Ok(None);
        };
        let Some(user) = self.store.user_by_name(&username).await? else {
            return Ok(None);
        };
        let mut tokens = Vec::new();
        for token in self.store.tokens_of_user(user.id).await? {
            tokens.push(
                self.token_status(token, Some(user.username.clone()))
                    .await?,
            );
        }
        let has_answers = !self.store.answers_of(user.id).await?.is_empty();
        let sessions = self.store.sessions_of_user(user.id).await?;
        let recent = self
            .console_audit(
                auditor,
                &AuditSearch {
                    user: user.username.to_string(),
                    ..AuditSearch::default()
                },
                i64::MAX,
                RECENT_ROWS,
            )
            .await?;
        Ok(Some(UserPage {
            user,
            tokens,
            has_answers,
            sessions,
            recent,
        }))
    }

    /// Tokens matching `search` with their owners, by serial, after the
    /// serial `after`, at most `limit` (1–500).
    pub async fn console_search_tokens(
        &self,
        _auditor: &Auditor,
        search: &TokenSearch,
        after: &str,
        limit: i64,
    ) -> Result<Vec<TokenStatus>, StoreError> {
        let tokens = self
            .store
            .search_tokens(search, after, limit.clamp(1, 500))
            .await?;
        let mut out = Vec::with_capacity(tokens.len());
        for token in tokens {
            let owner = self
                .store
                .user_by_id(token.user_id)
                .await?
                .map(|user| user.username);
            out.push(self.token_status(token, owner).await?);
        }
        Ok(out)
    }

    /// The owner named `name`'s row id, for a token search by owner;
    /// `None` for a name that is not valid or not taken.
    pub async fn console_owner_id(
        &self,
        _auditor: &Auditor,
        name: &str,
    ) -> Result<Option<i64>, StoreError> {
        let Ok(username) = name.parse::<Username>() else {
            return Ok(None);
        };
        Ok(self.store.user_by_name(&username).await?.map(|u| u.id))
    }

    /// Audit rows matching `search`, newest first, with ids below `before`,
    /// at most `limit` (1–10,000).
    pub async fn console_audit(
        &self,
        _auditor: &Auditor,
        search: &AuditSearch,
        before: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.store
            .search_audit(search, before, limit.clamp(1, 10_000))
            .await
    }

    /// Records that `auditor` exported `rows` audit rows as `format`, with
    /// the filter they gave (as text, cut to 200 characters): who took a
    /// copy of the log is itself a security event.
    pub async fn console_record_export(
        &self,
        auditor: &Auditor,
        format: &str,
        rows: usize,
        filter: &str,
    ) -> Result<(), StoreError> {
        let filter: String = filter.chars().take(200).collect();
        self.store
            .append(self.event(
                auditor.actor(),
                AuditAction::AuditExport,
                "audit",
                Outcome::Success,
                format!("{format} rows={rows} filter={filter}"),
            ))
            .await
    }

    /// Verifies the whole audit chain; the number of rows, or where it breaks.
    pub async fn console_verify_audit(
        &self,
        _auditor: &Auditor,
    ) -> Result<Result<u64, crate::audit::ChainError>, StoreError> {
        self.verify_audit().await
    }

    /// The console's front page. The hours come from the audit log's
    /// hourly summary, not from its rows, so the page costs the same over
    /// ten rows or ten million.
    pub async fn console_dashboard(&self, _auditor: &Auditor) -> Result<Dashboard, StoreError> {
        let now = self.now();
        let this_hour = now - now.rem_euclid(3600);
        let first = this_hour - 23 * 3600;
        let mut hours: Vec<HourOfEvents> = (0..24)
            .map(|i| HourOfEvents {
                hour: first + i * 3600,
                ..HourOfEvents::default()
            })
            .collect();
        for count in self.store.audit_hours(first).await? {
            let index = (count.hour - first).div_euclid(3600);
            if let Some(hour) = usize::try_from(index).ok().and_then(|i| hours.get_mut(i)) {
                hour.add(&count);
            }
        }
        let mut activations_expiring = Vec::new();
        for token in self
            .store
            .activations_expiring(now, now + 24 * 3600, DASHBOARD_ACTIVATIONS)
            .await?
        {
            let owner = self
                .store
                .user_by_id(token.user_id)
                .await?
                .map(|user| user.username);
            activations_expiring.push(TokenStatus {
                token,
                owner,
                unlock_issued_at: None,
                pin_locked: false,
            });
        }
        Ok(Dashboard {
            tokens_by_state: self.store.token_state_counts().await?,
            users_without_second_factor: self
                .store
                .users_without_second_factor(DASHBOARD_USERS)
                .await?,
            hours,
            activations_expiring,
        })
    }

    /// The directory's side of the console: whether one is configured,
    /// how many accounts are linked to it, and its last sync.
    pub async fn console_directory(
        &self,
        _auditor: &Auditor,
    ) -> Result<DirectoryOverview, StoreError> {
        let accounts = self.store.directory_users().await?.len();
        let last_sync = self
            .store
            .search_audit(
                &AuditSearch {
                    action: AuditAction::DirectorySync.to_string(),
                    ..AuditSearch::default()
                },
                i64::MAX,
                1,
            )
            .await?
            .pop();
        Ok(DirectoryOverview {
            configured: self.directory.is_some(),
            accounts,
            last_sync,
        })
    }

    async fn token_status(
        &self,
        token: Token,
        owner: Option<Username>,
    ) -> Result<TokenStatus, StoreError> {
        let mut unlock_issued_at = None;
        if token.sealed_unlock_secret.is_some() {
            let search = AuditSearch {
                serial: token.serial.to_string(),
                action: AuditAction::UnlockIssue.to_string(),
                outcome: Outcome::Success.to_string(),
                ..AuditSearch::default()
            };
            unlock_issued_at = self
                .store
                .search_audit(&search, i64::MAX, 1)
                .await?
                .first()
                .map(|row| row.event.at);
        }
        let pin_locked = unlock_issued_at.is_some_and(|at| unlock_code_unused(&token, at));
        Ok(TokenStatus {
            token,
            owner,
            unlock_issued_at,
            pin_locked,
        })
    }
}

/// Whether no code of a time step after `issued_at`'s began was accepted
/// from `token`: the soft token has not been opened with the unlock code
/// issued then, as far as the server can tell.
fn unlock_code_unused(token: &Token, issued_at: i64) -> bool {
    let period = token.otp.period.max(1) as i64;
    token.last_used < issued_at / period
}

impl<S: Store> Latchkey<S> {
    /// Every API key, for the console's page (names, roles, whether
    /// revoked; the hashes stay in the store's rows).
    pub async fn console_api_keys(&self, _auditor: &Auditor) -> Result<Vec<ApiKey>, StoreError> {
        self.store.list_api_keys().await
    }

    /// The security-question pool, for the console's page.
    pub async fn console_questions(&self, _auditor: &Auditor) -> Result<Vec<Question>, StoreError> {
        self.store.questions().await
    }
}

impl<S: Store + RadiusStore> Latchkey<S> {
    /// Every RADIUS client, by name, for the console's page (the secrets
    /// stay sealed).
    pub async fn console_radius_clients(
        &self,
        _auditor: &Auditor,
    ) -> Result<Vec<RadiusClient>, RadiusClientError> {
        Ok(self.store.radius_clients().await?)
    }
}

impl<S: Store + OidcStore> Latchkey<S> {
    /// Every OIDC client, by name, for the console's page (the secrets
    /// stay sealed).
    pub async fn console_oidc_clients(
        &self,
        _auditor: &Auditor,
    ) -> Result<Vec<OidcClient>, OidcClientError> {
        Ok(self.store.oidc_clients().await?)
    }
}
