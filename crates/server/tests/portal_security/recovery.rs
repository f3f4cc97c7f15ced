use super::*;

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
