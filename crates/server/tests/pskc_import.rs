//! Hardware tokens from PSKC files (RFC 6030) made at test time by an
//! independent producer, python-pskc's `csv2pskc` (Debian's pskc-utils),
//! with a password and with a pre-shared key: imported unassigned, handed
//! to a user (`token assign`, the JSON API), and their codes, computed by
//! OATH Toolkit's `oathtool`, accepted. Broken and hostile files are
//! refused whole with a clear message and nothing imported. Each scenario
//! runs on SQLite and on PostgreSQL.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// Seeds, hex: two HOTP tokens (6 digits from counter 0, 8 digits from
/// counter 5) and a TOTP one.
const CSV: &str = "serial,secret,algorithm,response_length,counter,time_interval\n\
FT-0001,3132333435363738393031323334353637383930,urn:ietf:params:xml:ns:keyprov:pskc:hotp,6,0,\n\
FT-0002,3132333435363738393031323334353637383931,urn:ietf:params:xml:ns:keyprov:pskc:hotp,8,5,\n\
FT-0003,3132333435363738393031323334353637383932,urn:ietf:params:xml:ns:keyprov:pskc:totp,6,,30\n";

const PASSWORD_OF_FILE: &str = "qwerty-vendor";
const KEY_HEX: &str = "12345678901234567890123456789012";

/// Runs `csv2pskc` on `csv` with `args`; the PSKC file it wrote.
fn csv2pskc(dir: &Path, name: &str, csv: &str, args: &[&str]) -> PathBuf {
    let input = dir.join(format!("{name}.csv"));
    std::fs::write(&input, csv).unwrap();
    let output = dir.join(format!("{name}.pskcxml"));
    let out = Command::new("csv2pskc")
        .args(args)
        .arg("-o")
        .arg(&output)
        .arg(&input)
        .output()
        .expect("csv2pskc runs (Debian's pskc-utils; .ci/run installs it)");
    assert!(out.status.success(), "csv2pskc: {}", stderr(&out));
    output
}

