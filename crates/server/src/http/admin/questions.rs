//! The console's security-question pool: the questions, adding one, and
//! retiring one (users who answered it keep their answers).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;

use super::pages::{QuestionLine, QuestionsPage};
use super::{console, done, nav, posted_admin, refused};
use crate::http::visit::{PostedForm, Visit, server_error};

pub(super) async fn list(visit: Visit) -> Response {
    let (visit, right) = match console(visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    page(visit, &right, String::new()).await
}

async fn page(
    visit: Visit,
    right: &latchkey_core::console::ConsoleRight,
    text: String,
) -> Response {
    let pool = match visit.state.app.console_questions(&right.auditor()).await {
        Ok(pool) => pool,
        Err(e) => return server_error(&e),
    };
    let page = QuestionsPage {
        chrome: visit.chrome("Security questions"),
        nav: nav(right, "questions"),
        questions: pool
            .into_iter()
            .map(|q| QuestionLine {
                id: q.id,
                text: q.text,
                active: q.active,
            })
            .collect(),
        text,
    };
    visit.page(StatusCode::OK, page)
}

pub(super) async fn add(form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let PostedForm { visit, fields } = form;
    let text = fields.get("text").cloned().unwrap_or_default();
    match visit.state.app.add_question(&admin, &text).await {
        Ok(id) => done(
            visit,
            &right,
            format!("Question {id} is in the pool: users may choose it from now on."),
            None,
            "/admin/questions".into(),
        ),
        Err(error) => refused(visit, error),
    }
}

pub(super) async fn retire(Path(id): Path<String>, form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let visit = form.visit;
    let Ok(id) = id.parse::<i64>() else {
        return super::not_found(visit);
    };
    match visit.state.app.retire_question(&admin, id).await {
        Ok(()) => done(
            visit,
            &right,
            format!(
                "Question {id} is retired: no one may choose it any more; those who answered it keep their answers."
            ),
            None,
            "/admin/questions".into(),
        ),
        Err(error) => refused(visit, error),
    }
}
