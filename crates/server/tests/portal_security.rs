//! The portal's security requirements (SECURITY.md S22, S27–S39, S41), one
//! test per requirement, against a real `latchkey serve` over HTTP.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::web::{Account, Page, Visitor};
use common::*;

fn outbox_mails(db: &Database) -> Vec<String> {
    let mut mails: Vec<(std::path::PathBuf, String)> =
        std::fs::read_dir(db.dir.path().join("outbox"))
            .map(|entries| {
                entries
                    .filter_map(|e| {
                        // Only finished mails: one being written is a hidden `.part` file.
                        let path = e.ok()?.path();
                        if path.extension()? != "eml" {
                            return None;
                        }
                        let text = std::fs::read_to_string(&path).ok()?;
                        Some((path, text))
                    })
                    .collect()
            })
            .unwrap_or_default();
    mails.sort();
    mails.into_iter().map(|(_, text)| text).collect()
}

/// Waits for the background mail task (the answer does not wait for it).
fn wait_for_mails(db: &Database, count: usize) -> Vec<String> {
    for _ in 0..100 {
        let mails = outbox_mails(db);
        if mails.len() >= count {
            return mails;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    outbox_mails(db)
}

/// A quoted-printable mail body made plain again (soft breaks, `=3D`).
fn unfold(mail: &str) -> String {
    mail.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

fn reset_link(mail: &str) -> String {
    let text = unfold(mail);
    let start = text.find("/password/reset/").expect("a reset link");
    let end = text[start..]
        .find(|c: char| c.is_whitespace())
        .map(|e| start + e)
        .unwrap_or(text.len());
    text[start..end].to_owned()
}

/// The SQLite database as it is on disk: the file and its write-ahead log.
fn database_bytes(db: &Database) -> Vec<u8> {
    let mut bytes = std::fs::read(db.dir.path().join("latchkey.db")).unwrap();
    bytes.extend(std::fs::read(db.dir.path().join("latchkey.db-wal")).unwrap_or_default());
    bytes
}

fn audit_actions(db: &Database) -> String {
    String::from_utf8_lossy(
        &db.admin(&["audit", "list", "--json", "--limit", "10000"], "")
            .stdout,
    )
    .into_owned()
}

fn recovery_session(server: &Server, account: &mut Account) -> Visitor {
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);
    let mut recovering = Visitor::new(&server.url);
    let page = recovering.post(
        "/login",
        &[("username", &account.name), ("password", PASSWORD)],
    );
    assert_eq!(page.status, 303);
    let answers = challenge_answers(&mut recovering);
    let borrowed: Vec<(&str, &str)> = answers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let page = recovering.post("/login/questions", &borrowed);
    assert_eq!(page.status, 303, "questions: {}", page.body);
    assert_eq!(page.location(), Some("/self-service"));
    recovering
}

/// The right answers to the challenge on `/login/questions` (the accounts
/// answer question N with "answer N").
fn challenge_answers(visitor: &mut Visitor) -> Vec<(String, String)> {
    let page = visitor.get("/login/questions");
    assert_eq!(page.status, 200, "{}", page.body);
    let pool = [
        "What was the name of your first pet?",
        "In which town or city did your parents meet?",
        "What was the first name of your childhood best friend?",
        "What was the make of your first car or bicycle?",
        "What is the name of the street you grew up on?",
    ];
    let mut asked: Vec<usize> = pool
        .iter()
        .enumerate()
        .filter(|(_, q)| page.body.contains(*q))
        .map(|(i, _)| i + 1)
        .collect();
    asked.sort_by_key(|n| page.body.find(pool[n - 1]));
    assert_eq!(asked.len(), 2, "two questions are asked");
    asked
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("answer_{}", i + 1), format!("answer {n}")))
        .collect()
}

fn questions_asked(page: &Page) -> Vec<String> {
    page.body
        .match_indices("<label for=\"answer_")
        .filter_map(|(i, _)| {
            let rest = &page.body[i..];
            let open = rest.find('>')? + 1;
            let close = rest[open..].find('<')?;
            Some(rest[open..open + close].to_owned())
        })
        .collect()
}