/// `oathtool --hotp` for a hex seed at `counter`.
fn hotp(seed_hex: &str, digits: u8, counter: u64) -> String {
    let out = Command::new("oathtool")
        .args([
            "--hotp",
            &format!("--digits={digits}"),
            &format!("--counter={counter}"),
            seed_hex,
        ])
        .output()
        .expect("oathtool runs");
    assert!(out.status.success(), "oathtool: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn import(db: &Database, file: &Path, flags: &[&str], input: &str) -> Output {
    let mut args = vec!["import", "--format", "pskc", "--json"];
    args.extend_from_slice(flags);
    let file = file.display().to_string();
    args.push(&file);
    db.admin(&args, input)
}

fn stock(db: &Database) -> Vec<serde_json::Value> {
    db.admin_json(&["token", "list", "--unassigned"])
        .as_array()
        .unwrap()
        .clone()
}

fn imports_audited(db: &Database) -> usize {
    db.admin_json(&["audit", "list", "--limit", "10000"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["action"] == "token.import")
        .count()
}

fn stocked_serial(db: &Database, vendor: &str) -> String {
    stock(db)
        .iter()
        .find(|t| t["vendor_serial"] == vendor)
        .unwrap_or_else(|| panic!("{vendor} is in the stock"))["serial"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn imported_assigned_and_accepted(postgres: bool) {
    let db = Database::new(postgres);
    let out = db.admin(
        &[
            "user",
            "add",
            "ines",
            "--email",
            "ines@example.org",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let with_password = csv2pskc(dir.path(), "password", CSV, &["-p", PASSWORD_OF_FILE]);

    // A dry run reads and checks the file and imports nothing.
    let out = import(
        &db,
        &with_password,
        &["--password-stdin", "--dry-run"],
        &format!("{PASSWORD_OF_FILE}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["tokens"].as_array().unwrap().len(), 3);
    assert_eq!(report["imported"], 0);
    assert!(stock(&db).is_empty(), "a dry run imports nothing");
    assert_eq!(imports_audited(&db), 0);

    let out = import(
        &db,
        &with_password,
        &["--password-stdin"],
        &format!("{PASSWORD_OF_FILE}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stocked = stock(&db);
    assert_eq!(stocked.len(), 3);
    for token in &stocked {
        let serial = token["serial"].as_str().unwrap();
        assert!(
            serial.parse::<latchkey_core::oath::Serial>().is_ok(),
            "a Latchkey serial: {serial}"
        );
        assert_eq!(token["state"], "unassigned");
    }
    assert_eq!(
        stocked
            .iter()
            .find(|t| t["vendor_serial"] == "FT-0003")
            .unwrap()["kind"],
        "totp"
    );
    assert!(
        db.admin_json(&["token", "list"])
            .as_array()
            .unwrap()
            .is_empty(),
        "imported tokens belong to nobody"
    );
    assert_eq!(imports_audited(&db), 1);
    // The same file again is refused whole.
    let out = import(
        &db,
        &with_password,
        &["--password-stdin"],
        &format!("{PASSWORD_OF_FILE}\n"),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nothing was imported"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stock(&db).len(), 3);

    // Assigned by the vendor's serial on the command line: ines's, active,
    // and its first code (counter 0) is accepted.
    let first = stocked_serial(&db, "FT-0001");
    let out = db.admin(&["token", "assign", "FT-0001", "ines", "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = db.admin_json(&["token", "show", &first]);
    assert_eq!(shown["user"], "ines");
    assert_eq!(shown["state"], "active");
    assert_eq!(stock(&db).len(), 2);
    let mails = wait_for_mails(&db, 1);
    assert!(
        mails
            .iter()
            .any(|m| m.contains("ines@example.org") && m.contains("A new token was added")),
        "{mails:?}"
    );
    let out = db.admin(&["token", "assign", "FT-0001", "ines"], "");
    assert!(
        !out.status.success(),
        "an assigned token is out of the stock"
    );

    let server = db.serve();
    let key = db.api_key("vpn", "authenticate");
    let admin_key = db.api_key("console", "admin");
    let seed1 = "3132333435363738393031323334353637383930";
    assert_eq!(
        server.authenticate(&key, "ines", &hotp(seed1, 6, 0)),
        "accept"
    );
    assert_eq!(
        server.authenticate(&key, "ines", &hotp(seed1, 6, 1)),
        "accept"
    );

    // Assigned through the JSON API by its Latchkey serial: 8 digits, and
    // the file's counter (5) is where its codes start.
    let second = stocked_serial(&db, "FT-0002");
    let response = server.post(
        &format!("/api/v1/tokens/{second}/assign"),
        Some(&admin_key),
        r#"{"user": "ines"}"#,
    );
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body["user"], "ines");
    assert_eq!(response.body["digits"], 8);
    let seed2 = "3132333435363738393031323334353637383931";
    assert_eq!(
        server.authenticate(&key, "ines", &hotp(seed2, 8, 5)),
        "accept"
    );
    let response = server.post(
        &format!("/api/v1/tokens/{second}/assign"),
        Some(&admin_key),
        r#"{"user": "ines"}"#,
    );
    assert_eq!(response.status, 404, "{:?}", response.body);
    let response = server.post(
        "/api/v1/tokens/FT-0003/assign",
        Some(&admin_key),
        r#"{"user": "nobody"}"#,
    );
    assert_eq!(response.status, 404, "{:?}", response.body);
    assert_eq!(stock(&db).len(), 1, "an unknown user takes nothing");
    let response = server.post(
        "/api/v1/tokens/FT-0003/assign",
        Some(&key),
        r#"{"user": "ines"}"#,
    );
    assert_eq!(response.status, 403, "an authenticate key cannot assign");

    // A file protected with a pre-shared key, in a key file.
    let key_file = dir.path().join("vendor.key");
    std::fs::write(&key_file, format!("{KEY_HEX}\n")).unwrap();
    let csv = "serial,secret,algorithm,response_length,counter\n\
               YK-9001,4142434445464748494a4b4c4d4e4f5051525354,urn:ietf:params:xml:ns:keyprov:pskc:hotp,6,0\n";
    let with_key = csv2pskc(dir.path(), "key", csv, &["-s", KEY_HEX]);
    let out = import(
        &db,
        &with_key,
        &["--psk-file", &key_file.display().to_string()],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = db.admin(&["token", "assign", "YK-9001", "ines"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let seed3 = "4142434445464748494a4b4c4d4e4f5051525354";
    assert_eq!(
        server.authenticate(&key, "ines", &hotp(seed3, 6, 0)),
        "accept"
    );
}

#[test]
fn csv2pskc_files_are_imported_assigned_and_their_codes_accepted_on_sqlite() {
    imported_assigned_and_accepted(false);
}

#[test]
fn csv2pskc_files_are_imported_assigned_and_their_codes_accepted_on_postgres() {
    imported_assigned_and_accepted(true);
}

/// The file with its first `ValueMAC` changed by `edit`.
fn with_first_mac(file: &str, edit: impl Fn(&str) -> String) -> String {
    let open = "<pskc:ValueMAC>";
    let close = "</pskc:ValueMAC>";
    let start = file.find(open).expect("a ValueMAC");
    let end = file[start..].find(close).unwrap() + start + close.len();
    let mac = &file[start + open.len()..end - close.len()];
    format!("{}{}{}", &file[..start], edit(mac), &file[end..])
}

fn refused_whole(postgres: bool) {
    let db = Database::new(postgres);
    let dir = tempfile::tempdir().unwrap();
    let good = csv2pskc(dir.path(), "good", CSV, &["-p", PASSWORD_OF_FILE]);
    let text = std::fs::read_to_string(&good).unwrap();
    let password = format!("{PASSWORD_OF_FILE}\n");

    let refused = |name: &str, body: &str, flags: &[&str], input: &str, says: &str| {
        let file = dir.path().join(format!("{name}.pskcxml"));
        std::fs::write(&file, body).unwrap();
        let out = import(&db, &file, flags, input);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: refused ({})",
            stderr(&out)
        );
        let message = stderr(&out);
        assert!(
            message.contains("nothing was imported"),
            "{name}: {message}"
        );
        assert!(message.contains(says), "{name}: says {says:?}: {message}");
        assert!(
            !message.contains("3132333435"),
            "{name}: no secret in the message"
        );
        assert!(stock(&db).is_empty(), "{name}: nothing imported");
        assert_eq!(imports_audited(&db), 0, "{name}: nothing imported");
    };

    refused(
        "wrong-password",
        &text,
        &["--password-stdin"],
        "not-the-password\n",
        "does not open",
    );
    refused("no-password", &text, &[], "", "password");
    let wrong_mac = with_first_mac(&text, |mac| {
        let flipped = if mac.starts_with('A') { "B" } else { "A" };
        format!("<pskc:ValueMAC>{flipped}{}</pskc:ValueMAC>", &mac[1..])
    });
    refused(
        "wrong-mac",
        &wrong_mac,
        &["--password-stdin"],
        &password,
        "key package 1",
    );
    let no_mac = with_first_mac(&text, |_| String::new());
    refused(
        "missing-mac",
        &no_mac,
        &["--password-stdin"],
        &password,
        "key package 1",
    );
    refused(
        "truncated",
        &text[..text.len() / 2],
        &["--password-stdin"],
        &password,
        "truncated.pskcxml",
    );
    let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE KeyContainer [\n\
        <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n\
        <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n\
        <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n\
        <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n]>\n\
        <KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">\
        <KeyPackage><DeviceInfo><SerialNo>&d;</SerialNo></DeviceInfo>\
        <Key Id=\"1\" Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:hotp\"><Data><Secret>\
        <PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret></Data></Key></KeyPackage>\
        </KeyContainer>\n";
    refused("entity-bomb", bomb, &[], "", "bomb.pskcxml");

    // With --skip-invalid a file with one bad package imports the others
    // and names the one left out.
    let file = dir.path().join("one-bad.pskcxml");
    std::fs::write(&file, &wrong_mac).unwrap();
    let out = import(
        &db,
        &file,
        &["--password-stdin", "--skip-invalid"],
        &password,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["imported"], 2);
    assert_eq!(report["skipped"][0]["position"], 1);
    assert_eq!(report["skipped"][0]["serial"], "FT-0001");
    let vendors: Vec<String> = stock(&db)
        .iter()
        .map(|t| t["vendor_serial"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(vendors, ["FT-0002", "FT-0003"]);
}

#[test]
fn broken_and_hostile_pskc_files_are_refused_whole_on_sqlite() {
    refused_whole(false);
}

#[test]
fn broken_and_hostile_pskc_files_are_refused_whole_on_postgres() {
    refused_whole(true);
}
