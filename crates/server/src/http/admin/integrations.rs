//! The console's integrations: API keys, RADIUS clients and OIDC clients.
//! Each page lists what there is and adds one more; the secret it makes is
//! shown once, on the page that answers the form, and never again (only a
//! hash or a sealed copy is kept). Revoking a key and removing a client
//! ask for a fresh OTP first.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::ApiRole;
use latchkey_core::oidc::{OidcClientError, SigningAlgorithm};
use latchkey_core::radius::{RadiusClientError, RadiusMode};

use super::pages::{
    ApiKeyLine, ApiKeysPage, OidcLine, OidcPage, RadiusLine, RadiusPage, SecretPage,
};
use super::time::utc;
use super::{console, done, nav, posted_admin, refused};
use crate::http::visit::{PostedForm, Visit, server_error};

fn field<'a>(form: &'a PostedForm, name: &str) -> &'a str {
    form.fields.get(name).map_or("", String::as_str)
}

fn checked(form: &PostedForm, name: &str) -> bool {
    !field(form, name).is_empty()
}

/// A refusal in the words of the error, with the status its kind calls
/// for; nothing was changed.
fn not_done(visit: Visit, status: StatusCode, text: String, back: &'static str) -> Response {
    visit.message(
        status,
        "Not done",
        vec![text],
        Some((back, "Back to the list")),
    )
}

fn secret_page(
    visit: Visit,
    right: &latchkey_core::console::ConsoleRight,
    heading: String,
    text: Vec<String>,
    label: &str,
    secret: Option<String>,
    back: &str,
) -> Response {
    let page = SecretPage {
        chrome: visit.chrome(&heading),
        nav: nav(right, ""),
        heading,
        text,
        label: label.to_owned(),
        secret,
        back: back.to_owned(),
    };
    visit.page(StatusCode::OK, page)
}

pub(super) async fn api_keys(visit: Visit) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let keys = match visit.state.app.console_api_keys(&right.auditor()).await {
        Ok(keys) => keys,
        Err(e) => return server_error(&e),
    };
    let page = ApiKeysPage {
        chrome: visit.chrome("API keys"),
        nav: nav(&right, "api-keys"),
        keys: keys
            .iter()
            .map(|key| ApiKeyLine {
                name: key.name.clone(),
                role: key.role.to_string(),
                revoked: key.revoked,
                created: utc(key.created_at),
            })
            .collect(),
    };
    visit.page(StatusCode::OK, page)
}

pub(super) async fn create_api_key(form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let name = field(&form, "name").trim().to_owned();
    let Ok(role) = field(&form, "role").parse::<ApiRole>() else {
        return not_done(
            form.visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            "The role must be authenticate or admin.".into(),
            "/admin/api-keys",
        );
    };
    let visit = form.visit;
    match visit.state.app.create_api_key(&admin, &name, role).await {
        Ok(key) => secret_page(
            visit,
            &right,
            format!("API key {name} created"),
            vec![format!(
                "The key {name} has the role {role}. Give it to the application, which sends it as Authorization: Bearer KEY."
            )],
            "API key",
            Some(key.to_string()),
            "/admin/api-keys",
        ),
        Err(error) => refused(visit, error),
    }
}

pub(super) async fn revoke_api_key(Path(name): Path<String>, form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let back = "/admin/api-keys".to_owned();
    let form = match super::confirm::fresh_otp(
        form,
        &right,
        format!("/admin/api-keys/{name}/revoke"),
        format!("Revoking the API key {name}"),
        back.clone(),
    )
    .await
    {
        Ok(form) => form,
        Err(response) => return response,
    };
    let visit = form.visit;
    match visit.state.app.revoke_api_key(&admin, &name).await {
        Ok(()) => done(
            visit,
            &right,
            format!("The API key {name} is revoked: it opens nothing any more."),
            None,
            back,
        ),
        Err(error) => refused(visit, error),
    }
}

const MODES: [RadiusMode; 3] = [
    RadiusMode::OneStep,
    RadiusMode::TwoStep,
    RadiusMode::OtpOnly,
];

pub(super) async fn radius(visit: Visit) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let clients = match visit
        .state
        .app
        .console_radius_clients(&right.auditor())
        .await
    {
        Ok(clients) => clients,
        Err(e) => return radius_refused(visit, e),
    };
    let page = RadiusPage {
        chrome: visit.chrome("RADIUS clients"),
        nav: nav(&right, "radius"),
        clients: clients
            .iter()
            .map(|client| RadiusLine {
                name: client.name.clone(),
                address: client.address.clone(),
                mode: client.mode.to_string(),
                legacy: !client.require_message_authenticator,
                created: utc(client.created_at),
            })
            .collect(),
        modes: MODES.iter().map(|mode| mode.as_str()).collect(),
    };
    visit.page(StatusCode::OK, page)
}

fn radius_refused(visit: Visit, error: RadiusClientError) -> Response {
    let status = match &error {
        RadiusClientError::BadName
        | RadiusClientError::BadAddress(_)
        | RadiusClientError::BadSecret => StatusCode::UNPROCESSABLE_ENTITY,
        RadiusClientError::Exists(_) => StatusCode::CONFLICT,
        RadiusClientError::NoSuchClient(_) => StatusCode::NOT_FOUND,
        _ => return server_error(&error),
    };
    not_done(visit, status, error.to_string(), "/admin/radius")
}

