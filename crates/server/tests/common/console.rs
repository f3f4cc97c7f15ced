//! What the admin console's tests share: a signed-in visitor with a role,
//! reading the console's pages (an element's text, the token rows, the
//! audit rows, the next-page link) and the CLI's view of the same data.

use super::web::{Account, Page, Visitor};
use super::{Database, Server, stderr};

/// A signed-in account with `role`, and its visitor.
pub fn signed_in(db: &Database, server: &Server, name: &str, role: &str) -> (Account, Visitor) {
    let mut account = Account::new(db, name);
    if role != "user" {
        let out = db.admin(&["user", "set-role", name, role], "");
        assert!(out.status.success(), "set-role: {}", stderr(&out));
    }
    let mut visitor = Visitor::new(&server.url);
    account.sign_in_with_answers(&mut visitor);
    (account, visitor)
}

/// The text of the element with `id` (its first child text), if any.
pub fn text_of(page: &Page, id: &str) -> Option<String> {
    let at = page.body.find(&format!("id=\"{id}\""))?;
    let start = at + page.body[at..].find('>')? + 1;
    let end = start + page.body[start..].find('<')?;
    Some(page.body[start..end].trim().to_owned())
}

/// Every audit row, oldest first, as the CLI lists them.
pub fn audit_rows(db: &Database) -> Vec<serde_json::Value> {
    db.admin_json(&["audit", "list", "--limit", "1000000"])
        .as_array()
        .unwrap()
        .clone()
}

/// The serials of the token rows on a console page (`id="token-SERIAL"`).
pub fn serials_on(page: &Page) -> Vec<String> {
    page.body
        .match_indices("id=\"token-")
        .map(|(at, marker)| {
            let rest = &page.body[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// The audit row ids on a console page (`data-id="N"`), in page order.
pub fn row_ids_on(page: &Page) -> Vec<i64> {
    page.body
        .match_indices("data-id=\"")
        .map(|(at, marker)| {
            let rest = &page.body[at + marker.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

/// The `href` of the link marked `rel="next"`, its `&amp;`s undone.
pub fn next_link(page: &Page) -> Option<String> {
    let at = page.body.find("rel=\"next\"")?;
    let start = page.body[..at].rfind("href=\"")? + "href=\"".len();
    let end = start + page.body[start..].find('"')?;
    Some(
        page.body[start..end]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

/// A token's state, as `token show` says it.
pub fn token_state(db: &Database, serial: &str) -> String {
    db.admin_json(&["token", "show", serial])["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A user's status, as `user show` says it.
pub fn user_status(db: &Database, name: &str) -> String {
    db.admin_json(&["user", "show", name])["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The serial of the one token on `name`'s console page, which is active.
pub fn the_token_of(db: &Database, visitor: &mut Visitor, name: &str) -> String {
    let page = visitor.get(&format!("/admin/users/{name}"));
    assert_eq!(page.status, 200, "{}", page.body);
    let serials = serials_on(&page);
    assert_eq!(serials.len(), 1, "{name} has one token");
    assert_eq!(token_state(db, &serials[0]), "active");
    serials[0].clone()
}

/// A TOTP key URI with a 160-bit seed of `seed_byte`s.
pub fn totp_uri(seed_byte: u8) -> String {
    let seed = data_encoding::BASE32_NOPAD.encode(&[seed_byte; 20]);
    format!("otpauth://totp/Example:x?secret={seed}&issuer=Example")
}

/// The tokens of `user`, as `token list` shows them.
pub fn tokens_of(db: &Database, user: &str) -> Vec<serde_json::Value> {
    db.admin_json(&["token", "list"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["user"] == user)
        .cloned()
        .collect()
}

/// The unassigned tokens, as `token list --unassigned` shows them.
pub fn stock(db: &Database) -> Vec<serde_json::Value> {
    db.admin_json(&["token", "list", "--unassigned"])
        .as_array()
        .unwrap()
        .clone()
}

/// Runs Debian pskc-utils' `csv2pskc` on `csv` with `args` (`-p PASSWORD`,
/// `-s KEY`, or none for secrets in the clear): the PSKC file it wrote,
/// as text. An independent producer, as `tests/pskc_import.rs` uses it.
pub fn csv2pskc(dir: &std::path::Path, name: &str, csv: &str, args: &[&str]) -> String {
    let input = dir.join(format!("{name}.csv"));
    std::fs::write(&input, csv).unwrap();
    let output = dir.join(format!("{name}.pskcxml"));
    let out = std::process::Command::new("csv2pskc")
        .args(args)
        .arg("-o")
        .arg(&output)
        .arg(&input)
        .output()
        .expect("csv2pskc runs (Debian's pskc-utils; .ci/run installs it)");
    assert!(out.status.success(), "csv2pskc: {}", stderr(&out));
    std::fs::read_to_string(&output).unwrap()
}

/// Whether the page that a click led to shows `text` in the element `id`
/// (a click does not wait for the page it leads to).
pub fn shows(browser: &super::browser::Browser, id: &str, text: &str) -> bool {
    browser.wait_until(
        &format!(
            "const e = document.getElementById('{id}'); \
             return document.readyState === 'complete' && !!e && e.textContent.includes('{text}');"
        ),
        10,
    )
}

/// Sends one Access-Request for `user` with User-Password `password` to
/// the RADIUS port `port` with FreeRADIUS's `radclient`, signed with
/// `secret` (a secret the test did not choose, unlike
/// [`super::radius::radclient`]'s), trying `tries` times `timeout`
/// seconds apart: radclient's own retransmission, which a node that has
/// not read a new client yet answers on a later try.
pub fn radclient_with_secret(
    port: u16,
    secret: &str,
    user: &str,
    password: &str,
    tries: u32,
    timeout: u32,
) -> super::radius::RadReply {
    use std::io::Write;
    let mut child = std::process::Command::new("radclient")
        .args(["-x", "-r", &tries.to_string(), "-t", &timeout.to_string()])
        .arg(format!("127.0.0.1:{port}"))
        .args(["auth", secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("radclient runs (Debian's freeradius-utils)");
    let attributes = super::radius::pap(user, password).join("\n") + "\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(attributes.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let output =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let code = output.split("Received ").nth(1).map(|rest| {
        rest.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    super::radius::RadReply { code, output }
}
