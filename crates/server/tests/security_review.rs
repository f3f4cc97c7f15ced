//! The attacks of the black-box review (SECURITY-REVIEW.md), each replayed
//! against a real `latchkey serve` over HTTP: one test per finding, named
//! after it, carrying its SECURITY.md number (S44–…).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::web::{Account, Visitor};
use common::*;

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

fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// Plays the clock: the account's waits are over (its counts stay).
fn end_the_waits(db: &Database, name: &str) {
    execute_sql(
        &db.url,
        &format!(
            "UPDATE users SET password_blocked_until = 0, answer_blocked_until = 0 \
             WHERE username = '{name}'"
        ),
    );
}

const WRONG_ANSWERS: &[(&str, &str)] = &[("answer_1", "wrong"), ("answer_2", "wrong")];

/// S44 (H1): the review's loop — the password on `/login`, five free wrong
/// answers, then the right password with a wrong OTP on
/// `/api/v1/authenticate` to reset the count — no longer resets it: the
/// next wrong answer makes the account wait, and during the wait even the
/// right answers are refused.
#[test]
fn h1_password_alone_never_clears_the_failure_count() {
    for postgres in [false, true] {
        let db = Database::new(postgres);
        let server = db.serve();
        let key = db.api_key("app", "authenticate");
        let mut account = Account::new(&db, "alice");
        account.sign_in_with_answers(&mut Visitor::new(&server.url));

        let mut attacker = Visitor::new(&server.url);
        let page = attacker.post("/login", &[("username", "alice"), ("password", PASSWORD)]);
        assert_eq!(page.status, 303);
        let right = challenge_answers(&mut attacker);
        for _ in 0..5 {
            let page = attacker.post("/login/questions", WRONG_ANSWERS);
            assert_eq!(page.status, 401, "a wrong answer is refused");
        }
        let body = serde_json::json!({ "username": "alice", "password": PASSWORD, "otp": "0" });
        let answer = server.post("/api/v1/authenticate", Some(&key), &body.to_string());
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body["result"], "reject");
        let failures = query_i64(
            &db.url,
            "SELECT password_failures FROM users WHERE username = 'alice'",
        );
        assert_eq!(failures, 5, "the password alone cleared nothing");

        // The sixth wrong answer is past the free ones: the account waits a
        // second; the seventh, after it, makes it wait two.
        let page = attacker.post("/login/questions", WRONG_ANSWERS);
        assert_eq!(page.status, 401);
        let waits_until = query_i64(
            &db.url,
            "SELECT answer_blocked_until FROM users WHERE username = 'alice'",
        );
        assert!(waits_until > 0, "answers wait after the sixth wrong one");
        end_the_waits(&db, "alice");
        let page = attacker.post("/login/questions", WRONG_ANSWERS);
        assert_eq!(page.status, 401);
        let page = attacker.post("/login/questions", &borrowed(&right));
        assert_eq!(
            page.status, 401,
            "during the wait even the right answers are refused"
        );
        let counts = query_i64(
            &db.url,
            "SELECT password_failures * 100 + answer_failures FROM users WHERE username = 'alice'",
        );
        assert_eq!(
            counts, 707,
            "each wrong answer counted on the account and on the answers' own count"
        );

        // A complete sign-in (password and an accepted OTP) clears both.
        end_the_waits(&db, "alice");
        let otp = account.next_otp();
        assert_eq!(server.authenticate(&key, "alice", &otp), "accept");
        let cleared = query_i64(
            &db.url,
            "SELECT password_failures + answer_failures FROM users WHERE username = 'alice'",
        );
        assert_eq!(cleared, 0);
    }
}

// --- M5 (S50): slow and idle connections -------------------------------------

/// `latchkey serve` on a database, as [`Database::serve`] starts it, but
/// under an open-file limit (a small `LimitNOFILE`); stopped when dropped.
struct LimitedServer {
    child: std::process::Child,
    address: String,
}

