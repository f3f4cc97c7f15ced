//! The self-service actions besides unlocking, the help-desk pages and the
//! admin CLI's security-question commands, against a real `latchkey serve`
//! and the real `latchkey-token`.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::web::{Account, Page, Visitor};
use common::*;

/// The text of the element with this id (`<output id="…">text</output>`).
fn text_of(page: &Page, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = page.body.find(&marker)?;
    let rest = &page.body[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].trim().to_owned())
}

/// The `href` of the link with this id, its HTML escapes undone.
fn href_of(page: &Page, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\" href=\"");
    let start = page.body.find(&marker)? + marker.len();
    let end = page.body[start..].find('"')?;
    Some(unescape_html(&page.body[start..start + end]))
}

/// `&amp;`, `&quot;` and numeric character references (`&#38;`, `&#x2f;`)
/// made plain again.
fn unescape_html(text: &str) -> String {
    let mut plain = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        plain.push_str(&rest[..at]);
        let entity = &rest[at..];
        let end = entity.find(';').expect("an entity ends with ;");
        let name = &entity[1..end];
        let decoded = match name {
            "amp" => '&',
            "quot" => '"',
            "lt" => '<',
            "gt" => '>',
            _ => {
                let code = match name.strip_prefix("#x") {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => name.trim_start_matches('#').parse(),
                }
                .unwrap_or_else(|_| panic!("an entity the test knows: {name}"));
                char::from_u32(code).unwrap()
            }
        };
        plain.push(decoded);
        rest = &entity[end + 1..];
    }
    plain.push_str(rest);
    plain
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

fn audit(db: &Database) -> serde_json::Value {
    serde_json::from_slice(
        &db.admin(&["audit", "list", "--json", "--limit", "10000"], "")
            .stdout,
    )
    .unwrap()
}

#[test]
fn a_user_activates_a_new_soft_token_and_reports_one_lost() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "rosa");
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);

    let page = visitor.get("/self-service/tokens");
    assert_eq!(page.status, 200);
    let page = visitor.post("/self-service/tokens/new", &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<svg"),
        "a QR code of the activation link"
    );
    let serial = digits(&text_of(&page, "serial").expect("the serial"));
    let code = digits(&text_of(&page, "activation-code").expect("the activation code"));
    // The phone's link (the QR code) and the desktop's, with this token's
    // serial and code; the token opens the desktop one.
    let phone = href_of(&page, "phone-link").expect("a link for phones");
    assert_eq!(
        phone,
        format!(
            "{}/app/#activate?serial={serial}&activation_code={code}",
            server.url
        )
    );
    let link = href_of(&page, "desktop-link").expect("a link for the desktop app");
    assert!(link.starts_with("latchkey://activate?"), "{link}");
    let token = SoftToken::new();
    let out = token.run(&["activate", "--link", &link], &[PIN, PIN]);
    assert!(
        out.status.success(),
        "activate --link {link}: {}",
        stderr(&out)
    );
    let shown = db.admin_json(&["token", "show", &serial]);
    assert_eq!(shown["state"], "active");

    // Reported lost: suspended at once, and its OTPs no longer sign in.
    visitor.get("/self-service/tokens");
    // The first click asks once more and changes nothing.
    let page = visitor.post("/self-service/tokens/lost", &[("serial", &serial)]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"confirm-lost\""), "{}", page.body);
    assert_eq!(
        db.admin_json(&["token", "show", &serial])["state"],
        "active"
    );
    let page = visitor.post(
        "/self-service/tokens/lost",
        &[("serial", &serial), ("confirm", "yes")],
    );
    assert_eq!(page.location(), Some("/self-service/tokens?done=lost"));
    assert_eq!(
        db.admin_json(&["token", "show", &serial])["state"],
        "suspended"
    );
    let mut again = Visitor::new(&server.url);
    let page = again.sign_in("rosa", PASSWORD, &token.otp());
    assert_eq!(page.status, 401, "a lost token's OTP is refused");
    // Nobody can report another user's token.
    let mut other = Account::new(&db, "sven");
    let mut sven = Visitor::new(&server.url);
    other.sign_in_with_answers(&mut sven);
    let hotp_serial = db
        .admin_json(&["token", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["user"] == "rosa" && t["kind"] == "hotp")
        .map(|t| t["serial"].as_str().unwrap().to_owned())
        .expect("rosa's HOTP token is listed");
    sven.get("/self-service/tokens");
    let page = sven.post(
        "/self-service/tokens/lost",
        &[("serial", &hotp_serial), ("confirm", "yes")],
    );
    assert_eq!(page.status, 422);
    assert_eq!(
        db.admin_json(&["token", "show", &hotp_serial])["state"],
        "active"
    );
    let events = audit(&db).to_string();
    assert!(events.contains("token.lost"));
}

