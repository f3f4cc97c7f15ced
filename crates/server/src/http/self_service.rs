//! The signed-in pages: the account and the self-service actions (the help
//! desk has its own, `helpdesk`). A recovery session (security questions, S28) reaches the unlock
//! and report-lost actions only.

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::{
    IssuedToken, PortalError, RecoverySession, SessionStage, Token, TokenKind, TokenState,
};
use zeroize::Zeroizing;

use super::pages::*;
use super::visit::{NoFields, PostedForm, Visit, refusal, refusal_text, server_error};

pub fn routes() -> Router<super::AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/self-service", get(self_service))
        .route("/self-service/unlock", get(unlock_page).post(unlock))
        .route("/self-service/tokens", get(tokens_page))
        .route("/self-service/tokens/lost", post(report_lost))
        .route("/self-service/tokens/reset", post(reset_own_token))
        .route("/self-service/tokens/new", post(new_token))
        .route(
            "/self-service/questions",
            get(questions_page).post(questions),
        )
        .route("/self-service/password", get(password_page).post(password))
}

async fn user_tokens(visit: &Visit, session: &RecoverySession) -> Result<Vec<Token>, Response> {
    visit
        .state
        .app
        .portal_tokens(session)
        .await
        .map_err(|e| server_error(&e))
}

#[derive(serde::Deserialize)]
struct Done {
    done: Option<String>,
}

async fn account(visit: Visit, Query(done): Query<Done>) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    let tokens = match user_tokens(&visit, &RecoverySession::from(&session)).await {
        Ok(tokens) => tokens.iter().map(token_row).collect(),
        Err(response) => return response,
    };
    let mut chrome = visit.chrome("My account");
    chrome.notice = match done.done.as_deref() {
        Some("questions") => Some("Your security questions are saved.".into()),
        Some("password") => {
            Some("Your password is changed. Your other sessions are signed out.".into())
        }
        _ => None,
    };
    let username = session.user().username.to_string();
    visit.page(
        StatusCode::OK,
        AccountPage {
            chrome,
            username,
            tokens,
        },
    )
}

async fn self_service(visit: Visit) -> Response {
    let Some(session) = visit.recovery_session() else {
        return visit.wrong_stage();
    };
    let recovery = session.stage() == SessionStage::Recovery;
    let chrome = visit.chrome(if recovery {
        "Get back in"
    } else {
        "Manage my account"
    });
    visit.page(StatusCode::OK, SelfServicePage { chrome, recovery })
}

#[derive(serde::Deserialize)]
struct Chosen {
    serial: Option<String>,
    /// Filled in by the token's own "Get an unlock code" link, so the code
    /// the locked token shows is not typed twice. A reset code is no
    /// secret: it yields nothing without a signed-in recovery session.
    reset_code: Option<String>,
}

/// A reset code from a link, shown back only as the digits and separators
/// a reset code can have.
fn reset_code_from_link(text: Option<String>) -> String {
    text.map(|text| {
        text.chars()
            .filter(|c| c.is_ascii_digit() || *c == '-' || *c == ' ')
            .take(20)
            .collect()
    })
    .unwrap_or_default()
}

fn soft_tokens(tokens: &[Token]) -> Vec<TokenRow> {
    tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Latchkey && t.state == TokenState::Active)
        .map(token_row)
        .collect()
}

fn unlock_form(
    visit: Visit,
    status: StatusCode,
    tokens: Vec<TokenRow>,
    chosen: Option<String>,
    reset_code: String,
    errors: FieldErrors,
    alert: Option<String>,
) -> Response {
    let mut chrome = visit.chrome("My soft token is locked");
    chrome.alert = alert;
    // Only a serial of the user's own soft tokens is shown back.
    let chosen = chosen.and_then(|wanted| {
        let digits: String = wanted.chars().filter(char::is_ascii_digit).collect();
        tokens
            .iter()
            .find(|t| {
                t.serial
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    == digits
            })
            .map(|t| t.serial.clone())
    });
    visit.page(
        status,
        UnlockPage {
            chrome,
            tokens,
            chosen,
            reset_code,
            errors,
        },
    )
}

