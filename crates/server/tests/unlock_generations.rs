//! SECURITY.md S45 (SECURITY-REVIEW H2): an unlock secret is handed out
//! once. A refresh makes a new generation and returns its secret, never an
//! existing one, so a copied vault's slots stay closed whatever a thief
//! phishes; the reset codes of a generation name it, so the server still
//! answers a slot of the generation before; older ones are retired.
//! Refresh is rate-limited, audited and mailed. Real server, real
//! `latchkey-token`, the real portal recovery journey.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::web::{Account, Visitor};
use common::{Database, PASSWORD, PIN, Server, SoftToken, stderr};
use latchkey_oath::{ResetCode, Serial, UnlockSecret, unlock_code};
use latchkey_token::record::CODE_CHECK_BITS;

/// A user `name` with an address, security answers and an HOTP token
/// (for the portal), and a soft token activated with the real
/// `latchkey-token`; the token and its serial.
fn user_with_soft_token(db: &Database, server: &Server, name: &str) -> (SoftToken, String) {
    let mut account = Account::new(db, name);
    account.sign_in_with_answers(&mut Visitor::new(&server.url));
    let issued = db.admin_json(&["token", "issue", name]);
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let token = SoftToken::following(server);
    token.activate(server, &issued);
    (token, serial)
}

/// A copy of the token's vault folder, as a thief would take it.
fn copy_vault(server: &Server, token: &SoftToken) -> SoftToken {
    let copy = SoftToken::following(server);
    for entry in std::fs::read_dir(token.home.path()).unwrap().flatten() {
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), copy.home.path().join(entry.file_name())).unwrap();
        }
    }
    copy
}

/// `POST /api/v1/tokens/refresh` as anyone may call it.
fn refresh(server: &Server, serial: &str, otp: &str) -> common::Response {
    let body = serde_json::json!({ "serial": serial, "otp": otp }).to_string();
    server.post("/api/v1/tokens/refresh", None, &body)
}

fn secret_of(answer: &common::Response) -> UnlockSecret {
    let hex = answer.body["unlock_secret"].as_str().expect("a secret");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    UnlockSecret::from_slice(&bytes).unwrap()
}

/// The next time step, so the token's next code is a new one.
fn next_step(server: &Server) {
    server.clock().advance(30);
}

/// The right answers to `/login/questions` ([`Account::sign_in_with_answers`]
/// answered question N with "answer N").
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
    let mut asked: Vec<usize> = (1..=pool.len())
        .filter(|n| page.body.contains(pool[n - 1]))
        .collect();
    asked.sort_by_key(|n| page.body.find(pool[n - 1]));
    asked
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("answer_{}", i + 1), format!("answer {n}")))
        .collect()
}

/// The portal's recovery journey (password and answers, then
/// "My soft token is locked"): the page it answers `reset_code` with.
fn portal_unlock_page(server: &Server, user: &str, serial: &str, reset_code: &str) -> String {
    let mut visitor = Visitor::new(&server.url);
    let page = visitor.post("/login", &[("username", user), ("password", PASSWORD)]);
    assert_eq!(page.status, 303, "{}", page.body);
    let answers = challenge_answers(&mut visitor);
    let borrowed: Vec<(&str, &str)> = answers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let page = visitor.post("/login/questions", &borrowed);
    // A user with one soft token lands on its unlock form.
    assert_eq!(
        page.location(),
        Some("/self-service/unlock"),
        "{}",
        page.body
    );
    let page = visitor.get(&format!("/self-service/unlock?serial={serial}"));
    assert_eq!(page.status, 200, "{}", page.body);
    let page = visitor.post(
        "/self-service/unlock",
        &[("serial", serial), ("reset_code", reset_code)],
    );
    page.body
}

/// The unlock code on a portal unlock page, if it shows one.
fn unlock_code_on(page: &str) -> Option<String> {
    let marker = "id=\"unlock-code\" aria-label=\"Unlock code\">";
    let at = page.find(marker)? + marker.len();
    Some(page[at..at + page[at..].find('<')?].to_owned())
}