#[test]
fn the_help_desk_pages_serve_helpdesk_users_only_and_every_action_is_audited() {
    let db = Database::new(false);
    let server = db.serve();
    let out = db.admin(
        &[
            "user",
            "add",
            "hank",
            "--role",
            "helpdesk",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let hank_token = db.admin_json(&["token", "issue", "hank", "--kind", "hotp"]);
    let hank_hotp = latchkey_core::oath::KeyUri::parse(hank_token["otpauth_uri"].as_str().unwrap())
        .unwrap()
        .hotp()
        .unwrap();

    // The user who calls: a locked soft token, answers on file.
    let mut una = Account::new(&db, "una");
    let mut una_visitor = Visitor::new(&server.url);
    una.sign_in_with_answers(&mut una_visitor);
    let issued = db.admin_json(&["token", "issue", "una"]);
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let soft = SoftToken::new();
    soft.activate(&server, &issued);
    for _ in 0..5 {
        soft.code("999999");
    }
    let reset_code = soft.reset_code();
    // And ten wrong OTPs lock her tokens on the server.
    let mut locking = Visitor::new(&server.url);
    locking.post("/login", &[("username", "una"), ("password", PASSWORD)]);
    for _ in 0..10 {
        locking.post("/login/otp", &[("otp", "00000000")]);
    }

    // A plain user is not let in.
    assert_eq!(una_visitor.get("/helpdesk").status, 403);

    // The help desk signs in with both factors.
    let mut desk = Visitor::new(&server.url);
    let page = desk.sign_in("hank", PASSWORD, &hank_hotp.generate(0));
    assert_eq!(page.status, 303);
    let page = desk.get("/helpdesk?username=una");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(&serial.chars().take(5).collect::<String>())
    );
    assert!(
        page.body.contains("<td>yes</td>"),
        "the server-side lock shows"
    );

    let page = desk.post(
        "/helpdesk/unlock",
        &[
            ("username", "una"),
            ("serial", &serial),
            ("reset_code", &reset_code),
            ("caller_verified", "yes"),
        ],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let unlock = text_of(&page, "unlock-code").expect("an unlock code");
    let out = soft.run(&["unlock"], &[&unlock, "551177", "551177"]);
    assert!(
        out.status.success(),
        "the soft token takes it: {}",
        stderr(&out)
    );

    let page = desk.post(
        "/helpdesk/clear-lockouts",
        &[("username", "una"), ("confirmed", "yes")],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let page = desk.get("/helpdesk?username=una");
    assert!(!page.body.contains("<td>yes</td>"), "the locks are cleared");

    let page = desk.post(
        "/helpdesk/reset-questions",
        &[("username", "una"), ("confirmed", "yes")],
    );
    assert_eq!(page.status, 200);
    assert!(
        desk.get("/helpdesk?username=una")
            .body
            .contains("security answers: none")
    );

    // A token she reported lost and found again: the help desk resumes
    // it (suspended → active only).
    let out = db.admin(&["token", "suspend", &serial], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let page = desk.get("/helpdesk?username=una");
    let resume = format!("id=\"resume-{}", &serial[..5]);
    assert!(page.body.contains(&resume), "{}", page.body);
    let page = desk.post(
        "/helpdesk/resume",
        &[("username", "una"), ("serial", &serial)],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        db.admin_json(&["token", "show", &serial])["state"],
        "active"
    );
    let page = desk.post(
        "/helpdesk/resume",
        &[("username", "una"), ("serial", &serial)],
    );
    assert_eq!(page.status, 409, "only a suspended token is resumed");

    // The activation code of a token the help desk issues goes to the
    // user's mail, not to the help desk's screen (S49).
    let page = desk.post(
        "/helpdesk/issue-token",
        &[("username", "una"), ("confirmed", "yes")],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(text_of(&page, "activation-code").is_none());
    assert!(page.body.contains("mailed to them"), "{}", page.body);

    let page = desk.post(
        "/helpdesk/unlock",
        &[
            ("username", "una"),
            ("serial", "1"),
            ("reset_code", "1"),
            ("caller_verified", "yes"),
        ],
    );
    assert_eq!(
        page.status, 422,
        "a malformed serial is refused: {}",
        page.body
    );
    let page = desk.get("/helpdesk?username=nobody");
    assert!(page.body.contains("No user is named"));

    let events = audit(&db);
    let by_hank: Vec<String> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "hank")
        .map(|e| e["action"].as_str().unwrap_or("").to_owned())
        .collect();
    for action in [
        "unlock.issue",
        "token.reset",
        "password.unthrottle",
        "questions.reset",
        "token.resume",
        "token.issue",
    ] {
        assert!(
            by_hank.iter().any(|a| a == action),
            "{action} by hank in {by_hank:?}"
        );
    }
}

#[test]
fn the_admin_manages_the_question_pool_and_resets_answers() {
    let db = Database::new(false);
    let pool = db.admin_json(&["questions", "list"]);
    assert_eq!(
        pool.as_array().unwrap().len(),
        10,
        "ten questions to start with"
    );
    let added = db.admin_json(&[
        "questions",
        "add",
        "What was the name of your first teacher?",
    ]);
    assert!(added["id"].as_i64().is_some());
    let pool = db.admin_json(&["questions", "list"]);
    assert_eq!(pool.as_array().unwrap().len(), 11);
    let out = db.admin(
        &[
            "questions",
            "add",
            "What was the name of your first teacher?",
        ],
        "",
    );
    assert!(!out.status.success(), "no duplicates");
    let out = db.admin(&["questions", "add", "Why?"], "");
    assert!(!out.status.success(), "too short");

    let server = db.serve();
    let mut account = Account::new(&db, "vera");
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);
    let page = visitor.get("/self-service/questions");
    assert!(
        page.body
            .contains("What was the name of your first teacher?")
    );
    let out = db.admin(&["questions", "reset", "vera"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let mut again = Visitor::new(&server.url);
    let otp = account.next_otp();
    let page = again.sign_in("vera", PASSWORD, &otp);
    assert_eq!(
        page.location(),
        Some("/self-service/questions"),
        "she chooses again"
    );
}

/// The same administration over the JSON API (DESIGN: "the administration of
/// users, tokens, questions, API keys and audit"), with an admin API key
/// only: list and add questions, remove a user's answers.
#[test]
fn the_admin_api_keeps_the_question_pool_and_removes_answers() {
    let db = Database::new(false);
    let server = db.serve();
    let admin_key = db.api_key("ops", "admin");
    let auth_key = db.api_key("vpn", "authenticate");
    let question = "Which street did you live on at the age of ten?";

    assert_eq!(server.get("/api/v1/questions", None).status, 401);
    assert_eq!(server.get("/api/v1/questions", Some(&auth_key)).status, 403);
    let pool = server.get("/api/v1/questions", Some(&admin_key));
    assert_eq!(pool.status, 200);
    assert_eq!(
        pool.body,
        db.admin_json(&["questions", "list"]),
        "what the CLI lists"
    );
    assert_eq!(pool.body.as_array().unwrap().len(), 10);

    let body = serde_json::json!({ "text": question }).to_string();
    assert_eq!(
        server
            .post("/api/v1/questions", Some(&auth_key), &body)
            .status,
        403
    );
    let added = server.post("/api/v1/questions", Some(&admin_key), &body);
    assert_eq!(added.status, 201, "{:?}", added.body);
    let id = added.body["id"].as_i64().expect("the new question's id");
    for (bad, status) in [
        (body.clone(), 409),
        (serde_json::json!({ "text": "Why?" }).to_string(), 400),
        ("{\"text\": ".to_owned(), 400),
        (serde_json::json!({ "question": question }).to_string(), 422),
    ] {
        let refused = server.post("/api/v1/questions", Some(&admin_key), &bad);
        assert_eq!(refused.status, status, "{bad}: {:?}", refused.body);
        assert!(refused.body["error"].is_string(), "{:?}", refused.body);
    }
    let pool = server.get("/api/v1/questions", Some(&admin_key)).body;
    let pool = pool.as_array().unwrap();
    assert_eq!(pool.len(), 11, "only the one question was added");
    assert!(
        pool.iter()
            .any(|q| q["id"] == id && q["text"] == question && q["active"] == true)
    );

    let mut account = Account::new(&db, "wren");
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);
    assert_eq!(
        server
            .delete("/api/v1/users/wren/answers", Some(&auth_key))
            .status,
        403
    );
    assert_eq!(
        server
            .delete("/api/v1/users/nobody/answers", Some(&admin_key))
            .status,
        404
    );
    let removed = server.delete("/api/v1/users/wren/answers", Some(&admin_key));
    assert_eq!(removed.status, 204, "{:?}", removed.body);

    // Retiring: the added question leaves the choice; the pool never drops
    // below the five a user chooses.
    assert_eq!(
        server
            .delete(&format!("/api/v1/questions/{id}"), Some(&auth_key))
            .status,
        403
    );
    let retired = server.delete(&format!("/api/v1/questions/{id}"), Some(&admin_key));
    assert_eq!(retired.status, 204, "{:?}", retired.body);
    for (path, status) in [
        (format!("/api/v1/questions/{id}"), 409),
        ("/api/v1/questions/999999".to_owned(), 404),
        ("/api/v1/questions/first".to_owned(), 404),
    ] {
        let refused = server.delete(&path, Some(&admin_key));
        assert_eq!(refused.status, status, "{path}: {:?}", refused.body);
        assert!(refused.body["error"].is_string(), "{:?}", refused.body);
    }
    let pool = server.get("/api/v1/questions", Some(&admin_key)).body;
    let active: Vec<i64> = pool
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["active"] == true)
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    assert_eq!(active.len(), 10, "{pool}");
    assert!(!active.contains(&id));
    let mut again = Visitor::new(&server.url);
    let otp = account.next_otp();
    let page = again.sign_in("wren", PASSWORD, &otp);
    assert_eq!(
        page.location(),
        Some("/self-service/questions"),
        "she chooses again"
    );
    let page = again.get("/self-service/questions");
    assert!(
        page.body.contains(pool[0]["text"].as_str().unwrap()),
        "the choice page lists the pool"
    );
    assert!(
        !page.body.contains(question),
        "a retired question is not offered"
    );
    for other in &active[..5] {
        let out = db.admin(&["questions", "retire", &other.to_string()], "");
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = db.admin(&["questions", "retire", &active[5].to_string()], "");
    assert_eq!(out.status.code(), Some(1), "five must stay active");
    assert!(stderr(&out).contains("at least"), "{}", stderr(&out));

    let rows = audit(&db);
    let by_ops = |action: &str, subject: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == action && r["subject"] == subject)
            .filter(|r| r["actor"].as_str().unwrap_or("").contains("ops"))
            .count()
    };
    assert_eq!(by_ops("questions.add", question), 1, "{rows}");
    assert_eq!(by_ops("questions.reset", "wren"), 1, "{rows}");
    assert_eq!(by_ops("questions.retire", question), 1, "{rows}");
}

#[test]
fn the_tokens_own_link_fills_in_the_reset_code_and_a_typo_says_which_kind() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "erin");
    let issued = db.admin_json(&["token", "issue", "erin"]);
    let token = SoftToken::new();
    token.activate(&server, &issued);
    let serial = issued["serial"].as_str().unwrap();
    let reset_code = token.reset_code();
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);

    // The link the locked token shows brings the code along, and only the
    // characters a reset code has are shown back.
    let page = visitor.get(&format!(
        "/self-service/unlock?serial={serial}&reset_code={reset_code}%22%3E%3Cb%3E"
    ));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!(
            "name=\"reset_code\" inputmode=\"numeric\" autocomplete=\"off\" value=\"{reset_code}\""
        )),
        "the reset code is filled in: {}",
        page.body
    );
    assert!(!page.body.contains("<b>"));
    assert!(!page.body.contains("id=\"confirm\""), "no confirmation box");

    // One digit wrong: the message says so, and nothing is issued.
    let mut typo: Vec<u8> = reset_code.bytes().filter(u8::is_ascii_digit).collect();
    typo[3] = if typo[3] == b'9' { b'0' } else { typo[3] + 1 };
    let typo = String::from_utf8(typo).unwrap();
    let page = visitor.post(
        "/self-service/unlock",
        &[("serial", serial), ("reset_code", typo.as_str())],
    );
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("One digit is wrong"), "{}", page.body);
    assert!(!page.body.contains("id=\"unlock-code\""));
    // Too few digits: says how many a code has and how many were typed.
    let page = visitor.post(
        "/self-service/unlock",
        &[("serial", serial), ("reset_code", &typo[..11])],
    );
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("has 12 digits"), "{}", page.body);
    assert!(page.body.contains("11 were typed"), "{}", page.body);
    assert!(
        !audit(&db).to_string().contains("unlock.issue"),
        "no unlock code was issued for a typo"
    );

    // The right code, with no box to tick: the unlock code.
    let page = visitor.post(
        "/self-service/unlock",
        &[("serial", serial), ("reset_code", reset_code.as_str())],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(text_of(&page, "unlock-code").is_some_and(|code| digits(&code).len() == 16));
}