impl LimitedServer {
    fn start(db: &Database, files: u32) -> LimitedServer {
        use std::io::BufRead;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {files} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_latchkey"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(db.dir.path())
            .args(["--database", &db.url])
            .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
            .env("LATCHKEY_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("latchkey serve starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("latchkey listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        LimitedServer { child, address }
    }

    fn healthz(&self, timeout: Duration) -> Result<u16, ureq::Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let response = agent
            .get(&format!("http://{}/healthz", self.address))
            .call()?;
        Ok(response.status().as_u16())
    }
}

impl Drop for LimitedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads until the peer closes or `within` passes; what came, and whether
/// it closed.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return (String::from_utf8_lossy(&seen).into_owned(), true),
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&seen).into_owned(), true);
            }
            Err(_) => return (String::from_utf8_lossy(&seen).into_owned(), false),
        }
    }
}

/// S50 (M5): the review's attack — 300 sockets that send nothing, half a
/// header line, or 6 bytes of a 1,000-byte body, and keep trickling, held
/// against a server under a 256-file limit — no longer stops `/healthz`:
/// the listener cuts off idle and slow clients and caps its connections
/// below its file limit. A kept-alive connection that sits idle is closed
/// too.
#[test]
fn m5_idle_connections_do_not_stop_healthz() {
    let db = Database::new(false);
    let server = LimitedServer::start(&db, 256);
    assert_eq!(server.healthz(Duration::from_secs(10)).unwrap(), 200);
    let mut sockets = Vec::new();
    for i in 0..300 {
        let mut socket = TcpStream::connect(&server.address).unwrap();
        match i % 3 {
            0 => {}
            1 => socket
                .write_all(b"GET /login HTTP/1.1\r\nHost: x\r\nX-a: ")
                .unwrap(),
            _ => socket
                .write_all(
                    b"POST /api/v1/authenticate HTTP/1.1\r\nHost: x\r\n\
                      Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":1",
                )
                .unwrap(),
        }
        sockets.push(socket);
    }
    // The tricklers send a byte a second, the whole time.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickling: Vec<TcpStream> = sockets
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(_, s)| s.try_clone().unwrap())
        .collect();
    let trickler = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut trickling = trickling;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for socket in &mut trickling {
                    let _ = socket.write_all(b"a");
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let started = std::time::Instant::now();
    let status = server.healthz(Duration::from_secs(40));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    trickler.join().unwrap();
    assert_eq!(
        status.expect("/healthz answers while 300 slow sockets are held"),
        200
    );
    assert!(started.elapsed() < Duration::from_secs(40));
    // The first idle socket was closed by the server, not left open.
    let (_, closed) = read_until_closed(&mut sockets[0], Duration::from_secs(20));
    assert!(closed, "an idle connection is closed");
    drop(sockets);

    // A kept-alive connection that sits idle after its answer is closed.
    let mut kept = TcpStream::connect(&server.address).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (seen, closed) = read_until_closed(&mut kept, Duration::from_secs(20));
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(closed, "an idle kept-alive connection is closed");
}

// --- M3 (S48): clean-up ends sessions ----------------------------------------

/// The path of the reset link in a mail (quoted-printable undone).
fn reset_link(mail: &str) -> String {
    let text = mail
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = text.find("/password/reset/").expect("a reset link");
    let end = text[start..]
        .find(char::is_whitespace)
        .map_or(text.len(), |e| start + e);
    text[start..end].to_owned()
}

fn admin_ok(db: &Database, args: &[&str], input: &str) {
    let out = db.admin(args, input);
    assert!(out.status.success(), "admin {args:?}: {}", stderr(&out));
}

