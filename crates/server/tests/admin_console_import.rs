//! The admin console's import page over HTTP, on an in-process node and
//! both backends: JSON lines with a dry run that changes nothing and an
//! import that stores every line or none; a report that never shows the
//! pasted seeds or password hashes again; and PSKC files made at test time
//! by an independent producer (Debian pskc-utils' `csv2pskc`), with a
//! password and with a pre-shared key, checked, imported into the stock,
//! and refused whole with a wrong password.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::console::*;
use common::web::Account;
use common::*;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    an_import_dry_run_changes_nothing_and_the_import_stores_every_line,
    an_import_report_never_shows_the_pasted_seeds_or_password_hashes,
    a_pskc_file_is_checked_imported_into_the_stock_and_a_wrong_password_imports_nothing,
);

fn an_import_dry_run_changes_nothing_and_the_import_stores_every_line(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    Account::new(&db, "taken");
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");
    let lines = [
        serde_json::json!({"username": "imp-one", "otpauth_uri": totp_uri(1), "email": "one@example.org"}),
        serde_json::json!({"username": "imp-two", "otpauth_uri": totp_uri(2), "serial": "1234567897"}),
        serde_json::json!({"username": "imp-three", "otpauth_uri": "otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=5"}),
    ]
    .iter()
    .map(|line| line.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    let rows_before = audit_rows(&db).len();

    let dry = visitor.post("/admin/import", &[("lines", &lines), ("dry_run", "yes")]);
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(
        dry.body.contains("These 3 accounts would be imported"),
        "{}",
        dry.body
    );
    assert_eq!(dry.body.matches("would be imported</td>").count(), 3);
    let grouped = "1234567897"
        .parse::<latchkey_core::oath::Serial>()
        .unwrap()
        .grouped();
    assert!(
        dry.body.contains(&format!("<td>{grouped}</td>")),
        "{}",
        dry.body
    );
    for name in ["imp-one", "imp-two", "imp-three"] {
        assert!(dry.body.contains(&format!("<td>{name}</td>")));
        assert!(
            !db.admin(&["user", "show", name], "").status.success(),
            "{name} is not there yet"
        );
    }
    assert_eq!(
        audit_rows(&db).len(),
        rows_before,
        "a dry run writes nothing"
    );

    // One bad line stops them all, in a dry run or not.
    let bad = format!(
        "{lines}\n{}\n{}\nnot json",
        serde_json::json!({"username": "taken", "otpauth_uri": totp_uri(3)}),
        serde_json::json!({"username": "short", "otpauth_uri": "otpauth://totp/x?secret=GEZDGNBV"}),
    );
    let refused = visitor.post("/admin/import", &[("lines", &bad)]);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("Nothing was imported"));
    assert!(
        refused
            .body
            .contains("a user with this name exists already")
    );
    assert!(refused.body.contains("the seed has 5 bytes"));
    assert!(refused.body.contains("not an import line"));
    assert!(!db.admin(&["user", "show", "imp-one"], "").status.success());
    assert_eq!(audit_rows(&db).len(), rows_before);

    let done = visitor.post("/admin/import", &[("lines", &lines)]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Imported 3 accounts."), "{}", done.body);
    let one = db.admin_json(&["user", "show", "imp-one"]);
    assert_eq!(one["email"], "one@example.org");
    let two = db.admin_json(&["token", "show", "1234567897"]);
    assert_eq!(two["user"], "imp-two");
    assert_eq!(two["kind"], "totp");
    assert_eq!(two["state"], "active");
    let three = tokens_of(&db, "imp-three");
    assert_eq!(three.len(), 1);
    assert_eq!(three[0]["kind"], "hotp", "{three:?}");
    let rows = audit_rows(&db);
    let imports: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["action"] == "user.import")
        .collect();
    assert_eq!(imports.len(), 1, "one audit row for the import");
    assert_eq!(imports[0]["actor"], "root");
    assert!(
        imports[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("3 users with a token each")
    );
    let twice = visitor.post("/admin/import", &[("lines", &lines)]);
    assert_eq!(
        twice.status, 422,
        "the same lines again are refused: {}",
        twice.body
    );
}

/// A password hash of the PHC form `admin import` takes (never checked
/// against a password here: only shown, or not).
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4mdPeP2/1bkGkQ/8JTzRvu6EMlhpf8jcQNHOTsc2CiE";

fn an_import_report_never_shows_the_pasted_seeds_or_password_hashes(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");
    let seed = data_encoding::BASE32_NOPAD.encode(&[7; 20]);
    let short_seed = "MFRGGZDFMZTWQ2LK";
    let lines = [
        serde_json::json!({"username": "sam", "otpauth_uri": totp_uri(7), "password_hash": HASH}),
        serde_json::json!({"username": "sue", "otpauth_uri": format!("otpauth://totp/x?secret={short_seed}")}),
        serde_json::json!({"username": "sid", "otpauth_uri": totp_uri(8), "secret": seed}),
    ]
    .iter()
    .map(|line| line.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    assert!(totp_uri(7).contains(&seed));

    for dry_run in [true, false] {
        let mut fields = vec![("lines", lines.as_str())];
        if dry_run {
            fields.push(("dry_run", "yes"));
        }
        let page = visitor.post("/admin/import", &fields);
        assert_eq!(page.status, 422, "{}", page.body);
        // The summary: every line by number and user, and what is wrong.
        assert!(page.body.contains("<td>sam</td>"), "{}", page.body);
        assert!(page.body.contains("<td>sue</td>"));
        assert!(page.body.contains("would be imported") || !dry_run);
        assert!(page.body.contains("the seed has 10 bytes"), "{}", page.body);
        assert!(page.body.contains("unknown field"), "{}", page.body);
        // Never what was pasted: no seed, short or long, no hash, no URI.
        for secret in [
            seed.as_str(),
            short_seed,
            HASH,
            "otpauth://totp/Example",
            "c29tZXNhbHRzb21lc2FsdA",
        ] {
            assert!(
                !page.body.contains(secret),
                "dry run {dry_run}: the page shows {secret}"
            );
        }
        assert!(
            page.body.contains("<textarea id=\"lines\" name=\"lines\" rows=\"10\" required spellcheck=\"false\" autocomplete=\"off\"></textarea>"),
            "the form comes back empty"
        );
    }
    assert!(!db.admin(&["user", "show", "sam"], "").status.success());

    // A clean dry run shows its summary, and no seed either.
    let clean =
        serde_json::json!({"username": "sam", "otpauth_uri": totp_uri(7), "password_hash": HASH})
            .to_string();
    let page = visitor.post("/admin/import", &[("lines", &clean), ("dry_run", "yes")]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("These 1 accounts would be imported"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&seed) && !page.body.contains(HASH));
}

/// Seeds, hex: two HOTP tokens (6 digits from counter 0, 8 digits from
/// counter 5) and a TOTP one; the first is RFC 4226's.
const CSV: &str = "serial,secret,algorithm,response_length,counter,time_interval\n\
FT-0001,3132333435363738393031323334353637383930,urn:ietf:params:xml:ns:keyprov:pskc:hotp,6,0,\n\
FT-0002,3132333435363738393031323334353637383931,urn:ietf:params:xml:ns:keyprov:pskc:hotp,8,5,\n\
FT-0003,3132333435363738393031323334353637383932,urn:ietf:params:xml:ns:keyprov:pskc:totp,6,,30\n";
const PASSWORD_OF_FILE: &str = "qwerty-vendor";
const KEY_HEX: &str = "12345678901234567890123456789012";

/// The `token.import` audit rows.
fn imports_audited(db: &Database) -> Vec<serde_json::Value> {
    audit_rows(db)
        .into_iter()
        .filter(|r| r["action"] == "token.import")
        .collect()
}

fn a_pskc_file_is_checked_imported_into_the_stock_and_a_wrong_password_imports_nothing(
    postgres: bool,
) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");
    let with_password = csv2pskc(db.dir.path(), "password", CSV, &["-p", PASSWORD_OF_FILE]);
    assert!(
        with_password.contains("EncryptedValue"),
        "csv2pskc encrypted it"
    );
    let rows_before = audit_rows(&db).len();

    // A wrong password: refused whole, with the reason; nothing imported.
    for dry_run in ["", "yes"] {
        let wrong = visitor.post(
            "/admin/import/pskc",
            &[
                ("pskc", &with_password),
                ("password", "not-the-password"),
                ("dry_run", dry_run),
            ],
        );
        assert_eq!(wrong.status, 422, "{}", wrong.body);
        let outcome = text_of(&wrong, "pskc-outcome").unwrap();
        assert!(outcome.contains("does not open this file"), "{outcome}");
        assert!(outcome.contains("Nothing was imported"), "{outcome}");
    }
    // No password for a file that has one, and a key that is not hex.
    let none = visitor.post("/admin/import/pskc", &[("pskc", &with_password)]);
    assert_eq!(none.status, 422, "{}", none.body);
    assert!(
        text_of(&none, "pskc-outcome")
            .unwrap()
            .contains("give the password")
    );
    let bad_key = visitor.post(
        "/admin/import/pskc",
        &[("pskc", &with_password), ("psk", "not hex")],
    );
    assert_eq!(bad_key.status, 422, "{}", bad_key.body);
    assert!(stock(&db).is_empty());
    assert_eq!(
        audit_rows(&db).len(),
        rows_before,
        "a refusal writes nothing"
    );

    // A dry run: the tokens by serial, nothing stored, nothing sent back.
    let dry = visitor.post(
        "/admin/import/pskc",
        &[
            ("pskc", &with_password),
            ("password", PASSWORD_OF_FILE),
            ("dry_run", "yes"),
        ],
    );
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(
        text_of(&dry, "pskc-outcome")
            .unwrap()
            .contains("These 3 tokens would be imported"),
        "{}",
        dry.body
    );
    for vendor in ["FT-0001", "FT-0002", "FT-0003"] {
        assert!(dry.body.contains(&format!("<td>{vendor}</td>")), "{vendor}");
    }
    for secret in [
        PASSWORD_OF_FILE,
        "EncryptedValue",
        "CipherValue",
        "3132333435",
    ] {
        assert!(!dry.body.contains(secret), "the page shows {secret}");
    }
    assert!(stock(&db).is_empty(), "a dry run imports nothing");
    assert_eq!(audit_rows(&db).len(), rows_before);

    // The import: all three, unassigned, one audit row.
    let done = visitor.post(
        "/admin/import/pskc",
        &[("pskc", &with_password), ("password", PASSWORD_OF_FILE)],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        text_of(&done, "pskc-outcome")
            .unwrap()
            .contains("Imported 3 unassigned tokens"),
        "{}",
        done.body
    );
    let stocked = stock(&db);
    let mut vendors: Vec<&str> = stocked
        .iter()
        .map(|t| t["vendor_serial"].as_str().unwrap())
        .collect();
    vendors.sort_unstable();
    assert_eq!(vendors, ["FT-0001", "FT-0002", "FT-0003"]);
    let imports = imports_audited(&db);
    assert_eq!(imports.len(), 1, "{imports:?}");
    assert_eq!(imports[0]["actor"], "root");
    assert!(
        imports[0]["detail"]
            .as_str()
            .unwrap()
            .contains("3 unassigned tokens"),
        "{}",
        imports[0]
    );

    // The same file again: its vendor serials are taken; nothing added.
    let again = visitor.post(
        "/admin/import/pskc",
        &[("pskc", &with_password), ("password", PASSWORD_OF_FILE)],
    );
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(stock(&db).len(), 3);

    // A file under a pre-shared key, given in hex.
    let csv = CSV.replace("FT-", "YK-");
    let with_key = csv2pskc(db.dir.path(), "key", &csv, &["-s", KEY_HEX]);
    let wrong_key = visitor.post(
        "/admin/import/pskc",
        &[("pskc", &with_key), ("psk", &KEY_HEX.replace('1', "f"))],
    );
    assert_eq!(wrong_key.status, 422, "{}", wrong_key.body);
    assert_eq!(stock(&db).len(), 3);
    let done = visitor.post(
        "/admin/import/pskc",
        &[("pskc", &with_key), ("psk", KEY_HEX)],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(!done.body.contains(KEY_HEX));
    assert_eq!(stock(&db).len(), 6);
    assert_eq!(imports_audited(&db).len(), 2);
}
