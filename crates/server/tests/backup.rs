//! `latchkey admin backup FILE` and `latchkey admin restore FILE`: a backup
//! taken while a node accepts a stream of one-time passwords restores into
//! a fresh data folder, verifies its audit chain and accepts the next
//! codes; a backup under another master key, one in which any sealed
//! value (an unassigned token's seed among them) does not open, or a file
//! that is not a Latchkey database, is refused with a message saying so
//! and changes nothing; PostgreSQL is pointed to `pg_dump`; the files are 0600.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::*;
use latchkey_oath::{KeyUri, Totp};
use serde_json::json;

const USERS: usize = 4;
const OTHER_MASTER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn uri(i: usize) -> String {
    let seed: Vec<u8> = (0..20u8)
        .map(|b| b.wrapping_mul(11).wrapping_add(i as u8))
        .collect();
    format!(
        "otpauth://totp/Backup:user{i}?secret={}&algorithm=SHA1&digits=6&period=30",
        data_encoding::BASE32_NOPAD.encode(&seed)
    )
}

fn totp(i: usize) -> Totp {
    KeyUri::parse(&uri(i)).unwrap().totp().unwrap().unwrap()
}

/// Users `user0` … with a TOTP token each, of known seeds.
fn import_users(db: &Database) {
    let path = db.dir.path().join("import.jsonl");
    let text: String = (0..USERS)
        .map(|i| {
            format!(
                "{}\n",
                json!({ "username": format!("user{i}"), "otpauth_uri": uri(i) })
            )
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    let out = db.admin(&["import", path.to_str().unwrap()], "");
    assert!(out.status.success(), "import: {}", stderr(&out));
}

/// `latchkey admin …` on `db` under another master key.
fn admin_with_key(db: &Database, key: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("admin")
        .arg("--data-dir")
        .arg(db.dir.path())
        .args(["--database", &db.url])
        .args(args)
        .env("LATCHKEY_MASTER_KEY", key)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn accept(server: &Server, key: &str, user: usize) -> bool {
    let otp = totp(user).generate(server.now());
    let body = json!({ "username": format!("user{user}"), "otp": otp }).to_string();
    server.post("/api/v1/authenticate", Some(key), &body).body["result"] == "accept"
}

/// The subjects of the audit rows with `action`.
fn audited(db: &Database, action: &str) -> Vec<String> {
    db.admin_json(&["audit", "list", "--limit", "100000"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["action"] == action)
        .map(|row| row["subject"].as_str().unwrap().to_owned())
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_backup_taken_under_load_restores_verifies_its_audit_chain_and_accepts_the_next_codes() {
    let db = Database::new(false);
    import_users(&db);
    let key = db.api_key("vpn", "authenticate");
    let server = Arc::new(db.spawn_app());

    // The load: every user's code of each step, then the next step, until
    // the backup is done; every code must be accepted.
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let load = {
        let (server, stop, accepted, key) = (
            Arc::clone(&server),
            Arc::clone(&stop),
            Arc::clone(&accepted),
            key.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                for user in 0..USERS {
                    assert!(
                        accept(&server, &key, user),
                        "user{user} at {}",
                        server.now()
                    );
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
                server.clock().advance(30);
            }
        })
    };
    // Some load first, so the backup runs in the middle of it.
    while accepted.load(Ordering::Relaxed) < 20 {
        std::thread::yield_now();
    }
    let backup = db.dir.path().join("backups").join("latchkey.db");
    std::fs::create_dir_all(backup.parent().unwrap()).unwrap();
    let out = db.admin(&["backup", backup.to_str().unwrap()], "");
    let during = accepted.load(Ordering::Relaxed);
    stop.store(true, Ordering::Release);
    load.join().unwrap();
    assert!(out.status.success(), "backup: {}", stderr(&out));
    assert!(
        accepted.load(Ordering::Relaxed) > 20 && during > 20,
        "the backup ran while codes were accepted"
    );
    let said = stdout(&out);
    assert!(
        said.contains("does not contain the master key")
            && said.contains("LATCHKEY_MASTER_KEY")
            && said.contains("every token seed in the backup is lost"),
        "{said}"
    );
    assert_eq!(mode(&backup), 0o600, "the backup file");
    let live = db.dir.path().join("latchkey.db");
    assert_eq!(mode(&live), 0o600, "the database file");
    let wal = db.dir.path().join("latchkey.db-wal");
    assert_eq!(mode(&wal), 0o600, "the WAL file");
    assert!(
        !db.dir.path().join("backups/latchkey.db-wal").exists(),
        "a backup is one file"
    );

    // Into a fresh data folder, with the same master key.
    let fresh = Database::new(false);
    let out = fresh.admin(&["restore", backup.to_str().unwrap()], "");
    assert!(out.status.success(), "restore: {}", stderr(&out));
    assert!(stdout(&out).contains("audit chain"), "{}", stdout(&out));
    let restored = fresh.dir.path().join("latchkey.db");
    assert_eq!(mode(&restored), 0o600, "the restored database");
    let out = fresh.admin(&["audit", "verify"], "");
    assert!(out.status.success(), "audit verify: {}", stderr(&out));
    let backup_name = backup.display().to_string();
    assert_eq!(
        audited(&db, "database.backup"),
        vec![backup_name.clone()],
        "the live database records the backup"
    );
    assert_eq!(
        audited(&fresh, "database.restore"),
        vec![backup_name],
        "the restored database records its restore"
    );

    // The restored node accepts each user's next code: the steps the load
    // used are behind its clock, and no seed was lost.
    let node = fresh.spawn_app();
    let ahead = i64::try_from(server.now() - node.now()).unwrap() + 30;
    node.clock().advance(ahead);
    for user in 0..USERS {
        assert!(accept(&node, &key, user), "user{user} after the restore");
    }
    // …once: the same code again is a replay.
    let body = json!({ "username": "user0", "otp": totp(0).generate(node.now()) }).to_string();
    assert_eq!(
        node.post("/api/v1/authenticate", Some(&key), &body).body["result"],
        "reject",
        "a replayed code"
    );
}

#[test]
fn restore_refuses_a_backup_made_under_another_master_key_and_changes_nothing() {
    let db = Database::new(false);
    import_users(&db);
    let backup = db.dir.path().join("latchkey-backup.db");
    let out = db.admin(&["backup", backup.to_str().unwrap()], "");
    assert!(out.status.success(), "backup: {}", stderr(&out));

    let other = Database::new(false);
    let out = admin_with_key(
        &other,
        OTHER_MASTER_KEY,
        &["restore", backup.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains("do not open with the master key")
            && message.contains("another master key")
            && message.contains("Nothing was changed"),
        "{message}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(other.dir.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("latchkey.db"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "nothing was put in place: {leftovers:?}"
    );

    // A data folder with no master key at all is told what is missing.
    let keyless = Database::new(false);
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("admin")
        .arg("--data-dir")
        .arg(keyless.dir.path())
        .args([
            "--database",
            &keyless.url,
            "restore",
            backup.to_str().unwrap(),
        ])
        .env_remove("LATCHKEY_MASTER_KEY")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no master key") && stderr(&out).contains("master.key"),
        "{}",
        stderr(&out)
    );
    assert!(!keyless.dir.path().join("master.key").exists());
}

/// Two HOTP tokens with their seeds in the clear, for the stock, as
/// Debian pskc-utils' `csv2pskc` reads them.
const STOCK_CSV: &str = "serial,secret,algorithm,response_length,counter\n\
FT-0001,3132333435363738393031323334353637383930,urn:ietf:params:xml:ns:keyprov:pskc:hotp,6,0\n\
FT-0002,3132333435363738393031323334353637383931,urn:ietf:params:xml:ns:keyprov:pskc:hotp,6,0\n";

/// The database files `db`'s data folder holds.
fn database_files(db: &Database) -> Vec<String> {
    std::fs::read_dir(db.dir.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("latchkey.db"))
        .collect()
}

#[test]
fn restore_opens_the_unassigned_tokens_seeds_and_refuses_a_backup_where_one_does_not_open() {
    let db = Database::new(false);
    import_users(&db);
    let csv = db.dir.path().join("stock.csv");
    std::fs::write(&csv, STOCK_CSV).unwrap();
    let file = db.dir.path().join("stock.pskcxml");
    let out = Command::new("csv2pskc")
        .arg("-o")
        .arg(&file)
        .arg(&csv)
        .output()
        .expect("csv2pskc runs (Debian's pskc-utils)");
    assert!(out.status.success(), "csv2pskc: {}", stderr(&out));
    let out = db.admin(&["import", "--format", "pskc", file.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let first = db
        .admin_json(&["token", "list", "--unassigned"])
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["vendor_serial"] == "FT-0001")
        .unwrap()["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let backup = db.dir.path().join("latchkey-backup.db");
    let out = db.admin(&["backup", backup.to_str().unwrap()], "");
    assert!(out.status.success(), "backup: {}", stderr(&out));

    // Whole, it restores: the users' four seeds and the stock's two open.
    let good = Database::new(false);
    let out = good.admin(&["restore", backup.to_str().unwrap()], "");
    assert!(out.status.success(), "restore: {}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("{} sealed values open", USERS + 2)),
        "{}",
        stdout(&out)
    );

    // One stocked seed swapped for another's, sealed for a different
    // serial: it opens under no key, and the backup is refused whole.
    let altered = db.dir.path().join("latchkey-altered.db");
    std::fs::copy(&backup, &altered).unwrap();
    execute_sql(
        &format!("sqlite://{}", altered.display()),
        "UPDATE token_stock SET sealed_seed = \
         (SELECT sealed_seed FROM token_stock WHERE vendor_serial = 'FT-0002') \
         WHERE vendor_serial = 'FT-0001'",
    );
    let other = Database::new(false);
    let out = other.admin(&["restore", altered.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains(&format!(
            "1 of the backup's {} sealed values do not open",
            USERS + 2
        )) && message.contains(&format!("seed of unassigned token {first}"))
            && message.contains("Nothing was changed"),
        "{message}"
    );
    assert!(
        database_files(&other).is_empty(),
        "nothing was put in place: {:?}",
        database_files(&other)
    );
}

#[test]
fn restore_refuses_a_database_a_server_has_open_and_the_server_goes_on() {
    let db = Database::new(false);
    import_users(&db);
    let backup = db.dir.path().join("latchkey-backup.db");
    let out = db.admin(&["backup", backup.to_str().unwrap()], "");
    assert!(out.status.success(), "backup: {}", stderr(&out));
    let key = db.api_key("vpn", "authenticate");
    let server = db.spawn_app();

    let out = db.admin(&["restore", backup.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("is in use by another process")
            && stderr(&out).contains("stop the service first"),
        "{}",
        stderr(&out)
    );
    assert!(
        !db.dir.path().join("latchkey.db.restoring").exists(),
        "the staged copy is gone"
    );
    assert!(accept(&server, &key, 1), "the server goes on");
    drop(server);

    // Stopped, the same restore goes through and keeps the old database.
    let out = db.admin(&["restore", backup.to_str().unwrap()], "");
    assert!(out.status.success(), "restore: {}", stderr(&out));
    assert!(stdout(&out).contains("is kept at"), "{}", stdout(&out));
    let kept: Vec<_> = std::fs::read_dir(db.dir.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("latchkey.db.before-restore-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
}

#[test]
fn restore_refuses_a_file_that_is_not_a_latchkey_database() {
    let db = Database::new(false);
    let text = db.dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "not a database at all, just some words\n".repeat(200),
    )
    .unwrap();
    let out = db.admin(&["restore", text.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not an SQLite database"),
        "{}",
        stderr(&out)
    );

    let foreign = db.dir.path().join("other.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
        .unwrap();
    let out = db.admin(&["restore", foreign.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a Latchkey one"),
        "{}",
        stderr(&out)
    );
    assert!(!db.dir.path().join("latchkey.db").exists());
}

#[test]
fn on_postgresql_backup_and_restore_point_to_pg_dump() {
    let db = Database::new(true);
    let file = db.dir.path().join("latchkey.db");
    for command in ["backup", "restore"] {
        let out = db.admin(&[command, file.to_str().unwrap()], "");
        assert_eq!(out.status.code(), Some(1), "{command}");
        assert!(
            stderr(&out).contains("pg_dump") && stderr(&out).contains("pg_restore"),
            "{command}: {}",
            stderr(&out)
        );
    }
    assert!(!file.exists());
}
