//! "I've forgotten my password" in headless Chromium, with the mail read
//! from a real SMTP receiver on loopback (Python's aiosmtpd; `.ci/run`
//! installs it), and the second factor still required afterwards.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::browser::Browser;
use common::web::Account;
use common::*;

/// aiosmtpd printing every message it receives on standard output.
struct SmtpReceiver {
    child: Child,
    lines: mpsc::Receiver<String>,
    port: u16,
}

impl SmtpReceiver {
    fn start() -> SmtpReceiver {
        let port = common::browser::free_port();
        let python = std::env::var("LATCHKEY_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let check = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .status()
            .unwrap_or_else(|e| panic!("{python} cannot run: {e}"));
        assert!(
            check.success(),
            "the SMTP receiver needs Python's aiosmtpd: `{python} -m pip install aiosmtpd` (.ci/run does)"
        );
        let mut child = Command::new(&python)
            .args([
                "-u",
                "-m",
                "aiosmtpd",
                "-n",
                "-c",
                "aiosmtpd.handlers.Debugging",
                "-l",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        SmtpReceiver { child, lines, port }
    }

    /// The reset link of the next mail that carries one, with its recipient.
    fn next_reset_link(&self) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut mail = String::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            mail.push_str(&line);
            mail.push('\n');
            if line.contains("END MESSAGE") && mail.contains("/password/reset/") {
                let text = mail.replace("=\n", "").replace("=3D", "=");
                let start = text.find("http").expect("a link");
                let link: String = text[start..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                return (link, text);
            }
        }
        panic!("no reset mail arrived; the receiver printed:\n{mail}");
    }
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_forgotten_password_is_reset_by_a_mailed_link_and_the_token_is_still_needed() {
    let smtp = SmtpReceiver::start();
    let db = Database::new(false);
    let mut account = Account::new(&db, "bob");
    let server = db.serve_with(&[
        (
            "LATCHKEY_SMTP_URL",
            &format!("smtp://127.0.0.1:{}", smtp.port),
        ),
        ("LATCHKEY_MAIL_FROM", "Latchkey <noreply@example.org>"),
    ]);
    let mut browser = Browser::start("forgotten-password");

    browser.goto(&format!("{}/login", server.url));
    browser.click("a[href='/password/forgot']");
    assert_eq!(
        browser.wait_for_path("/password/forgot"),
        "/password/forgot"
    );
    browser.type_into("#username", "bob");
    browser.screenshot("forgot-password");
    browser.click("form[action='/password/forgot'] button[type=submit]");
    assert!(
        browser.wait_find("#reset-sent", 10).is_some(),
        "{}",
        browser.text("body")
    );
    browser.screenshot("link-sent");

    let (link, mail) = smtp.next_reset_link();
    assert!(mail.contains("bob@example.org"), "{mail}");
    assert!(
        link.starts_with(&format!("{}/password/reset/", server.url)),
        "{link}"
    );
    browser.goto(&link);
    let new = "a fresh and long passphrase";
    browser.type_into("#password", new);
    browser.type_into("#password_confirm", "a different passphrase");
    browser.click("form button[type=submit]");
    assert!(
        browser.text("#password_confirm-error").contains("differ"),
        "a mismatch is shown beside its field: {}",
        browser.text("body")
    );
    browser.screenshot("reset-mismatch");
    browser.type_into("#password", new);
    browser.type_into("#password_confirm", new);
    browser.click("form button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/login"),
        "/login",
        "{}",
        browser.text("body")
    );
    assert!(browser.text(".notice").contains("password is changed"));
    browser.screenshot("password-changed");

    // The link worked once.
    browser.goto(&link);
    assert!(browser.text("h1").contains("does not work any more"));

    // The new password still needs the second factor.
    browser.goto(&format!("{}/login", server.url));
    browser.type_into("#username", "bob");
    browser.type_into("#password", new);
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/login/otp"), "/login/otp");
    browser.goto(&format!("{}/account", server.url));
    assert_eq!(
        browser.wait_for_path("/login/otp"),
        "/login/otp",
        "no account page before the OTP"
    );
    browser.type_into("#otp", &account.next_otp());
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/self-service/questions"),
        "/self-service/questions",
        "{}",
        browser.text("body")
    );
}

#[test]
fn the_help_desks_contact_is_on_every_page_and_at_the_foot_of_every_mail() {
    let db = Database::new(false);
    let _gus = Account::new(&db, "gus");
    let contact = "+1 555 0100, helpdesk@example.org";
    let server = db.spawn_app_with(|config| config.helpdesk_contact = Some(contact.into()));
    let mut visitor = common::web::Visitor::new(&server.url);
    for path in ["/login", "/password/forgot", "/no-such-page"] {
        let page = visitor.get(path);
        assert!(
            page.body.contains(&format!("Help desk: {contact}")),
            "{path}: {}",
            page.body
        );
    }
    visitor.post("/password/forgot", &[("username", "gus")]);
    let mail = server.mail().wait_for(1, Duration::from_secs(30));
    assert!(
        mail[0]
            .body
            .trim_end()
            .ends_with(&format!("Your help desk: {contact}")),
        "{}",
        mail[0].body
    );
}
