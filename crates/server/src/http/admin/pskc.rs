//! The console's PSKC import: a hardware-token vendor's key container (RFC
//! 6030) pasted as XML, with the file's password or pre-shared key (hex),
//! read by the same decoder and put into the stock by the same core path
//! as `latchkey admin import --format pskc` (`import_stock_file`): all or
//! nothing, a dry run by default, one `token.import` audit row. The page
//! answers with the serials only; neither the file, nor its password or
//! key, nor a seed is ever sent back.

use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::oath::Serial;
use latchkey_core::stock::StockFileError;
use latchkey_pskc::{Options, Password, PreSharedKey, Unlock};
use zeroize::Zeroizing;

use super::pages::{ImportPage, PskcReportView, PskcTokenView};
use super::{nav, posted_admin, refused};
use crate::admin::import::stock_request;
use crate::http::visit::{PostedForm, Visit, server_error};

/// What opens the file, from the form: its password, its pre-shared key
/// in hex, or nothing (secrets in the clear); a refusal's words otherwise.
fn unlock_of(password: &str, key_hex: &str) -> Result<Unlock, String> {
    match (password.is_empty(), key_hex.trim().is_empty()) {
        (true, true) => Ok(Unlock::Nothing),
        (false, true) => Ok(Unlock::Password(Password::new(password.as_bytes()))),
        (true, false) => PreSharedKey::from_hex(key_hex.trim())
            .map(Unlock::PreSharedKey)
            .map_err(|e| format!("The pre-shared key is not usable: {e}.")),
        (false, false) => Err("Give the file's password or its pre-shared key, not both.".into()),
    }
}

/// `POST /admin/import/pskc`: fields `pskc` (the XML), `password` or
/// `psk` (hex), and `dry_run`.
pub(super) async fn submit(form: PostedForm) -> Response {
    let (form, right, admin) = match posted_admin(form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let PostedForm { visit, mut fields } = form;
    let xml = Zeroizing::new(fields.remove("pskc").unwrap_or_default());
    let password = Zeroizing::new(fields.remove("password").unwrap_or_default());
    let key_hex = Zeroizing::new(fields.remove("psk").unwrap_or_default());
    let dry_run = fields.get("dry_run").is_some_and(|v| !v.is_empty());
    let refusal = |why: String| PskcReportView {
        dry_run,
        refusal: Some(format!("{why} Nothing was imported.")),
        tokens: Vec::new(),
    };
    let answer = |visit: Visit, status: StatusCode, report: PskcReportView| {
        let page = ImportPage {
            chrome: visit.chrome("Import"),
            nav: nav(&right, "import"),
            report: None,
            pskc: Some(report),
        };
        visit.page(status, page)
    };
    if xml.trim().is_empty() {
        return answer(
            visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            refusal("There is nothing to import: paste the PSKC file's XML.".into()),
        );
    }
    let unlock = match unlock_of(&password, &key_hex) {
        Ok(unlock) => unlock,
        Err(why) => return answer(visit, StatusCode::UNPROCESSABLE_ENTITY, refusal(why)),
    };
    // PBKDF2 and AES take a while on a large file: off the async workers.
    let decoded = tokio::task::spawn_blocking(move || {
        latchkey_pskc::decode(xml.as_bytes(), &unlock, &Options::default())
    })
    .await;
    let keys = match decoded {
        Ok(Ok(decoded)) => decoded.keys,
        Ok(Err(e)) => {
            return answer(
                visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                refusal(format!("The file was refused: {e}.")),
            );
        }
        Err(e) => return server_error(&e),
    };
    let requests = keys
        .into_iter()
        .map(|key| (key.position, stock_request(key)))
        .collect();
    let detail = "PSKC file pasted on the console";
    let stocked = visit
        .state
        .app
        .import_stock_file(&admin, requests, detail, dry_run)
        .await;
    match stocked {
        Ok(tokens) => answer(
            visit,
            StatusCode::OK,
            PskcReportView {
                dry_run,
                refusal: None,
                tokens: tokens
                    .into_iter()
                    .map(|token| PskcTokenView {
                        serial_grouped: token
                            .serial
                            .parse::<Serial>()
                            .map(|s| s.grouped())
                            .unwrap_or(token.serial),
                        vendor_serial: token.vendor_serial,
                        kind: token.kind.to_string(),
                    })
                    .collect(),
            },
        ),
        Err(StockFileError::Token(position, error)) => answer(
            visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            refusal(format!(
                "Key package {position} (counting from 1) cannot be imported: {error}."
            )),
        ),
        Err(StockFileError::Admin(error)) => refused(visit, error),
    }
}