/// Whether `code` opens any unlock slot of the vault's token, checked the
/// way the token checks it (Argon2id and the 32-bit check).
fn opens_a_slot(token: &SoftToken, secret: &UnlockSecret, serial: &Serial) -> bool {
    let record = token.records().pop().unwrap();
    record.slots.iter().any(|slot| {
        let reset: ResetCode = slot.reset_code.parse().unwrap();
        let code = unlock_code(secret, serial, &reset);
        slot.mask
            .open(&record.kdf, code.digits().as_bytes(), CODE_CHECK_BITS)
            .is_some()
    })
}

/// S45 (H2), the review's attack: a copied vault, one phished code, a
/// refresh. The secret the server hands out opens no slot of the copy
/// (offline, for every slot, and with `latchkey-token unlock` on it), while
/// the real device, refreshed, unlocks through the portal's recovery.
#[test]
fn h2_s45_a_copied_vault_stays_closed_after_a_phished_refresh() {
    let db = Database::new(false);
    let server = db.spawn_app();
    let (token, serial) = user_with_soft_token(&db, &server, "alice");
    let parsed: Serial = serial.parse().unwrap();
    let stolen = copy_vault(&server, &token);

    // The victim types a current code into a phishing page; the thief
    // calls refresh with it.
    next_step(&server);
    let phished = token.otp();
    let answer = refresh(&server, &serial, &phished);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["generation"], 1);
    let thiefs = secret_of(&answer);
    assert!(
        !opens_a_slot(&stolen, &thiefs, &parsed),
        "the new secret opens none of the copy's slots"
    );
    let first = stolen.records().pop().unwrap().slots[0].reset_code.clone();
    let reset: ResetCode = first.parse().unwrap();
    let tried = unlock_code(&thiefs, &parsed, &reset);
    let out = stolen.run(&["unlock"], &[tried.digits(), "731950", "731950"]);
    assert_eq!(out.status.code(), Some(3), "refused: {}", stderr(&out));
    assert!(stderr(&out).contains("does not match"), "{}", stderr(&out));

    // The real device refreshes: new slots from a newer generation, all of
    // them replaced, and the secret forgotten.
    next_step(&server);
    let before = token.records().pop().unwrap();
    let out = token.run(&["refresh"], &[PIN]);
    assert!(out.status.success(), "refresh: {}", stderr(&out));
    let after = token.records().pop().unwrap();
    assert_eq!(after.slots.len(), before.slots.len());
    for slot in &after.slots {
        assert!(
            before
                .slots
                .iter()
                .all(|old| old.reset_code != slot.reset_code),
            "every slot is new"
        );
        assert_eq!(&slot.reset_code[8..11], "002", "tagged with generation 2");
    }
    let vault_text: String = std::fs::read_dir(token.home.path())
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    let thiefs_hex: String = thiefs.expose().iter().map(|b| format!("{b:02x}")).collect();
    assert!(!vault_text.contains(&thiefs_hex));
    assert!(!vault_text.contains("unlock_secret"));

    // The copy's slots are generation 0, retired by that second refresh:
    // the portal answers none of them.
    let page = portal_unlock_page(&server, "alice", &serial, &first);
    assert!(unlock_code_on(&page).is_none(), "{page}");
    assert!(page.contains("were replaced"), "{page}");

    // The real device: locked, then unlocked through the real recovery
    // journey with the unlock code for its new reset code.
    token.lock_with_wrong_pins();
    let reset_code = token.reset_code();
    let page = portal_unlock_page(&server, "alice", &serial, &reset_code);
    let code = unlock_code_on(&page).expect("an unlock code");
    let out = token.run(&["unlock"], &[&code, "731950", "731950"]);
    assert!(out.status.success(), "unlock: {}", stderr(&out));
    next_step(&server);
    let out = token.code("731950");
    assert!(out.status.success(), "code: {}", stderr(&out));
}