#[test]
fn s22_unlock_codes_only_after_proof_rate_limited_audited_and_mailed() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "carol");
    let issued = db.admin_json(&["token", "issue", "carol"]);
    let token = SoftToken::new();
    token.activate(&server, &issued);
    let serial = issued["serial"].as_str().unwrap();
    let reset_code = token.reset_code();
    let form = [
        ("serial", serial),
        ("confirm", "yes"),
        ("reset_code", reset_code.as_str()),
    ];

    // No session, or only a password: no unlock code.
    let mut stranger = Visitor::new(&server.url);
    let page = stranger.post("/self-service/unlock", &form);
    assert_eq!((page.status, page.location()), (303, Some("/login")));
    let mut half = Visitor::new(&server.url);
    half.post("/login", &[("username", "carol"), ("password", PASSWORD)]);
    let page = half.post("/self-service/unlock", &form);
    assert_eq!((page.status, page.location()), (303, Some("/login/otp")));
    assert!(!page.body.contains("unlock-code"));

    // After the questions: five codes a day, then a refusal.
    let mut recovering = recovery_session(&server, &mut account);
    for attempt in 1..=5 {
        recovering.get(&format!("/self-service/unlock?serial={serial}"));
        let page = recovering.post("/self-service/unlock", &form);
        assert_eq!(page.status, 200, "code {attempt}: {}", page.body);
        assert!(page.body.contains("id=\"unlock-code\""));
    }
    let page = recovering.post("/self-service/unlock", &form);
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(!page.body.contains("id=\"unlock-code\""));
    // Another user's token is not theirs to unlock.
    let mut other = Account::new(&db, "mallory");
    let mut mallory = Visitor::new(&server.url);
    other.sign_in_with_answers(&mut mallory);
    mallory.get("/self-service/unlock");
    let page = mallory.post("/self-service/unlock", &form);
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(!page.body.contains("id=\"unlock-code\""));

    let audit = audit_actions(&db);
    assert_eq!(
        audit.matches("\"unlock.issue\"").count(),
        6,
        "five issued and one denied, all audited"
    );
    let mails = wait_for_mails(&db, 5);
    assert!(
        mails
            .iter()
            .filter(|m| m.contains("An unlock code was issued"))
            .count()
            >= 5,
        "each code is mailed to the user"
    );
}