async fn unlock_page(visit: Visit, Query(query): Query<Chosen>) -> Response {
    let Some(session) = visit.recovery_session() else {
        return visit.wrong_stage();
    };
    let tokens = match user_tokens(&visit, &session).await {
        Ok(tokens) => soft_tokens(&tokens),
        Err(response) => return response,
    };
    // With one soft token there is nothing to choose.
    let chosen = query
        .serial
        .clone()
        .or_else(|| (tokens.len() == 1).then(|| tokens[0].serial.clone()));
    unlock_form(
        visit,
        StatusCode::OK,
        tokens,
        chosen,
        reset_code_from_link(query.reset_code),
        FieldErrors::default(),
        None,
    )
}

/// "My soft token is locked": which token, and the code it shows.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct UnlockForm {
    serial: String,
    reset_code: String,
}

async fn unlock(
    PostedForm {
        visit,
        fields: UnlockForm { serial, reset_code },
    }: PostedForm<UnlockForm>,
) -> Response {
    let Some(session) = visit.recovery_session() else {
        return visit.wrong_stage();
    };
    let tokens = match user_tokens(&visit, &session).await {
        Ok(tokens) => soft_tokens(&tokens),
        Err(response) => return response,
    };
    let result = visit
        .state
        .app
        .portal_unlock(&session, &serial, &reset_code, &visit.source)
        .await;
    match result {
        Ok((code, mail)) => {
            visit.send_mail(mail);
            let serial = tokens
                .iter()
                .find(|t| {
                    t.serial
                        .chars()
                        .filter(char::is_ascii_digit)
                        .eq(serial.chars().filter(char::is_ascii_digit))
                })
                .map(|t| t.serial.clone())
                .unwrap_or(serial);
            let chrome = visit.chrome("Your unlock code");
            visit.page(
                StatusCode::OK,
                UnlockDonePage {
                    chrome,
                    serial,
                    code: code.grouped(),
                },
            )
        }
        Err(PortalError::Field { field, message }) => unlock_form(
            visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            tokens,
            Some(serial),
            reset_code,
            FieldErrors::one(field, message),
            None,
        ),
        Err(error) => match refusal(&error) {
            Some(status) => unlock_form(
                visit,
                status,
                tokens,
                Some(serial),
                reset_code,
                FieldErrors::default(),
                Some(refusal_text(&error)),
            ),
            None => server_error(&error),
        },
    }
}

async fn tokens_page(visit: Visit, Query(done): Query<Done>) -> Response {
    let Some(session) = visit.recovery_session() else {
        return visit.wrong_stage();
    };
    let tokens = match user_tokens(&visit, &session).await {
        Ok(tokens) => tokens.iter().map(token_row).collect(),
        Err(response) => return response,
    };
    let mut chrome = visit.chrome("My tokens");
    chrome.notice = match done.done.as_deref() {
        Some("lost") => Some("The token is reported lost and no longer works.".into()),
        Some("reset") => Some("The token is unlocked: its codes work again.".into()),
        _ => None,
    };
    visit.page(
        StatusCode::OK,
        TokensPage {
            chrome,
            tokens,
            can_issue: session.stage() == SessionStage::Full,
        },
    )
}

/// A token reported lost: which one, and (the second time) `confirm=yes`.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ReportLostForm {
    serial: String,
    confirm: String,
}

async fn report_lost(
    PostedForm {
        visit,
        fields: ReportLostForm { serial, confirm },
    }: PostedForm<ReportLostForm>,
) -> Response {
    let Some(session) = visit.recovery_session() else {
        return visit.wrong_stage();
    };
    let serial = serial.as_str();
    // One click must not take a token out of use (UX-REVIEW F22): the
    // first submit asks once more, naming the token.
    if confirm != "yes" {
        let serial: String = serial
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect();
        let chrome = visit.chrome("Report a token lost");
        return visit.page(StatusCode::OK, ReportLostPage { chrome, serial });
    }
    match visit
        .state
        .app
        .portal_report_lost(&session, serial, &visit.source)
        .await
    {
        Ok(()) => visit.redirect("/self-service/tokens?done=lost"),
        Err(error) => match refusal(&error) {
            Some(status) => visit.message(
                status,
                "Report a token lost",
                vec![refusal_text(&error)],
                Some(("/self-service/tokens", "Back to My tokens")),
            ),
            None => server_error(&error),
        },
    }
}