/// S45: the server never hands out the same secret twice, and every
/// refresh is a new generation; a slot of the generation before the newest
/// is still answered (a device whose refresh reply was lost), an older one
/// is not.
fn old_generations_answer_while_live(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (token, serial) = user_with_soft_token(&db, &server, "bob");
    let parsed: Serial = serial.parse().unwrap();
    // The device as it stood at activation: its reply to the refresh below
    // is "lost", so it keeps these generation-0 slots.
    let lost_reply = copy_vault(&server, &token);

    next_step(&server);
    let one = refresh(&server, &serial, &token.otp());
    assert_eq!(one.status, 200, "{:?}", one.body);
    assert_eq!(one.body["generation"], 1);
    next_step(&server);
    // The same code again is a replay, and refused: nothing handed out.
    let same = token.otp();
    let two = refresh(&server, &serial, &same);
    assert_eq!(two.status, 200, "{:?}", two.body);
    assert_eq!(refresh(&server, &serial, &same).status, 403, "a replay");
    assert_eq!(two.body["generation"], 2);
    assert_ne!(
        secret_of(&one).expose(),
        secret_of(&two).expose(),
        "never the same secret twice"
    );

    // Generation 1 is live (the one before the newest): a device holding
    // slots made from it gets a working unlock code from the help desk.
    let one_secret = secret_of(&one);
    let made_from_one = latchkey_oath::tagged_reset_code(1);
    let expected = unlock_code(&one_secret, &parsed, &made_from_one);
    let issued = db.admin_json(&["token", "unlock-code", &serial, made_from_one.digits()]);
    assert_eq!(issued["unlock_code"], expected.digits());

    // Generation 0 (the copy's) was retired by the second refresh.
    let reset = lost_reply.reset_code();
    let out = db.admin(&["token", "unlock-code", &serial, &reset], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("were replaced"), "{}", stderr(&out));

    // With one refresh only, generation 0 is still live: the lost-reply
    // device unlocks with the code the help desk gives for its slot.
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (token, serial) = user_with_soft_token(&db, &server, "carol");
    let lost_reply = copy_vault(&server, &token);
    next_step(&server);
    assert_eq!(refresh(&server, &serial, &token.otp()).status, 200);
    lost_reply.lock_with_wrong_pins();
    let reset = lost_reply.reset_code();
    let code = db.admin_json(&["token", "unlock-code", &serial, &reset])["unlock_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = lost_reply.run(&["unlock"], &[&code, "731950", "731950"]);
    assert!(out.status.success(), "unlock: {}", stderr(&out));
}

#[test]
fn h2_s45_an_old_generation_answers_while_live_and_not_once_retired_on_sqlite() {
    old_generations_answer_while_live(false);
}

#[test]
fn h2_s45_an_old_generation_answers_while_live_and_not_once_retired_on_postgres() {
    old_generations_answer_while_live(true);
}

/// S45: refreshes are limited per token and day (in the database, so on
/// every node), each success is audited with its generation and mailed to
/// the owner, and the limit is audited too.
fn refresh_is_rate_limited_audited_and_mailed(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (token, serial) = user_with_soft_token(&db, &server, "dora");
    let mails_before = server.mail().sent().len();
    let limit = latchkey_core::REFRESHES_PER_DAY as usize;
    let mut secrets = Vec::new();
    for _ in 0..limit {
        next_step(&server);
        let answer = refresh(&server, &serial, &token.otp());
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        secrets.push(secret_of(&answer).expose().to_vec());
    }
    next_step(&server);
    let limited = refresh(&server, &serial, &token.otp());
    assert_eq!(limited.status, 429, "{:?}", limited.body);
    assert!(
        limited.body["error"]
            .as_str()
            .unwrap()
            .contains("refreshed too often today")
    );
    // A day later it is allowed again, with yet another secret.
    server.clock().advance(24 * 3600);
    let answer = refresh(&server, &serial, &token.otp());
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["generation"], limit as u64 + 1);
    secrets.push(secret_of(&answer).expose().to_vec());
    let mut distinct = secrets.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), secrets.len(), "no secret twice");

    let audit = db.admin_json(&["audit", "list", "--limit", "100000"]);
    let rows: Vec<&serde_json::Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "token.refresh" && r["subject"] == serial.as_str())
        .collect();
    let outcomes: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap(),
                r["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("success", "generation=1"),
            ("success", "generation=2"),
            ("success", "generation=3"),
            ("denied", "too many refreshes today"),
            ("success", "generation=4"),
        ]
    );

    let mails = server
        .mail()
        .wait_for(mails_before + limit + 1, std::time::Duration::from_secs(5));
    let notices: Vec<_> = mails
        .iter()
        .filter(|m| {
            m.body
                .contains("A new set of unlock slots was made for your token")
        })
        .collect();
    assert_eq!(notices.len(), limit + 1, "one mail per refresh");
    assert!(notices.iter().all(|m| m.to == "dora@example.org"));
    let grouped: Serial = serial.parse().unwrap();
    assert!(notices[0].body.contains(&grouped.grouped()));
}