/// S48 (M3): the review's clean-up — `admin user reset-password` — now
/// signs the attacker out at once: the cookie is refused and no session row
/// is left; a disable followed by an enable brings no session back; and
/// the reset voids the reset links still outstanding (L3).
#[test]
fn m3_reset_password_ends_every_session() {
    for postgres in [false, true] {
        let db = Database::new(postgres);
        let server = db.serve();
        let mut account = Account::new(&db, "alice");
        let mut attacker = Visitor::new(&server.url);
        account.sign_in_with_answers(&mut attacker);
        assert_eq!(attacker.get("/account").status, 200);
        let mut other = Visitor::new(&server.url);
        let otp = account.next_otp();
        assert_eq!(other.sign_in("alice", PASSWORD, &otp).status, 303);
        // A reset link the attacker asked for before the clean-up.
        let mut asker = Visitor::new(&server.url);
        asker.get("/password/forgot");
        let page = asker.post("/password/forgot", &[("username", "alice")]);
        assert!(page.status < 400, "{}", page.body);
        let link = reset_link(&wait_for_mails(&db, 1)[0]);
        assert_eq!(asker.get(&link).status, 200, "the link works before");

        admin_ok(
            &db,
            &["user", "reset-password", "alice", "--password-stdin"],
            "admin chosen phrase 2\n",
        );
        assert_ne!(attacker.get("/account").status, 200, "signed out at once");
        assert_ne!(other.get("/account").status, 200);
        let left = query_i64(
            &db.url,
            "SELECT COUNT(*) FROM sessions WHERE user_id = \
             (SELECT id FROM users WHERE username = 'alice')",
        );
        assert_eq!(left, 0, "no session row is left");
        assert_ne!(asker.get(&link).status, 200, "the reset voided the link");

        // Disable, then enable, with no visit in between.
        let mut again = Visitor::new(&server.url);
        let otp = account.next_otp();
        let page = again.sign_in("alice", "admin chosen phrase 2", &otp);
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(again.get("/account").status, 200);
        admin_ok(&db, &["user", "disable", "alice"], "");
        admin_ok(&db, &["user", "enable", "alice"], "");
        assert_ne!(again.get("/account").status, 200, "no session comes back");
    }
}

// --- M1 (S46): strangers cannot lock a token for good ------------------------

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// S46 (M1): the review's attack — ten wrong refreshes with nothing but a
/// serial — no longer locks the token: it stays unlocked and the owner's
/// code is accepted; and a known serial answers in the same time as an
/// unknown one.
#[test]
fn m1_strangers_cannot_lock_the_token_through_refresh() {
    use latchkey_oath::{Algorithm, Digits, Secret, Totp};
    let db = Database::new(false);
    let server = db.serve();
    let key = db.api_key("app", "authenticate");
    db.add_user("ivy");
    let issued = db.admin_json(&["token", "issue", "ivy", "--kind", "latchkey"]);
    let serial = issued["serial"].as_str().unwrap().replace('-', "");
    let body = serde_json::json!({
        "serial": serial,
        "activation_code": issued["activation_code"].as_str().unwrap(),
    });
    let grant = server.post("/api/v1/tokens/activate", None, &body.to_string());
    assert_eq!(grant.status, 200, "{:?}", grant.body);
    let secret = Secret::from_base32(grant.body["secret"].as_str().unwrap()).unwrap();
    let totp = Totp::new(secret, Algorithm::Sha256, Digits::EIGHT, 30).unwrap();

    let refresh = |serial: &str| {
        let body = serde_json::json!({ "serial": serial, "otp": "00000000" });
        let started = std::time::Instant::now();
        let answer = server.post("/api/v1/tokens/refresh", None, &body.to_string());
        assert_eq!(answer.status, 403, "{:?}", answer.body);
        started.elapsed()
    };
    for _ in 0..10 {
        refresh(&serial);
    }
    let locked = query_i64(
        &db.url,
        &format!("SELECT failures * 10 + locked FROM tokens WHERE serial = '{serial}'"),
    );
    assert_eq!(locked, 0, "no failure counted, no lock");
    let otp = totp.generate(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );
    assert_eq!(server.authenticate(&key, "ivy", &otp), "accept");

    // Known and unknown serials, interleaved: the same time.
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        known.push(refresh(&serial));
        unknown.push(refresh("1234567897"));
    }
    let (known, unknown) = (median(known), median(unknown));
    let gap = known.abs_diff(unknown);
    assert!(
        gap < Duration::from_millis(4),
        "known {known:?}, unknown {unknown:?}"
    );
}

