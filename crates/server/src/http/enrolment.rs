//! "Add an authenticator app" (self-service): a QR code of the new TOTP
//! token's `otpauth://` URI and its secret for typing; the token is active
//! once the user types one code from the app (core's `enrolment`).

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::{AppEnrolment, ENROLMENT_TTL, FullSession, PortalError};

use super::pages::{Chrome, FieldErrors};
use super::visit::{PostedForm, Visit, refusal, refusal_text, server_error};

pub fn routes() -> Router<super::AppState> {
    Router::new()
        .route(
            "/self-service/authenticator-app",
            get(start_page).post(start),
        )
        .route("/self-service/authenticator-app/confirm", post(confirm))
}

/// What the confirmation step shows.
pub struct Shown {
    pub serial: String,
    pub serial_digits: String,
    pub qr_svg: String,
    pub secret: String,
    pub issuer: String,
    pub account: String,
    pub digits: u8,
    pub period: u64,
}

#[derive(Template)]
#[template(path = "authenticator_app.html")]
pub struct AuthenticatorAppPage {
    pub chrome: Chrome,
    /// Whether the first step asks for a fresh OTP.
    pub needs_otp: bool,
    /// Minutes an unconfirmed enrolment waits.
    pub minutes: i64,
    /// The enrolment waiting for its first code, once started.
    pub shown: Option<Shown>,
    pub errors: FieldErrors,
}

fn shown(enrolment: &AppEnrolment) -> Result<Shown, qrcode::types::QrError> {
    let qr = qrcode::QrCode::new(enrolment.otpauth_uri.as_bytes())?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .build();
    Ok(Shown {
        serial: enrolment.serial.grouped(),
        serial_digits: enrolment.serial.digits().to_owned(),
        qr_svg,
        secret: enrolment.secret_grouped.to_string(),
        issuer: enrolment.issuer.clone(),
        account: enrolment.account.clone(),
        digits: enrolment.digits,
        period: enrolment.period,
    })
}

async fn page(
    visit: Visit,
    session: &FullSession,
    status: StatusCode,
    enrolment: Option<AppEnrolment>,
    errors: FieldErrors,
) -> Response {
    let needs_otp = match visit.state.app.portal_enrolment_needs_otp(session).await {
        Ok(needs) => needs,
        Err(e) => return server_error(&e),
    };
    let shown = match enrolment.as_ref().map(shown).transpose() {
        Ok(shown) => shown,
        Err(e) => return server_error(&e),
    };
    let mut chrome = visit.chrome("Add an authenticator app");
    if !errors.0.is_empty() {
        chrome.alert = Some(if shown.is_some() {
            "The app is not added yet: see the message below.".into()
        } else {
            "Nothing was added: see the message below.".into()
        });
    }
    visit.page(
        status,
        AuthenticatorAppPage {
            chrome,
            needs_otp,
            minutes: ENROLMENT_TTL / 60,
            shown,
            errors,
        },
    )
}

async fn start_page(visit: Visit) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    page(
        visit,
        &session,
        StatusCode::OK,
        None,
        FieldErrors::default(),
    )
    .await
}

fn refused(visit: Visit, error: &PortalError) -> Response {
    match refusal(error) {
        Some(status) => visit.message(
            status,
            "Add an authenticator app",
            vec![refusal_text(error)],
            Some(("/self-service/authenticator-app", "Start again")),
        ),
        None => server_error(error),
    }
}

/// "Add an authenticator app": a code from the user's present token.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct StartForm {
    otp: String,
}

async fn start(
    PostedForm {
        visit,
        fields: StartForm { otp },
    }: PostedForm<StartForm>,
) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    match visit
        .state
        .app
        .portal_start_app_enrolment(&session, &otp, &visit.source)
        .await
    {
        Ok(enrolment) => {
            page(
                visit,
                &session,
                StatusCode::OK,
                Some(enrolment),
                FieldErrors::default(),
            )
            .await
        }
        Err(PortalError::Field { field, message }) => {
            page(
                visit,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                FieldErrors::one(field, message),
            )
            .await
        }
        Err(error) => refused(visit, &error),
    }
}

/// The new app's token and the first code the app shows.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ConfirmForm {
    serial: String,
    code: String,
}

async fn confirm(
    PostedForm {
        visit,
        fields: ConfirmForm { serial, code },
    }: PostedForm<ConfirmForm>,
) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    let (serial, code) = (serial.as_str(), code.as_str());
    match visit
        .state
        .app
        .portal_confirm_app_enrolment(&session, serial, code, &visit.source)
        .await
    {
        Ok(mail) => {
            visit.send_mail(mail);
            visit.message(
                StatusCode::OK,
                "Your authenticator app is added",
                vec![
                    "The app's codes now work wherever Latchkey asks for a one-time password."
                        .into(),
                    "If you lose the phone, report the token lost under My tokens at once.".into(),
                ],
                Some(("/self-service/tokens", "Go to My tokens")),
            )
        }
        Err(PortalError::Field { field, message }) => {
            match visit.state.app.portal_app_enrolment(&session, serial).await {
                Ok(enrolment) => {
                    page(
                        visit,
                        &session,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some(enrolment),
                        FieldErrors::one(field, message),
                    )
                    .await
                }
                Err(error) => refused(visit, &error),
            }
        }
        Err(error) => refused(visit, &error),
    }
}