#[test]
fn s27_changing_the_password_needs_the_current_one_and_a_fresh_otp() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "dave");
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);
    let mut elsewhere = Visitor::new(&server.url);
    let spent = account.next_otp();
    assert_eq!(
        elsewhere.sign_in("dave", PASSWORD, &spent).location(),
        Some("/account")
    );

    let new = "a brand new passphrase";
    visitor.get("/self-service/password");
    let otp = account.next_otp();
    let page = visitor.post(
        "/self-service/password",
        &[
            ("current_password", "not the password"),
            ("otp", &otp),
            ("password", new),
            ("password_confirm", new),
        ],
    );
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("id=\"current_password-error\""),
        "the error sits beside its field"
    );
    let page = visitor.post(
        "/self-service/password",
        &[
            ("current_password", PASSWORD),
            ("otp", "000000"),
            ("password", new),
            ("password_confirm", new),
        ],
    );
    assert_eq!(page.status, 422);
    assert!(page.body.contains("id=\"otp-error\""));
    // A spent OTP is not fresh.
    let page = visitor.post(
        "/self-service/password",
        &[
            ("current_password", PASSWORD),
            ("otp", &spent),
            ("password", new),
            ("password_confirm", new),
        ],
    );
    assert_eq!(page.status, 422, "a spent OTP is refused");
    let page = visitor.post(
        "/self-service/password",
        &[
            ("current_password", PASSWORD),
            ("otp", &otp),
            ("password", new),
            ("password_confirm", new),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    // The other session ended; this one goes on; the new password works.
    assert_eq!(elsewhere.get("/account").location(), Some("/login"));
    assert_eq!(visitor.get("/account").status, 200);
    let mut fresh = Visitor::new(&server.url);
    let otp = account.next_otp();
    assert_eq!(
        fresh.sign_in("dave", new, &otp).location(),
        Some("/account")
    );
    assert!(
        wait_for_mails(&db, 1)
            .iter()
            .any(|m| m.contains("Your password was changed"))
    );
}

#[test]
fn s28_a_recovery_session_reaches_the_recovery_actions_only() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "erin");
    let mut recovering = recovery_session(&server, &mut account);
    assert_eq!(recovering.get("/self-service").status, 200);
    assert_eq!(recovering.get("/self-service/unlock").status, 200);
    assert_eq!(recovering.get("/self-service/tokens").status, 200);
    for path in [
        "/account",
        "/self-service/password",
        "/self-service/questions",
        "/helpdesk",
    ] {
        let page = recovering.get(path);
        assert_eq!(page.status, 403, "{path} is closed to a recovery session");
    }
    let new = "another good passphrase";
    let page = recovering.post(
        "/self-service/password",
        &[
            ("current_password", PASSWORD),
            ("otp", "123456"),
            ("password", new),
            ("password_confirm", new),
        ],
    );
    assert_eq!(page.status, 403);
    let page = recovering.post(
        "/self-service/questions",
        &[("question_1", "1"), ("answer_1", "x")],
    );
    assert_eq!(page.status, 403);
    let page = recovering.post("/self-service/tokens/new", &[]);
    assert_eq!(page.status, 403, "the questions cannot enrol a token");
    // The password is unchanged.
    let mut fresh = Visitor::new(&server.url);
    let otp = account.next_otp();
    assert_eq!(
        fresh.sign_in("erin", PASSWORD, &otp).location(),
        Some("/account")
    );
}

#[test]
fn s29_answers_are_normalised_and_hashed() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "frank");
    let mut visitor = Visitor::new(&server.url);
    let otp = account.next_otp();
    visitor.sign_in("frank", PASSWORD, &otp);
    visitor.get("/self-service/questions");
    let answers = ["Almería ", "Rex", "Ana", "Volvo", "Elm Street"];
    let mut fields = Vec::new();
    for (i, answer) in answers.iter().enumerate() {
        fields.push((format!("question_{}", i + 1), (i + 1).to_string()));
        fields.push((format!("answer_{}", i + 1), answer.to_string()));
    }
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        visitor.post("/self-service/questions", &borrowed).status,
        303
    );
    // Stored as Argon2id hashes, never as text.
    let text = String::from_utf8_lossy(&database_bytes(&db)).to_lowercase();
    assert!(!text.contains("almería") && !text.contains("elm street"));
    assert!(text.contains("$argon2id$"));

    let mut recovering = Visitor::new(&server.url);
    recovering.post("/login", &[("username", "frank"), ("password", PASSWORD)]);
    let page = recovering.get("/login/questions");
    let asked = questions_asked(&page);
    let pool = [
        "What was the name of your first pet?",
        "In which town or city did your parents meet?",
        "What was the first name of your childhood best friend?",
        "What was the make of your first car or bicycle?",
        "What is the name of the street you grew up on?",
    ];
    // Other case, composed or decomposed accents, other spacing: the same answers.
    let variants = ["almeri\u{301}a", "  REX ", "ana.", "VOLVO!", "elm   street"];
    let given: Vec<(String, String)> = asked
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let n = pool.iter().position(|p| p == q).expect("a known question");
            (format!("answer_{}", i + 1), variants[n].to_owned())
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = given
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let page = recovering.post("/login/questions", &borrowed);
    assert_eq!(page.status, 303, "{}", page.body);
}

