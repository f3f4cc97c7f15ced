use super::*;

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