pub(super) async fn add_radius(form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let name = field(&form, "name").trim().to_owned();
    let address = field(&form, "address").trim().to_owned();
    let legacy = checked(&form, "legacy");
    let Ok(mode) = field(&form, "mode").parse::<RadiusMode>() else {
        return not_done(
            form.visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            "The mode must be one-step, two-step or otp-only.".into(),
            "/admin/radius",
        );
    };
    let visit = form.visit;
    match visit
        .state
        .app
        .add_radius_client(&admin, &name, &address, mode, None, !legacy)
        .await
    {
        Ok(secret) => {
            let mut text = vec![format!(
                "The RADIUS client {name} may ask from {address} in {mode} mode."
            )];
            if legacy {
                text.push("Its requests are accepted without Message-Authenticator: such requests can be forged (Blast-RADIUS, CVE-2024-3596).".into());
            }
            text.push("Enter this shared secret on the device.".into());
            secret_page(
                visit,
                &right,
                format!("RADIUS client {name} added"),
                text,
                "shared secret",
                secret.map(|s| s.to_string()),
                "/admin/radius",
            )
        }
        Err(error) => radius_refused(visit, error),
    }
}

pub(super) async fn remove_radius(Path(name): Path<String>, form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let back = "/admin/radius".to_owned();
    let form = match super::confirm::fresh_otp(
        form,
        &right,
        format!("/admin/radius/{name}/remove"),
        format!("Removing the RADIUS client {name}"),
        back.clone(),
    )
    .await
    {
        Ok(form) => form,
        Err(response) => return response,
    };
    let visit = form.visit;
    match visit.state.app.remove_radius_client(&admin, &name).await {
        Ok(()) => done(
            visit,
            &right,
            format!("The RADIUS client {name} is removed: its requests are no longer answered."),
            None,
            back,
        ),
        Err(error) => radius_refused(visit, error),
    }
}

pub(super) async fn oidc(visit: Visit) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let clients = match visit.state.app.console_oidc_clients(&right.auditor()).await {
        Ok(clients) => clients,
        Err(e) => return oidc_refused(visit, e),
    };
    let page = OidcPage {
        chrome: visit.chrome("OIDC clients"),
        nav: nav(&right, "oidc"),
        clients: clients
            .iter()
            .map(|client| OidcLine {
                name: client.name.clone(),
                client_id: client.client_id.clone(),
                public: client.is_public(),
                redirect_uris: client.redirect_uris.clone(),
                algorithm: client.id_token_algorithm.as_str().to_owned(),
                created: utc(client.created_at),
            })
            .collect(),
    };
    visit.page(StatusCode::OK, page)
}

fn oidc_refused(visit: Visit, error: OidcClientError) -> Response {
    let status = match &error {
        OidcClientError::BadName
        | OidcClientError::NoRedirectUri
        | OidcClientError::BadRedirectUri(_) => StatusCode::UNPROCESSABLE_ENTITY,
        OidcClientError::Exists(_) => StatusCode::CONFLICT,
        OidcClientError::NoSuchClient(_) => StatusCode::NOT_FOUND,
        _ => return server_error(&error),
    };
    // The CLI's words name its flag; the form has a field.
    let text = match &error {
        OidcClientError::NoRedirectUri => "An OIDC client needs at least one redirect URI.".into(),
        _ => error.to_string(),
    };
    not_done(visit, status, text, "/admin/oidc")
}

fn uris(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) async fn add_oidc(form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let name = field(&form, "name").trim().to_owned();
    let redirect_uris = uris(field(&form, "redirect_uris"));
    let post_logout_uris = uris(field(&form, "post_logout_uris"));
    let public = checked(&form, "public");
    let algorithm = if checked(&form, "es256") {
        SigningAlgorithm::Es256
    } else {
        SigningAlgorithm::Rs256
    };
    let visit = form.visit;
    match visit
        .state
        .app
        .add_oidc_client(
            &admin,
            &name,
            &redirect_uris,
            &post_logout_uris,
            public,
            algorithm,
        )
        .await
    {
        Ok(added) => {
            let mut text = vec![format!(
                "The OIDC client {name} has the client_id {}.",
                added.client_id
            )];
            if added.client_secret.is_none() {
                text.push(
                    "It is a public client: it has no secret and proves itself with PKCE alone."
                        .into(),
                );
            } else {
                text.push("Give the application its client_id and this client_secret.".into());
            }
            secret_page(
                visit,
                &right,
                format!("OIDC client {name} added"),
                text,
                "client_secret",
                added.client_secret.map(|s| s.to_string()),
                "/admin/oidc",
            )
        }
        Err(error) => oidc_refused(visit, error),
    }
}

pub(super) async fn remove_oidc(Path(name): Path<String>, form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let back = "/admin/oidc".to_owned();
    let form = match super::confirm::fresh_otp(
        form,
        &right,
        format!("/admin/oidc/{name}/remove"),
        format!("Removing the OIDC client {name}, with every sign-in and token it was given,"),
        back.clone(),
    )
    .await
    {
        Ok(form) => form,
        Err(response) => return response,
    };
    let visit = form.visit;
    match visit.state.app.remove_oidc_client(&admin, &name).await {
        Ok(()) => done(
            visit,
            &right,
            format!("The OIDC client {name} is removed, with every token it was given."),
            None,
            back,
        ),
        Err(error) => oidc_refused(visit, error),
    }
}