#[test]
fn s30_the_same_questions_are_asked_until_answered_and_failures_count() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "grace");
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);

    let mut first_try = Visitor::new(&server.url);
    first_try.post("/login", &[("username", "grace"), ("password", PASSWORD)]);
    let asked = questions_asked(&first_try.get("/login/questions"));
    assert_eq!(asked.len(), 2);
    for _ in 0..3 {
        let page = first_try.post(
            "/login/questions",
            &[("answer_1", "wrong"), ("answer_2", "wrong")],
        );
        assert_eq!(page.status, 401);
        assert_eq!(
            questions_asked(&page),
            asked,
            "the same questions after a failure"
        );
    }
    // A new sign-in does not cycle to other questions either.
    let mut second_try = Visitor::new(&server.url);
    second_try.post("/login", &[("username", "grace"), ("password", PASSWORD)]);
    assert_eq!(questions_asked(&second_try.get("/login/questions")), asked);
    // Failures count toward the account's throttle, shared with passwords:
    // after the free ones, even the right password is refused for a while.
    for _ in 0..3 {
        second_try.post(
            "/login/questions",
            &[("answer_1", "wrong"), ("answer_2", "wrong")],
        );
    }
    let conn = rusqlite::Connection::open(db.dir.path().join("latchkey.db")).unwrap();
    let (failures, blocked_until): (i64, i64) = conn
        .query_row(
            "SELECT password_failures, password_blocked_until FROM users WHERE username = 'grace'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(failures, 6, "each wrong challenge counts");
    assert!(
        blocked_until > 0,
        "past the free failures the account waits"
    );
    assert!(audit_actions(&db).matches("\"questions.verify\"").count() >= 6);
}

#[test]
fn s31_forgotten_password_answers_the_same_for_known_and_unknown_accounts() {
    let db = Database::new(false);
    let server = db.serve();
    Account::new(&db, "heidi");
    let mut visitor = Visitor::new(&server.url);
    visitor.get("/password/forgot");
    let known = visitor.post("/password/forgot", &[("username", "heidi")]);
    let unknown = visitor.post("/password/forgot", &[("username", "nobody-here")]);
    let malformed = visitor.post("/password/forgot", &[("username", "no/such user")]);
    assert_eq!(known.status, 200);
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    assert_eq!(
        (known.status, &known.body),
        (malformed.status, &malformed.body)
    );
    // The work happens after the answer: the mail comes for heidi only.
    let mails = wait_for_mails(&db, 1);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("heidi@example.org"));
}

#[test]
fn s32_reset_links_are_random_hashed_single_use_and_expire() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "ivan");
    let mut visitor = Visitor::new(&server.url);
    visitor.post("/password/forgot", &[("username", "ivan")]);
    visitor.post("/password/forgot", &[("username", "ivan")]);
    let mails = wait_for_mails(&db, 2);
    let first = reset_link(&mails[0]);
    let second = reset_link(&mails[1]);
    assert_ne!(first, second);
    let token = first.trim_start_matches("/password/reset/");
    assert!(token.len() >= 43, "256 random bits");
    let bytes = database_bytes(&db);
    assert!(
        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
        "only the link's hash is stored"
    );

    assert_eq!(visitor.get(&first).status, 200);
    let new = "reset passphrase one";
    let page = visitor.post(&first, &[("password", new), ("password_confirm", new)]);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(visitor.get(&first).status, 410, "used once");
    let page = visitor.post(
        &first,
        &[
            ("password", "x second try x"),
            ("password_confirm", "x second try x"),
        ],
    );
    assert_eq!(page.status, 410);
    // Expired: the second link, an hour and a second later.
    execute_sql(
        &db.url,
        "UPDATE password_resets SET expires_at = expires_at - 3601",
    );
    assert_eq!(visitor.get(&second).status, 410);
    let otp = account.next_otp();
    assert_eq!(
        Visitor::new(&server.url)
            .sign_in("ivan", new, &otp)
            .location(),
        Some("/self-service/questions")
    );
}