/// One of the user's tokens, by serial.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct TokenForm {
    serial: String,
}

/// "My token is locked": a recovery session clears its own token's
/// server-side lock (S46).
async fn reset_own_token(
    PostedForm {
        visit,
        fields: TokenForm { serial },
    }: PostedForm<TokenForm>,
) -> Response {
    let Some(session) = visit.recovery_session() else {
        return visit.wrong_stage();
    };
    match visit
        .state
        .app
        .portal_reset_own_token(&session, &serial, &visit.source)
        .await
    {
        Ok(mail) => {
            visit.send_mail(mail);
            visit.redirect("/self-service/tokens?done=reset")
        }
        Err(error) => match refusal(&error) {
            Some(status) => visit.message(
                status,
                "Unlock a token",
                vec![refusal_text(&error)],
                Some(("/self-service/tokens", "Back to My tokens")),
            ),
            None => server_error(&error),
        },
    }
}

async fn new_token(PostedForm { visit, .. }: PostedForm<NoFields>) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    match visit
        .state
        .app
        .portal_issue_token(&session, &visit.source)
        .await
    {
        Ok(mut issued) => {
            visit.send_mail(issued.notice.take());
            issued_page(visit, issued)
        }
        Err(error) => match refusal(&error) {
            Some(status) => {
                visit.message(status, "A new soft token", vec![refusal_text(&error)], None)
            }
            None => server_error(&error),
        },
    }
}

/// The serial and the activation code, with the two ways to open them: a
/// QR code of the phone app's link (`/app/#activate?…`: the fragment never
/// reaches a server log) and the `latchkey://activate?…` link the desktop
/// app and `latchkey-token activate --link` open.
fn issued_page(visit: Visit, issued: IssuedToken) -> Response {
    let Some(code) = issued.activation_code else {
        return server_error(&std::io::Error::other(
            "a soft token without activation code",
        ));
    };
    let server = visit.state.portal.base_url.clone();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("server", &server)
        .append_pair("serial", issued.serial.digits())
        .append_pair("activation_code", code.digits())
        .finish();
    let desktop_link = format!("latchkey://activate?{query}");
    let phone_link =
        super::app::phone_link(&visit.state, issued.serial.digits(), Some(code.digits()));
    let qr_svg = match qrcode::QrCode::new(phone_link.as_bytes()) {
        Ok(qr) => qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(192, 192)
            .build(),
        Err(e) => return server_error(&e),
    };
    let chrome = visit.chrome("Your new soft token");
    let page = TokenIssuedPage {
        chrome,
        serial: issued.serial.grouped(),
        serial_digits: issued.serial.digits().to_owned(),
        activation_code: code.grouped(),
        activation_digits: code.digits().to_owned(),
        server,
        qr_svg,
        phone_link,
        desktop_link,
    };
    visit.page(StatusCode::OK, page)
}

const QUESTION_FIELDS: [&str; 5] = [
    "question_1",
    "question_2",
    "question_3",
    "question_4",
    "question_5",
];
const ANSWER_FIELDS: [&str; 5] = ["answer_1", "answer_2", "answer_3", "answer_4", "answer_5"];

async fn questions_form(
    visit: Visit,
    status: StatusCode,
    selected: Vec<i64>,
    answers: Vec<Zeroizing<String>>,
    errors: FieldErrors,
) -> Response {
    let pool = match visit.state.app.portal_question_pool().await {
        Ok(pool) => pool,
        Err(e) => return server_error(&e),
    };
    let wanted = visit
        .state
        .app
        .policy()
        .portal
        .questions_to_answer
        .min(QUESTION_FIELDS.len());
    let slots = (0..wanted)
        .map(|i| QuestionSlot {
            selected: selected
                .get(i)
                .copied()
                .or_else(|| pool.get(i).map(|q| q.id))
                .unwrap_or_default(),
            answer: answers.get(i).cloned().unwrap_or_default(),
            question_error: errors.for_field(QUESTION_FIELDS[i]).map(str::to_owned),
            answer_error: errors.for_field(ANSWER_FIELDS[i]).map(str::to_owned),
        })
        .collect();
    let pool = pool
        .into_iter()
        .map(|q| PoolQuestion {
            id: q.id,
            text: q.text,
        })
        .collect();
    let mut chrome = visit.chrome("Your security questions");
    if !errors.0.is_empty() {
        chrome.alert = Some("Some answers need another look: see the messages below.".into());
    }
    visit.page(
        status,
        QuestionsSetupPage {
            chrome,
            pool,
            slots,
        },
    )
}