#[test]
fn an_unknown_page_is_a_page_with_the_way_in_and_an_unknown_api_path_a_json_404() {
    let db = Database::new(false);
    let server = db.serve();
    let mut visitor = Visitor::new(&server.url);
    let page = visitor.get("/no-such-page");
    assert_eq!(page.status, 404);
    assert!(page.body.contains("There is no such page"), "{}", page.body);
    assert!(page.body.contains("href=\"/login\""), "{}", page.body);
    // Under /api/ a refusal is JSON, never a page (S55).
    let page = visitor.get("/api/v1/no-such-thing");
    assert_eq!(page.status, 404);
    assert!(
        page.body.starts_with("{\"error\":") && !page.body.contains("<html"),
        "{}",
        page.body
    );
}

#[test]
fn typed_answers_survive_a_refused_choice_of_questions() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "fay");
    let mut visitor = Visitor::new(&server.url);
    let otp = account.next_otp();
    let page = visitor.sign_in("fay", PASSWORD, &otp);
    assert_eq!(page.location(), Some("/self-service/questions"));
    visitor.get("/self-service/questions");
    // Question 1 chosen twice: refused, and nothing typed is lost.
    let fields: Vec<(String, String)> = (1..=5)
        .flat_map(|i| {
            let question = if i == 2 { 1 } else { i };
            [
                (format!("question_{i}"), question.to_string()),
                (format!("answer_{i}"), format!("typed answer {i}")),
            ]
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let page = visitor.post("/self-service/questions", &borrowed);
    assert_eq!(page.status, 422, "{}", page.body);
    for i in 1..=5 {
        assert!(
            page.body.contains(&format!(
                "name=\"answer_{i}\" autocomplete=\"off\" value=\"typed answer {i}\""
            )),
            "answer {i} is kept: {}",
            page.body
        );
    }
}
