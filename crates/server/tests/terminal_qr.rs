//! `latchkey admin token issue … --qr`: the key URI as a QR code in the
//! terminal. `zbarimg` cannot read terminal text, so the test turns the
//! printed half blocks back into the bitmap they draw (a PBM file, made
//! here without any imaging library) and has zbar decode that; then
//! OATH Toolkit's `oathtool` computes a code from the decoded URI and
//! Latchkey accepts it.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;

/// The QR code's rows of modules from the printed lines: `█` both halves
/// drawn, `▀` the upper, `▄` the lower, a space neither. Drawn is light
/// (the CLI draws light modules, for dark terminals).
fn modules(lines: &[&str]) -> Vec<Vec<bool>> {
    let mut rows = Vec::new();
    for line in lines {
        let (mut upper, mut lower) = (Vec::new(), Vec::new());
        for c in line.chars() {
            let (u, l) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("not a half block: {other:?}"),
            };
            // Dark module = not drawn.
            upper.push(!u);
            lower.push(!l);
        }
        rows.push(upper);
        rows.push(lower);
    }
    rows
}

/// A plain PBM (P1) of `rows`, each module `scale` pixels square; 1 is black.
fn pbm(rows: &[Vec<bool>], scale: usize) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap();
    let mut out = format!("P1\n{} {}\n", width * scale, rows.len() * scale);
    for row in rows {
        let mut line = String::new();
        for x in 0..width {
            let dark = row.get(x).copied().unwrap_or(false);
            for _ in 0..scale {
                line.push(if dark { '1' } else { '0' });
                line.push(' ');
            }
        }
        line.push('\n');
        for _ in 0..scale {
            out.push_str(&line);
        }
    }
    out
}

#[test]
fn the_terminal_qr_code_carries_the_key_uri() {
    let db = Database::new(false);
    db.add_user("erik");
    let out = db.admin(&["token", "issue", "erik", "--kind", "totp", "--qr"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let printed_uri = text
        .lines()
        .find_map(|l| l.strip_prefix("Key URI: "))
        .expect("the key URI is printed too")
        .to_owned();
    let qr_lines: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Scan it with the app"))
        .skip(1)
        .filter(|l| !l.is_empty() && l.chars().all(|c| " ▀▄█".contains(c)))
        .collect();
    assert!(qr_lines.len() > 10, "a QR code of half blocks:\n{text}");

    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("terminal-qr.pbm");
    std::fs::write(&image, pbm(&modules(&qr_lines), 6)).unwrap();
    let zbar = Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(&image)
        .output()
        .expect("zbarimg runs (Debian's zbar-tools; .ci/run installs it)");
    assert!(
        zbar.status.success(),
        "zbar read no QR code: {}",
        stderr(&zbar)
    );
    let decoded = String::from_utf8(zbar.stdout).unwrap().trim().to_owned();
    assert_eq!(decoded, printed_uri);
    assert!(
        decoded.starts_with("otpauth://totp/Latchkey:erik?"),
        "{decoded}"
    );

    // The decoded secret makes codes Latchkey accepts.
    let query = decoded.split_once('?').unwrap().1;
    let secret = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let server = db.serve();
    let key = db.api_key("vpn", "authenticate");
    let code = Command::new("oathtool")
        .args(["--totp", "--base32", &secret])
        .output()
        .expect("oathtool runs");
    assert!(code.status.success());
    let code = String::from_utf8(code.stdout).unwrap().trim().to_owned();
    assert_eq!(server.authenticate(&key, "erik", &code), "accept");
}

#[test]
fn a_qr_code_is_refused_for_a_soft_token_and_with_json() {
    let db = Database::new(false);
    db.add_user("erik");
    let out = db.admin(&["token", "issue", "erik", "--qr"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--kind totp"), "{}", stderr(&out));
    let out = db.admin(
        &["token", "issue", "erik", "--kind", "totp", "--qr", "--json"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        db.admin_json(&["token", "list"])
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing issued"
    );
}