async fn questions_page(visit: Visit) -> Response {
    if visit.full_session().is_none() {
        return visit.wrong_stage();
    }
    questions_form(
        visit,
        StatusCode::OK,
        Vec::new(),
        Vec::new(),
        FieldErrors::default(),
    )
    .await
}

/// The questions chosen (their ids) and the answers, slot by slot; the
/// policy says how many slots the page shows.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct QuestionsForm {
    question_1: String,
    answer_1: Zeroizing<String>,
    question_2: String,
    answer_2: Zeroizing<String>,
    question_3: String,
    answer_3: Zeroizing<String>,
    question_4: String,
    answer_4: Zeroizing<String>,
    question_5: String,
    answer_5: Zeroizing<String>,
}

impl QuestionsForm {
    /// The slots in the page's order, as many as `QUESTION_FIELDS` names.
    fn slots(self) -> [(String, Zeroizing<String>); QUESTION_FIELDS.len()] {
        [
            (self.question_1, self.answer_1),
            (self.question_2, self.answer_2),
            (self.question_3, self.answer_3),
            (self.question_4, self.answer_4),
            (self.question_5, self.answer_5),
        ]
    }
}

async fn questions(
    PostedForm {
        visit,
        fields: form,
    }: PostedForm<QuestionsForm>,
) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    let wanted = visit
        .state
        .app
        .policy()
        .portal
        .questions_to_answer
        .min(QUESTION_FIELDS.len());
    let choices: Vec<(String, Zeroizing<String>)> = form.slots().into_iter().take(wanted).collect();
    let selected: Vec<i64> = choices
        .iter()
        .map(|(q, _)| q.parse().unwrap_or_default())
        .collect();
    // Typed again only if something is refused: a wrong choice of question
    // does not make the user type five answers again.
    let typed: Vec<Zeroizing<String>> = choices.iter().map(|(_, a)| a.clone()).collect();
    match visit
        .state
        .app
        .portal_set_answers(&session, choices, &visit.source)
        .await
    {
        Ok(()) => visit.redirect("/account?done=questions"),
        Err(PortalError::Field { field, message }) => {
            questions_form(
                visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                selected,
                typed,
                FieldErrors::one(field, message),
            )
            .await
        }
        Err(error) => match refusal(&error) {
            Some(status) => visit.message(
                status,
                "Your security questions",
                vec![refusal_text(&error)],
                None,
            ),
            None => server_error(&error),
        },
    }
}

fn password_form(visit: Visit, status: StatusCode, errors: FieldErrors) -> Response {
    let chrome = visit.chrome("Change my password");
    let fields = new_password_fields(true, &errors);
    visit.page(status, PasswordPage { chrome, fields })
}

async fn password_page(visit: Visit) -> Response {
    if visit.full_session().is_none() {
        return visit.wrong_stage();
    }
    password_form(visit, StatusCode::OK, FieldErrors::default())
}

/// "Change my password": the current one, a fresh OTP, the new one twice.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct PasswordForm {
    current_password: Zeroizing<String>,
    otp: Zeroizing<String>,
    password: Zeroizing<String>,
    password_confirm: Zeroizing<String>,
}

async fn password(
    PostedForm {
        visit,
        fields:
            PasswordForm {
                current_password: current,
                otp,
                password: new,
                password_confirm: confirm,
            },
    }: PostedForm<PasswordForm>,
) -> Response {
    let Some(session) = visit.full_session() else {
        return visit.wrong_stage();
    };
    match visit
        .state
        .app
        .portal_change_password(&session, current, otp.trim(), new, confirm, &visit.source)
        .await
    {
        Ok(mail) => {
            visit.send_mail(mail);
            visit.redirect("/account?done=password")
        }
        Err(PortalError::Field { field, message }) => password_form(
            visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            FieldErrors::one(field, message),
        ),
        Err(error) => match refusal(&error) {
            Some(status) => visit.message(
                status,
                "Change my password",
                vec![refusal_text(&error)],
                None,
            ),
            None => server_error(&error),
        },
    }
}