/// S46 (M1): a token the server locked after wrong codes is unlocked by
/// its owner in a recovery session (password and answers), with a mail and
/// an audit row; before, only the help desk could.
#[test]
fn m1_a_recovery_session_unlocks_its_own_token() {
    let db = Database::new(false);
    let server = db.serve();
    let key = db.api_key("app", "authenticate");
    let mut account = Account::new(&db, "jon");
    account.sign_in_with_answers(&mut Visitor::new(&server.url));
    for _ in 0..10 {
        let body = serde_json::json!({ "username": "jon", "otp": "000000" });
        server.post("/api/v1/authenticate", Some(&key), &body.to_string());
    }
    let serial = format!(
        "{:010}",
        query_i64(
            &db.url,
            "SELECT CAST(serial AS BIGINT) FROM tokens WHERE locked = TRUE"
        )
    );
    let mails_before = outbox_mails(&db).len();

    let mut recovering = Visitor::new(&server.url);
    recovering.post("/login", &[("username", "jon"), ("password", PASSWORD)]);
    let answers = challenge_answers(&mut recovering);
    let page = recovering.post("/login/questions", &borrowed(&answers));
    assert_eq!(page.location(), Some("/self-service"), "{}", page.body);
    let page = recovering.get("/self-service/tokens");
    assert!(
        page.body.contains("/self-service/tokens/reset"),
        "an Unlock button"
    );
    let page = recovering.post("/self-service/tokens/reset", &[("serial", &serial)]);
    assert_eq!(page.status, 303, "{}", page.body);
    let locked = query_i64(
        &db.url,
        &format!("SELECT failures * 10 + locked FROM tokens WHERE serial = '{serial}'"),
    );
    assert_eq!(locked, 0, "unlocked");
    let mails = wait_for_mails(&db, mails_before + 1);
    assert!(mails.len() > mails_before, "the user is told");
    let otp = account.next_otp();
    assert_eq!(server.authenticate(&key, "jon", &otp), "accept");
}

// --- M4 (S49): the help desk's reach -----------------------------------------

/// Adds `name` with `role`, an address and an HOTP token; its code maker.
fn staff(db: &Database, name: &str, role: &str) -> latchkey_oath::Hotp {
    admin_ok(
        db,
        &[
            "user",
            "add",
            name,
            "--role",
            role,
            "--email",
            &format!("{name}@example.org"),
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    let issued = db.admin_json(&["token", "issue", name, "--kind", "hotp"]);
    latchkey_oath::KeyUri::parse(issued["otpauth_uri"].as_str().unwrap())
        .unwrap()
        .hotp()
        .unwrap()
}

/// S49 (M4): the review's attack — bob of the help desk issues a token for
/// carol, an admin, and reads its activation code off the page — is
/// refused; for a plain user the activation code goes to the user's mail
/// and the page shows none.
#[test]
fn m4_the_help_desk_cannot_enrol_a_token_for_an_admin() {
    let db = Database::new(false);
    let server = db.serve();
    let bob = staff(&db, "bob", "helpdesk");
    staff(&db, "carol", "admin");
    let mut una = Account::new(&db, "una");
    una.sign_in_with_answers(&mut Visitor::new(&server.url));
    let tokens_of = |name: &str| {
        query_i64(
            &db.url,
            &format!(
                "SELECT COUNT(*) FROM tokens WHERE user_id = \
                 (SELECT id FROM users WHERE username = '{name}')"
            ),
        )
    };
    let carol_tokens = tokens_of("carol");
    let mut desk = Visitor::new(&server.url);
    assert_eq!(desk.sign_in("bob", PASSWORD, &bob.generate(0)).status, 303);
    let page = desk.post("/helpdesk/issue-token", &[("username", "carol")]);
    assert_eq!(page.status, 403, "{}", page.body);
    assert_eq!(tokens_of("carol"), carol_tokens, "no token for the admin");
    let page = desk.post("/helpdesk/clear-lockouts", &[("username", "carol")]);
    assert_eq!(page.status, 403);

    let mails_before = outbox_mails(&db).len();
    let page = desk.post(
        "/helpdesk/issue-token",
        &[("username", "una"), ("confirmed", "yes")],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !page.body.contains("activation-code"),
        "no activation code on the help desk's screen"
    );
    let mails = wait_for_mails(&db, mails_before + 1);
    let mail = mails.last().unwrap();
    assert!(mail.contains("una@example.org"));
    assert!(mail.contains("Activation code:"), "{mail}");
}