#[test]
fn s33_a_reset_signs_no_one_in_and_ends_every_session() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "judy");
    let mut signed_in = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut signed_in);
    assert_eq!(signed_in.get("/account").status, 200);

    let mut visitor = Visitor::new(&server.url);
    visitor.post("/password/forgot", &[("username", "judy")]);
    let link = reset_link(&wait_for_mails(&db, 1)[0]);
    visitor.get(&link);
    let new = "a new passphrase for her";
    let page = visitor.post(&link, &[("password", new), ("password_confirm", new)]);
    assert_eq!(
        (page.status, page.location()),
        (303, Some("/login?done=password-reset"))
    );
    assert!(visitor.session().is_none(), "no session from a reset");
    assert_eq!(visitor.get("/account").location(), Some("/login"));
    assert_eq!(
        signed_in.get("/account").location(),
        Some("/login"),
        "other sessions end"
    );
    // The second factor is still needed with the new password.
    let page = visitor.post("/login", &[("username", "judy"), ("password", new)]);
    assert_eq!(page.location(), Some("/login/otp"));
    assert_eq!(visitor.get("/account").location(), Some("/login/otp"));
}

#[test]
fn s34_links_come_from_the_base_url_never_the_host_header_and_are_rate_limited() {
    let db = Database::new(false);
    let server = db.serve_with(&[("LATCHKEY_PUBLIC_URL", "https://portal.example.org")]);
    Account::new(&db, "ken");
    let mut visitor = Visitor::new(&server.url);
    let csrf = visitor.csrf();
    for _ in 0..5 {
        let page = visitor.post_raw(
            "/password/forgot",
            &[("csrf", &csrf), ("username", "ken")],
            Some("evil.example.net"),
        );
        assert_eq!(page.status, 200);
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mails = wait_for_mails(&db, 3);
    assert_eq!(mails.len(), 3, "three links an hour per account");
    for mail in &mails {
        let text = unfold(mail);
        assert!(
            text.contains("https://portal.example.org/password/reset/"),
            "{text}"
        );
        assert!(!text.contains("evil.example.net"));
    }
    let link = reset_link(&mails[0]);
    let page = visitor.get(&link);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
}

#[test]
fn s35_a_new_session_id_after_each_factor() {
    for postgres in [false, true] {
        let db = Database::new(postgres);
        let server = db.serve();
        let mut account = Account::new(&db, "leo");
        let mut visitor = Visitor::new(&server.url);
        // A fixed id planted before sign-in is not adopted.
        visitor
            .cookies
            .insert("latchkey_session".into(), "planted-by-an-attacker".into());
        visitor.post("/login", &[("username", "leo"), ("password", PASSWORD)]);
        let after_password = visitor.session().expect("a session after the password");
        assert_ne!(after_password, "planted-by-an-attacker");
        assert!(after_password.len() >= 43, "at least 256 bits, base64url");
        let otp = account.next_otp();
        visitor.post("/login/otp", &[("otp", &otp)]);
        let after_otp = visitor.session().expect("a session after the OTP");
        assert_ne!(after_otp, after_password);
        // The id of the first step is dead.
        let mut replay = Visitor::new(&server.url);
        replay
            .cookies
            .insert("latchkey_session".into(), after_password);
        assert_eq!(replay.get("/account").location(), Some("/login"));
        assert_eq!(replay.get("/login/otp").location(), Some("/login"));
        assert_eq!(visitor.get("/self-service/questions").status, 200);
    }
}

#[test]
fn s36_cookies_are_http_only_same_site_and_secure_with_host_prefix_over_tls() {
    let db = Database::new(false);
    let plain = db.serve();
    let mut visitor = Visitor::new(&plain.url);
    let page = visitor.get("/login");
    let cookie = page.set_cookies().join("\n");
    assert!(cookie.contains("latchkey_csrf="));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    drop(plain);

    let tls = db.serve_with(&[("LATCHKEY_PUBLIC_URL", "https://portal.example.org")]);
    Account::new(&db, "mia");
    let mut visitor = Visitor::new(&tls.url);
    let page = visitor.get("/login");
    let cookies = page.set_cookies().join("\n");
    assert!(cookies.contains("__Host-latchkey_csrf="), "{cookies}");
    assert!(cookies.contains("; Secure"));
    let csrf = visitor.csrf();
    let page = visitor.post_raw(
        "/login",
        &[("csrf", &csrf), ("username", "mia"), ("password", PASSWORD)],
        None,
    );
    let session = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-latchkey_session="))
        .expect("a __Host- session cookie")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(
        !session.contains("Domain="),
        "__Host- cookies have no Domain"
    );
}

#[test]
fn s37_sessions_end_on_sign_out_idle_age_and_disable() {
    for postgres in [false, true] {
        let db = Database::new(postgres);
        let server = db.serve();
        let mut account = Account::new(&db, "nina");
        let sign_in = |account: &mut Account| {
            let mut visitor = Visitor::new(&server.url);
            let otp = account.next_otp();
            visitor.sign_in("nina", PASSWORD, &otp);
            assert_ne!(visitor.get("/account").location(), Some("/login"));
            visitor
        };
        // Sign-out: the old cookie is refused afterwards.
        let mut visitor = sign_in(&mut account);
        let cookie = visitor.session().unwrap();
        visitor.get("/self-service");
        visitor.post("/logout", &[]);
        let mut replay = Visitor::new(&server.url);
        replay.cookies.insert("latchkey_session".into(), cookie);
        assert_eq!(replay.get("/account").location(), Some("/login"));
        // Idle for more than 30 minutes.
        let visitor = sign_in(&mut account);
        execute_sql(&db.url, "UPDATE sessions SET last_seen = last_seen - 1801");
        let mut idle = Visitor::new(&server.url);
        idle.cookies
            .insert("latchkey_session".into(), visitor.session().unwrap());
        assert_eq!(idle.get("/account").location(), Some("/login"));
        // Older than 12 hours, however busy.
        let visitor = sign_in(&mut account);
        execute_sql(
            &db.url,
            "UPDATE sessions SET created_at = created_at - 43201",
        );
        let mut old = Visitor::new(&server.url);
        old.cookies
            .insert("latchkey_session".into(), visitor.session().unwrap());
        assert_eq!(old.get("/account").location(), Some("/login"));
        // The account disabled.
        let mut visitor = sign_in(&mut account);
        let out = db.admin(&["user", "disable", "nina"], "");
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(visitor.get("/account").location(), Some("/login"));
    }
}

#[test]
fn s38_every_form_needs_its_csrf_token_and_no_get_changes_anything() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "oscar");
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);
    let forms = [
        "/login",
        "/login/otp",
        "/login/questions",
        "/logout",
        "/password/forgot",
        "/password/reset/abc",
        "/self-service/unlock",
        "/self-service/tokens/lost",
        "/self-service/tokens/new",
        "/self-service/questions",
        "/self-service/password",
        "/helpdesk/unlock",
    ];
    for path in forms {
        let page = visitor.post_raw(path, &[("username", "oscar")], None);
        assert_eq!(page.status, 403, "POST {path} without a CSRF token");
        let page = visitor.post_raw(
            path,
            &[("csrf", "0123456789abcdef"), ("username", "oscar")],
            None,
        );
        assert_eq!(page.status, 403, "POST {path} with a wrong CSRF token");
    }
    // Another visitor's token does not fit this visitor's cookie.
    let mut other = Visitor::new(&server.url);
    let foreign = other.csrf();
    let page = visitor.post_raw("/logout", &[("csrf", &foreign)], None);
    assert_eq!(page.status, 403);
    // GET never signs out or changes anything.
    assert_eq!(visitor.get("/logout").status, 405);
    assert_eq!(visitor.get("/account").status, 200, "still signed in");
}