#[test]
fn h2_s45_refresh_is_rate_limited_audited_and_mailed_on_sqlite() {
    refresh_is_rate_limited_audited_and_mailed(false);
}

#[test]
fn h2_s45_refresh_is_rate_limited_audited_and_mailed_on_postgres() {
    refresh_is_rate_limited_audited_and_mailed(true);
}

/// I8: a wrong PIN that passes the vault's 10-bit check (one in 1,024)
/// never re-masks the seed in `change-pin`, and its attempt stays counted:
/// the server refuses the code the wrong seed makes, nothing else changes,
/// and the right PIN still opens the token. The right PIN changes it.
#[test]
fn i8_a_wrong_pin_that_passes_the_check_never_remasks_the_seed() {
    use latchkey_token::record::PIN_CHECK_BITS;
    let db = Database::new(false);
    let server = db.spawn_app();
    let (token, _) = user_with_soft_token(&db, &server, "erin");
    let record = token.records().pop().unwrap();
    let decoy = (0u32..200_000)
        .map(|n| format!("{:06}", 100_003 + n * 3))
        .find(|pin| {
            pin != PIN
                && record
                    .pin
                    .open(&record.kdf, pin.as_bytes(), PIN_CHECK_BITS)
                    .is_some()
        })
        .expect("a wrong PIN that passes the 10-bit check");
    next_step(&server);
    let out = token.run(&["change-pin"], &[&decoy, "731950", "731950"]);
    assert_eq!(out.status.code(), Some(3), "refused: {}", stderr(&out));
    assert!(
        stderr(&out).contains("PIN is unchanged"),
        "{}",
        stderr(&out)
    );
    let after = token.records().pop().unwrap();
    assert_eq!(
        (&after.pin.salt, &after.pin.masked_seed, after.pin.check),
        (&record.pin.salt, &record.pin.masked_seed, record.pin.check),
        "the seed is not re-masked"
    );
    assert_eq!(after.failures, 1, "the attempt stays counted");
    assert_eq!(
        after
            .slots
            .iter()
            .map(|s| &s.reset_code)
            .collect::<Vec<_>>(),
        record
            .slots
            .iter()
            .map(|s| &s.reset_code)
            .collect::<Vec<_>>()
    );
    // The right PIN: the server confirms it, the PIN changes and new slots
    // come with it, in one write.
    next_step(&server);
    let out = token.run(&["change-pin"], &[PIN, "731950", "731950"]);
    assert!(out.status.success(), "change-pin: {}", stderr(&out));
    let changed = token.records().pop().unwrap();
    assert_eq!(changed.failures, 0);
    assert!(changed.slots.iter().all(|s| &s.reset_code[8..11] == "001"));
    next_step(&server);
    assert!(token.code("731950").status.success());
}
