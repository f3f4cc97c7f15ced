use super::*;

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
    // Before the password is proved, one message: nobody learns whether
    // the account exists or is disabled. At the OTP step (reached only
    // with the right password) one message too, which says to wait for the
    // next code (a code used twice is the usual mistake there), and a
    // locked token reads exactly like a wrong code.
    let password_step: Vec<_> = refusals
        .iter()
        .filter(|(case, ..)| !matches!(*case, "wrong OTP" | "locked token"))
        .collect();
    let otp_step: Vec<_> = refusals
        .iter()
        .filter(|(case, ..)| matches!(*case, "wrong OTP" | "locked token"))
        .collect();
    for (step, refusals, words) in [
        ("password", &password_step, "not right"),
        ("OTP", &otp_step, "next code"),
    ] {
        let (_, status, alert) = refusals[0];
        assert!(
            alert.as_deref().is_some_and(|a| a.contains(words)),
            "{step} step: {refusals:?}"
        );
        for (case, other_status, other_alert) in refusals.iter() {
            assert_eq!((other_status, other_alert), (status, alert), "{case}");
        }
    }
    assert_eq!(password_step.len(), 3);
    assert_eq!(otp_step.len(), 2);
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