#[test]
fn s39_one_message_for_unknown_user_wrong_password_wrong_otp_and_locked_account() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "peggy");
    let mut refusals = Vec::new();
    let mut unknown = Visitor::new(&server.url);
    let page = unknown.post("/login", &[("username", "nobody"), ("password", PASSWORD)]);
    refusals.push(("unknown user", page.status, page.alert()));
    let mut wrong = Visitor::new(&server.url);
    let page = wrong.post(
        "/login",
        &[("username", "peggy"), ("password", "wrong password")],
    );
    refusals.push(("wrong password", page.status, page.alert()));
    let mut wrong_otp = Visitor::new(&server.url);
    wrong_otp.post("/login", &[("username", "peggy"), ("password", PASSWORD)]);
    let page = wrong_otp.post("/login/otp", &[("otp", "000000")]);
    refusals.push(("wrong OTP", page.status, page.alert()));
    // Locked: ten wrong OTPs lock the token; then the right one is refused.
    for _ in 0..10 {
        wrong_otp.post("/login/otp", &[("otp", "000000")]);
    }
    let otp = account.next_otp();
    let page = wrong_otp.post("/login/otp", &[("otp", &otp)]);
    refusals.push(("locked token", page.status, page.alert()));
    let out = db.admin(&["user", "disable", "peggy"], "");
    assert!(out.status.success());
    let mut disabled = Visitor::new(&server.url);
    let page = disabled.post("/login", &[("username", "peggy"), ("password", PASSWORD)]);
    refusals.push(("disabled account", page.status, page.alert()));
    let (_, status, alert) = &refusals[0];
    assert!(
        alert.as_deref().is_some_and(|a| a.contains("not right")),
        "{refusals:?}"
    );
    for (case, other_status, other_alert) in &refusals {
        assert_eq!((other_status, other_alert), (status, alert), "{case}");
    }
}

