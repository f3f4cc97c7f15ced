//! The console's users: search by part of a name or address, a user's
//! page, and the account actions.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::console::{TokenStatus, UserPage as UserData};
use latchkey_core::{AdminError, Role, UserStatus};

use super::pages::{AuditLine, Nav, SessionLine, TokenLine, UserLine, UserPage, UsersPage};
use super::time::utc;
use super::{console, done, nav, posted_admin, refused};
use crate::http::visit::{PostedForm, Visit, server_error};

/// Users per page of a search.
const PAGE: i64 = 50;

#[derive(serde::Deserialize)]
pub(super) struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

pub(super) async fn search(visit: Visit, Query(search): Query<Search>) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let users = match visit
        .state
        .app
        .console_search_users(&right.auditor(), &search.q, &search.after, PAGE)
        .await
    {
        Ok(users) => users,
        Err(e) => return server_error(&e),
    };
    let next = (users.len() as i64 == PAGE)
        .then(|| users.last())
        .flatten()
        .map(|last| {
            format!(
                "/admin/users?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("q", &search.q)
                    .append_pair("after", last.username.as_str())
                    .finish()
            )
        });
    let page = UsersPage {
        chrome: visit.chrome("Users"),
        nav: nav(&right, "users"),
        query: search.q,
        users: users
            .iter()
            .map(|user| UserLine {
                username: user.username.to_string(),
                email: user.email.clone().unwrap_or_default(),
                role: user.role.to_string(),
                status: user.status.to_string(),
            })
            .collect(),
        next,
    };
    visit.page(StatusCode::OK, page)
}

pub(super) async fn page(visit: Visit, Path(name): Path<String>) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let found = match visit.state.app.console_user(&right.auditor(), &name).await {
        Ok(found) => found,
        Err(e) => return server_error(&e),
    };
    let Some(data) = found else {
        return visit.message(
            StatusCode::NOT_FOUND,
            "No such user",
            vec![format!("No user is named {:?}.", name.trim())],
            Some(("/admin/users", "Search the users")),
        );
    };
    let nav = nav(&right, "users");
    let page = user_page(visit.chrome(data.user.username.as_str()), nav, data);
    visit.page(StatusCode::OK, page)
}

fn user_page(chrome: crate::http::pages::Chrome, nav: Nav, data: UserData) -> UserPage {
    let user = &data.user;
    UserPage {
        chrome,
        nav,
        username: user.username.to_string(),
        email: user.email.clone().unwrap_or_default(),
        role: user.role.to_string(),
        status: user.status.to_string(),
        active: user.status == UserStatus::Active,
        created: utc(user.created_at),
        has_answers: data.has_answers,
        password_failures: user.password_failures,
        password_blocked_until: if user.password_blocked_until > 0 {
            utc(user.password_blocked_until)
        } else {
            String::new()
        },
        answer_failures: user.answer_failures,
        tokens: data.tokens.iter().map(token_line).collect(),
        sessions: data
            .sessions
            .iter()
            .map(|session| SessionLine {
                reference: data_encoding::HEXLOWER.encode(&session.id_hash),
                stage: session.stage.to_string(),
                created: utc(session.created_at),
                last_seen: utc(session.last_seen),
            })
            .collect(),
        recent: data.recent.iter().map(audit_line).collect(),
        roles: ROLES.iter().map(|role| role.as_str()).collect(),
    }
}

const ROLES: [Role; 4] = [Role::User, Role::Helpdesk, Role::Auditor, Role::Admin];

pub(super) fn token_line(status: &TokenStatus) -> TokenLine {
    use latchkey_core::TokenState;
    let token = &status.token;
    TokenLine {
        serial: token.serial.to_string(),
        serial_grouped: token.serial.grouped(),
        kind: token.kind.to_string(),
        state: token.state.to_string(),
        owner: status
            .owner
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        failures: token.failures,
        locked: token.locked,
        soft: token.sealed_unlock_secret.is_some(),
        pin_locked: status.pin_locked,
        unlock_issued: status.unlock_issued_at.map(utc).unwrap_or_default(),
        can_suspend: token.state == TokenState::Active,
        can_resume: token.state == TokenState::Suspended,
        can_revoke: token.state != TokenState::Revoked,
        can_resync: token.kind == latchkey_core::TokenKind::Hotp
            && token.state == TokenState::Active,
    }
}

pub(super) fn audit_line(row: &latchkey_core::AuditRow) -> AuditLine {
    let event = &row.event;
    AuditLine {
        id: row.id,
        time: utc(event.at),
        actor: event.actor.clone(),
        action: event.action.to_string(),
        subject: event.subject.clone(),
        source: event.source.clone(),
        outcome: event.outcome.to_string(),
        detail: event.detail.clone(),
    }
}

pub(super) async fn act(
    Path((name, action)): Path<(String, String)>,
    form: PostedForm,
) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let what = match action.as_str() {
        "disable" => Some(format!("Disabling {name}")),
        "remove-answers" => Some(format!("Removing the security answers of {name}")),
        _ => None,
    };
    let form = match what {
        Some(what) => {
            let back = format!("/admin/users/{name}");
            let path = format!("{back}/{action}");
            match super::confirm::fresh_otp(form, &right, path, what, back).await {
                Ok(form) => form,
                Err(response) => return response,
            }
        }
        None => form,
    };
    let PostedForm { visit, fields } = form;
    let app = visit.state.app.clone();
    let helpdesk = admin.helpdesk();
    let outcome: Result<String, AdminError> = match action.as_str() {
        "disable" => app
            .set_user_status(&admin, &name, UserStatus::Disabled)
            .await
            .map(|()| format!("{name} is disabled; their sessions have ended.")),
        "enable" => app
            .set_user_status(&admin, &name, UserStatus::Active)
            .await
            .map(|()| format!("{name} is enabled and may sign in again.")),
        "end-sessions" => app
            .end_user_sessions(&admin, &name)
            .await
            .map(|ended| format!("{ended} sessions of {name} have ended.")),
        "end-session" => {
            let reference = fields.get("session").map_or("", String::as_str);
            let id_hash = data_encoding::HEXLOWER
                .decode(reference.as_bytes())
                .unwrap_or_default();
            app.end_user_session(&admin, &name, &id_hash)
                .await
                .map(|ended| {
                    if ended {
                        format!("That session of {name} has ended.")
                    } else {
                        format!("That session of {name} had ended already.")
                    }
                })
        }
        "reset-failures" => app
            .clear_lockouts(&helpdesk, &name)
            .await
            .map(|()| format!("The throttle and token locks of {name} are cleared.")),
        "remove-answers" => app.reset_answers(&helpdesk, &name).await.map(|()| {
            format!("The security answers of {name} are removed; they choose new ones at their next sign-in.")
        }),
        "role" => {
            let Ok(role) = fields.get("role").map_or("", String::as_str).parse::<Role>() else {
                return visit.message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Not done",
                    vec!["The role must be user, helpdesk, auditor or admin.".into()],
                    Some(("/admin/users", "Back to the users")),
                );
            };
            app.set_user_role(&admin, &name, role)
                .await
                .map(|()| format!("{name} has the role {role}."))
        }
        _ => return super::not_found(visit),
    };
    match outcome {
        Ok(text) => done(visit, &right, text, None, format!("/admin/users/{name}")),
        Err(error) => refused(visit, error),
    }
}