#[test]
fn s41_portal_pages_carry_the_security_headers() {
    let db = Database::new(false);
    let server = db.serve();
    let mut visitor = Visitor::new(&server.url);
    for path in ["/login", "/password/forgot", "/static/portal.css"] {
        let page = visitor.get(path);
        assert_eq!(page.status, 200, "{path}");
        let csp = page.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("script-src"), "no script is allowed");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
    }
    let page = visitor.get("/login");
    assert!(
        page.body.contains("<label for=\"username\">"),
        "labelled inputs"
    );
    assert!(!page.body.contains("<script"), "no JavaScript");
}

/// Accessibility basics of every form page: each visible input has a label
/// (`<label for>` naming its id), errors are tied to their field.
#[test]
fn every_input_of_the_portal_has_a_label() {
    let db = Database::new(false);
    let server = db.serve();
    let mut account = Account::new(&db, "quentin");
    let mut visitor = Visitor::new(&server.url);
    let mut pages = vec![visitor.get("/login"), visitor.get("/password/forgot")];
    visitor.post("/login", &[("username", "quentin"), ("password", PASSWORD)]);
    pages.push(visitor.get("/login/otp"));
    let otp = account.next_otp();
    visitor.post("/login/otp", &[("otp", &otp)]);
    pages.push(visitor.get("/self-service/questions"));
    pages.push(visitor.get("/self-service/password"));
    pages.push(visitor.get("/self-service/unlock"));
    pages.push(visitor.get("/account"));
    let wrong = visitor.post(
        "/self-service/password",
        &[
            ("current_password", "nope"),
            ("otp", "1"),
            ("password", "short"),
            ("password_confirm", "short"),
        ],
    );
    assert!(wrong.body.contains("aria-invalid=\"true\""));
    assert!(wrong.body.contains("aria-describedby=\"password-error\""));
    pages.push(wrong);
    for page in &pages {
        assert_eq!(page.body.matches("<html lang=\"en\">").count(), 1);
        for (start, _) in page.body.match_indices("<input") {
            let tag = &page.body[start..start + page.body[start..].find('>').unwrap()];
            if tag.contains("type=\"hidden\"") {
                continue;
            }
            let id = tag
                .split("id=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("an input without id: {tag}"));
            assert!(
                page.body.contains(&format!("for=\"{id}\"")),
                "input {id} has a label"
            );
        }
        for (start, _) in page.body.match_indices("<select") {
            let tag = &page.body[start..start + page.body[start..].find('>').unwrap()];
            let id = tag
                .split("id=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap();
            assert!(
                page.body.contains(&format!("for=\"{id}\"")),
                "select {id} has a label"
            );
        }
    }
}
