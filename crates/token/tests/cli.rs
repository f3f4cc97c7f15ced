//! The soft token end to end through the real `latchkey-token` binary.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;
use latchkey_oath::{ResetCode, Serial, UnlockCode, UnlockSecret, base32, unlock_code};
use latchkey_token::kdf::KdfParams;
use latchkey_token::record::TokenRecord;

#[test]
fn tests_run_with_the_cheap_test_kdf_and_release_default_is_strong() {
    let (home, _) = activated(10);
    let file = &home.token_files()[0];
    let record = TokenRecord::from_json(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(
        record.kdf,
        KdfParams::CHEAP,
        "the test hook must be compiled into the tested binary"
    );
    const {
        assert!(
            KdfParams::DEFAULT.m_cost >= 19 * 1024,
            "OWASP's Argon2id floor is 19 MiB"
        )
    };
}

/// Runs `code` and `oathtool` for the same time step and compares.
fn assert_matches_oathtool(home: &TokenHome, oathtool_args: &[&str]) {
    for _ in 0..5 {
        let before = unix_now();
        let out = code_with(home, PIN);
        let after = unix_now();
        assert_eq!(out.status.code(), Some(0), "code: {}", stderr(&out));
        if before / 30 != after / 30 {
            continue;
        }
        let ours = stdout(&out);
        assert!(
            ours.ends_with('\n') && ours.trim().chars().all(|c| c.is_ascii_digit()),
            "code prints the OTP alone: {ours:?}"
        );
        let now = format!("@{before}");
        let theirs = Command::new("oathtool")
            .args(oathtool_args)
            .args(["--now", &now])
            .output()
            .expect("oathtool must be installed (Debian package oathtool; .ci/run installs it)");
        assert!(
            theirs.status.success(),
            "oathtool: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        assert_eq!(ours.trim(), String::from_utf8_lossy(&theirs.stdout).trim());
        return;
    }
    panic!("could not stay within one time step");
}

#[test]
fn imported_tokens_match_oathtool_sha1_6_and_sha256_8() {
    let secret = base32::encode(b"an imported seed of twenty-four!");
    for (uri, args) in [
        (
            format!("otpauth://totp/Acme:bob?secret={secret}&issuer=Acme"),
            vec!["--totp", "--digits=6", "--base32", secret.as_str()],
        ),
        (
            format!(
                "otpauth://totp/Acme:carol?secret={secret}&algorithm=SHA256&digits=8&period=30"
            ),
            vec!["--totp=SHA256", "--digits=8", "--base32", secret.as_str()],
        ),
    ] {
        let home = TokenHome::new();
        let out = home.run(&["import", &uri], &[PIN, PIN]);
        assert_eq!(out.status.code(), Some(0), "import: {}", stderr(&out));
        let recovery: UnlockCode = stdout(&out)
            .trim()
            .parse()
            .expect("import prints a recovery code");
        assert!(stderr(&out).contains("shown only this once"));
        assert_matches_oathtool(&home, &args);
        // The recovery code opens the token like an unlock code, once.
        let wrong = home.wrong_pin();
        for _ in 0..5 {
            code_with(&home, &wrong);
        }
        let out = home.run(&["unlock"], &[recovery.digits(), NEW_PIN, NEW_PIN]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "unlock with recovery code: {}",
            stderr(&out)
        );
        let fresh: UnlockCode = stdout(&out).trim().parse().expect("a new recovery code");
        assert_ne!(fresh, recovery);
        let out = home.run(&["unlock"], &[recovery.digits(), PIN, PIN]);
        assert_eq!(
            out.status.code(),
            Some(3),
            "a spent recovery code: {}",
            stderr(&out)
        );
    }
}

#[test]
fn latchkey_token_codes_are_the_seeds_totp() {
    let (home, token) = activated(10);
    for _ in 0..5 {
        let before = unix_now();
        let out = code_with(&home, PIN);
        if before / 30 == unix_now() / 30 {
            assert_eq!(stdout(&out).trim(), token.totp().generate(before));
            return;
        }
    }
    panic!("could not stay within one time step");
}

#[test]
fn s18_four_wrong_pins_then_the_right_one_clears_the_count() {
    let (home, _) = activated(10);
    let wrong = home.wrong_pin();
    for left in (1..=4).rev() {
        let out = code_with(&home, &wrong);
        assert_eq!(out.status.code(), Some(3));
        let plural = if left == 1 { "attempt" } else { "attempts" };
        assert!(
            stderr(&out).contains(&format!(
                "Incorrect PIN. {left} {plural} left before this token locks."
            )),
            "{}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty());
    }
    let out = code_with(&home, PIN);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(home.list_json()[0]["attempts_left"], 5);
    assert_eq!(home.list_json()[0]["state"], "active");
}

#[test]
fn s18_exactly_the_fifth_wrong_pin_locks_and_the_right_pin_is_refused() {
    let (home, _) = activated(10);
    let wrong = home.wrong_pin();
    for _ in 0..4 {
        assert_eq!(code_with(&home, &wrong).status.code(), Some(3));
    }
    let out = code_with(&home, &wrong);
    assert_eq!(out.status.code(), Some(4), "the fifth wrong PIN locks");
    let message = stderr(&out);
    let shown = reset_code_in(&message).expect("the locked message carries the PIN Reset Code");
    assert!(
        message.contains("My soft token is locked") && message.contains("latchkey-token unlock"),
        "{message}"
    );
    // Each run is a new process: the lock is on disk.
    let out = code_with(&home, PIN);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a locked token refuses the right PIN"
    );
    assert!(stdout(&out).is_empty());
    assert_eq!(reset_code_in(&stderr(&out)), Some(shown.clone()));
    assert_eq!(home.list_json()[0]["state"], "locked");
    assert_eq!(home.reset_code(), shown, "forgot-pin shows the same code");
}

#[test]
fn forgot_pin_links_to_the_portals_unlock_page_with_the_code_filled_in() {
    let (home, token) = activated(10);
    let out = home.run(&["forgot-pin"], &[]);
    assert_eq!(out.status.code(), Some(0), "forgot-pin: {}", stderr(&out));
    let message = stderr(&out);
    let shown = reset_code_in(&message).expect("a reset code");
    let record = &home.list_json()[0];
    let server = record["server"].as_str().expect("the token's server");
    let link = message
        .split_whitespace()
        .find(|word| word.contains("/self-service/unlock?"))
        .unwrap_or_else(|| panic!("no link to the unlock page: {message}"));
    assert_eq!(
        link,
        format!(
            "{}/self-service/unlock?serial={}&reset_code={}",
            server.trim_end_matches('/'),
            token.serial.digits(),
            shown.grouped()
        )
    );
}

#[test]
fn s19_the_failure_is_on_disk_before_the_pin_is_checked() {
    let (home, _) = activated(10);
    let mut child = home
        .command(&["--pin-stdin", "code"])
        .env("LATCHKEY_TOKEN_TEST_PAUSE_AFTER_COUNT_MS", "60000")
        .spawn()
        .unwrap();
    {
        use std::io::{BufRead, Write};
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{PIN}").unwrap();
        drop(stdin);
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        assert!(line.contains("attempt counted"), "{line}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The right PIN was typed, but the process died before the check: the
    // attempt still counts.
    assert_eq!(home.list_json()[0]["attempts_left"], 4);
    assert_eq!(code_with(&home, PIN).status.code(), Some(0));
    assert_eq!(home.list_json()[0]["attempts_left"], 5);
}

#[test]
fn s21_the_right_unlock_code_opens_the_token_once_and_sets_a_new_pin() {
    let (home, token) = activated(10);
    lock(&home);
    let reset = home.reset_code();
    let unlock = token.unlock_code_for(&reset);
    let out = home.run(&["unlock"], &[&unlock.grouped(), NEW_PIN, NEW_PIN]);
    assert_eq!(out.status.code(), Some(0), "unlock: {}", stderr(&out));
    assert_eq!(
        reset_code_in(&stderr(&out)),
        Some(reset.clone()),
        "unlock shows the reset code first"
    );
    assert_eq!(home.list_json()[0]["state"], "active");
    assert_eq!(home.list_json()[0]["unlock_slots"], 9);
    assert_eq!(
        code_with(&home, NEW_PIN).status.code(),
        Some(0),
        "the new PIN opens it"
    );
    assert_eq!(
        code_with(&home, PIN).status.code(),
        Some(3),
        "the old PIN does not"
    );
    // The same unlock code never works twice: its slot is spent.
    lock(&home);
    assert_ne!(home.reset_code(), reset);
    let out = home.run(&["unlock"], &[unlock.digits(), PIN, PIN]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a spent unlock code: {}",
        stderr(&out)
    );
    assert_eq!(
        home.list_json()[0]["state"],
        "locked",
        "a refused code changes nothing"
    );
}

#[test]
fn s21_codes_for_another_reset_code_or_token_fail_with_status_3() {
    let (home, token) = activated(10);
    lock(&home);
    let reset = home.reset_code();
    let other_reset = ResetCode::generate();
    let other_serial = Serial::generate();
    let secret = UnlockSecret::from_bytes(token.unlock_secret);
    for wrong in [
        unlock_code(&secret, &token.serial, &other_reset),
        unlock_code(&secret, &other_serial, &reset),
        unlock_code(&UnlockSecret::generate(), &token.serial, &reset),
    ] {
        let out = home.run(&["unlock"], &[wrong.digits(), NEW_PIN, NEW_PIN]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stderr(&out).contains("does not match"), "{}", stderr(&out));
    }
    // A typo is caught by the check digit before anything is tried.
    let right = token.unlock_code_for(&reset);
    let mut typo = right.digits().as_bytes().to_vec();
    typo[3] = if typo[3] == b'9' { b'0' } else { typo[3] + 1 };
    let out = home.run(
        &["unlock"],
        &[std::str::from_utf8(&typo).unwrap(), NEW_PIN, NEW_PIN],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("typo"), "{}", stderr(&out));
    assert_eq!(home.list_json()[0]["state"], "locked");
    assert_eq!(home.list_json()[0]["unlock_slots"], 10);
}

#[test]
fn s17_a_trivial_new_pin_is_refused_and_nothing_changes() {
    let (home, token) = activated(10);
    lock(&home);
    let unlock = token.unlock_code_for(&home.reset_code());
    for pin in ["123456", "111111", "12345"] {
        let out = home.run(&["unlock"], &[unlock.digits(), pin, pin]);
        assert_eq!(out.status.code(), Some(2), "{pin}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("That PIN cannot be used"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(home.list_json()[0]["state"], "locked");
    let out = home.run(&["unlock"], &[unlock.digits(), NEW_PIN, "583921"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("differ"));
    let out = home.run(&["unlock"], &[unlock.digits(), NEW_PIN, NEW_PIN]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn slots_run_down_and_the_app_says_so_before_they_are_gone() {
    let (home, token) = activated(4);
    let mut warnings = Vec::new();
    for expected_left in (0..4).rev() {
        let unlock = token.unlock_code_for(&home.reset_code());
        let out = home.run(&["unlock"], &[unlock.digits(), NEW_PIN, NEW_PIN]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(home.list_json()[0]["unlock_slots"], expected_left);
        warnings.push(stderr(&out));
    }
    assert!(
        warnings[0].contains("Only 3 unlock codes are left"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[2].contains("Only 1 unlock code is left"),
        "{}",
        warnings[2]
    );
    assert!(
        warnings[3].contains("no unlock codes left"),
        "{}",
        warnings[3]
    );
    let out = home.run(&["forgot-pin"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no unlock codes left"));
}

#[test]
fn refresh_brings_a_full_set_of_new_slots() {
    let token = IssuedToken::new(4);
    let server = stand_in_server(&token);
    let home = TokenHome::new();
    let serial = token.serial.digits().to_owned();
    let out = home.run(
        &[
            "activate",
            "--server",
            &server.url,
            "--serial",
            &serial,
            "--activation-code",
            "1234567890123452",
        ],
        &[PIN, PIN],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let old_reset = home.reset_code();
    let out = home.run(&["refresh"], &[PIN]);
    assert_eq!(out.status.code(), Some(0), "refresh: {}", stderr(&out));
    assert_eq!(home.list_json()[0]["unlock_slots"], 10);
    let reset = home.reset_code();
    assert_ne!(reset, old_reset);
    lock(&home);
    let out = home.run(
        &["unlock"],
        &[token.unlock_code_for(&reset).digits(), NEW_PIN, NEW_PIN],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn change_pin_needs_the_current_pin() {
    // The server confirms the current PIN's seed (I8), so it stays up.
    let token = IssuedToken::new(10);
    let server = stand_in_server(&token);
    let home = TokenHome::new();
    let out = home.run(
        &[
            "activate",
            "--server",
            &server.url,
            "--serial",
            token.serial.digits(),
            "--activation-code",
            "1234567890123452",
        ],
        &[PIN, PIN],
    );
    assert_eq!(out.status.code(), Some(0), "activate: {}", stderr(&out));
    let out = home.run(&["change-pin"], &[&home.wrong_pin(), NEW_PIN, NEW_PIN]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        home.list_json()[0]["attempts_left"],
        4,
        "a wrong current PIN counts"
    );
    let out = home.run(&["change-pin"], &[PIN, NEW_PIN, NEW_PIN]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(code_with(&home, NEW_PIN).status.code(), Some(0));
    assert_eq!(code_with(&home, PIN).status.code(), Some(3));
}

#[test]
fn no_seed_or_unlock_secret_byte_anywhere_in_the_vault_folder() {
    let (home, token) = activated(10);
    code_with(&home, PIN);
    lock(&home);
    let unlock = token.unlock_code_for(&home.reset_code());
    assert_eq!(
        home.run(&["unlock"], &[unlock.digits(), NEW_PIN, NEW_PIN])
            .status
            .code(),
        Some(0)
    );
    let needles: Vec<Vec<u8>> = [&token.seed[..], &token.unlock_secret[..]]
        .iter()
        .flat_map(|secret| {
            [
                secret.to_vec(),
                hex::encode(secret).into_bytes(),
                hex::encode_upper(secret).into_bytes(),
                base32::encode(secret).into_bytes(),
                base32::encode(secret).to_lowercase().into_bytes(),
            ]
        })
        .chain([unlock.digits().as_bytes().to_vec()])
        .collect();
    let files: Vec<_> = std::fs::read_dir(home.path()).unwrap().flatten().collect();
    assert!(!files.is_empty());
    for file in files {
        let bytes = std::fs::read(file.path()).unwrap();
        for needle in &needles {
            // Any 8 consecutive bytes of a secret (or 16 of its text forms) would be a leak.
            let window = if needle.len() == 32 { 8 } else { 16 };
            for part in needle.windows(window) {
                assert!(
                    !bytes.windows(window).any(|w| w == part),
                    "{} holds secret material",
                    file.path().display()
                );
            }
        }
    }
}

#[test]
fn s23_vault_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (home, _) = activated(10);
    let mode = std::fs::metadata(&home.token_files()[0])
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let out = code_with(&home, PIN);
    assert_eq!(out.status.code(), Some(0));
    let mode = std::fs::metadata(&home.token_files()[0])
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "a rewritten vault stays private");
}

#[test]
fn s23_a_broken_vault_is_reported_and_left_alone() {
    let (home, _) = activated(10);
    let file = home.token_files()[0].clone();
    let garbage = b"{\"format\": \"latchkey-token-vault\", \"version\": 1, trunc".to_vec();
    std::fs::write(&file, &garbage).unwrap();
    let out = code_with(&home, PIN);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot be read") && stderr(&out).contains("left as it is"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&file).unwrap(), garbage, "never overwritten");
    let listing = home.list_json();
    assert_eq!(listing[0]["state"], "unreadable");
    // A foreign file in the folder is ignored.
    std::fs::write(home.path().join("notes.txt"), b"hello").unwrap();
    assert_eq!(home.list_json().as_array().unwrap().len(), 1);
}

#[test]
fn s23_killing_the_app_during_writes_always_leaves_a_vault_that_parses() {
    let (home, _) = activated(10);
    let file = home.token_files()[0].clone();
    let mut rng = rand::rng();
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..40 {
        let before = TokenRecord::from_json(&std::fs::read(&file).unwrap())
            .unwrap()
            .failures;
        let pin = if round % 3 == 2 { PIN } else { "999111" };
        let mut child = home
            .command(&["--pin-stdin", "code"])
            .env("LATCHKEY_TOKEN_TEST_SLOW_WRITE_MS", "4")
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            let _ = writeln!(stdin, "{pin}");
        }
        let wait = rand::RngExt::random_range(&mut rng, 0..30u64);
        std::thread::sleep(std::time::Duration::from_millis(wait));
        let _ = child.kill();
        let _ = child.wait();
        let record = TokenRecord::from_json(&std::fs::read(&file).unwrap())
            .expect("the vault always parses");
        // Old state, or one of the states the run writes: the attempt
        // counted, or (for the right PIN) the count cleared.
        assert!(
            record.failures == before || record.failures == before + 1 || record.failures == 0,
            "round {round}"
        );
        seen.insert((record.failures == before, record.failures == 0));
        if record.failures >= 4 {
            assert_eq!(code_with(&home, PIN).status.code(), Some(0));
        }
    }
    assert_eq!(home.token_files().len(), 1);
    assert!(
        seen.len() > 1,
        "the kills landed at more than one point: {seen:?}"
    );
}

#[test]
fn usage_errors_exit_2_and_say_what_to_do() {
    let home = TokenHome::new();
    let out = home.run(&["frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = home.run(&["import", "https://example.org"], &[PIN, PIN]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("otpauth://"), "{}", stderr(&out));
    let out = home.run(
        &[
            "activate",
            "--server",
            "http://127.0.0.1:1",
            "--serial",
            "1234567890",
            "--activation-code",
            "1",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("typo"), "{}", stderr(&out));
    let out = home.run(&["code"], &[PIN]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no token here yet"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn code_now_shows_the_code_for_the_moment_named_as_oathtool_now_does() {
    let (home, token) = activated(3);
    // RFC 6238's test times, far from today's step.
    for moment in [59u64, 1_111_111_109, 2_000_000_000] {
        let out = home.run(&["--now", &moment.to_string(), "code"], &[PIN]);
        assert_eq!(out.status.code(), Some(0), "code: {}", stderr(&out));
        assert_eq!(
            stdout(&out).trim(),
            token.totp().generate(moment),
            "at {moment}"
        );
    }
    let out = home.run(&["--now", "yesterday", "code"], &[PIN]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a --now that is not a number is a usage error"
    );
}

/// S56 (L11): a vault naming huge but legal Argon2id costs is refused with
/// a clear message before any Argon2 run, and nothing is counted or
/// written; the caps are 1 GiB, 16 passes and 8 lanes.
#[test]
fn l11_s56_huge_kdf_values_are_refused_before_any_argon2_run() {
    let (home, _) = activated(10);
    let file = home.token_files()[0].clone();
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for (field, value) in [
        ("m_cost", 4 * 1024 * 1024u64),
        ("m_cost", 1024 * 1024 + 1),
        ("t_cost", 64),
        ("t_cost", 17),
        ("p_cost", 9),
    ] {
        let mut record = original.clone();
        record["kdf"][field] = value.into();
        let bytes = serde_json::to_vec_pretty(&record).unwrap();
        std::fs::write(&file, &bytes).unwrap();
        for verb in [&["code"][..], &["change-pin"], &["unlock"], &["refresh"]] {
            let started = std::time::Instant::now();
            let out = home.run(verb, &[PIN, NEW_PIN, NEW_PIN]);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{verb:?} {field}={value}: {}",
                stderr(&out)
            );
            assert!(
                stderr(&out).contains("key-derivation parameters are out of range")
                    && stderr(&out).contains("1024 MiB"),
                "{}",
                stderr(&out)
            );
            // Refused by reading the file, not by running a 4 GiB Argon2.
            assert!(started.elapsed() < std::time::Duration::from_secs(20));
            assert_eq!(
                std::fs::read(&file).unwrap(),
                bytes,
                "nothing counted or written"
            );
        }
    }
    // At the caps the vault is still read.
    assert!(
        latchkey_token::kdf::KdfParams {
            m_cost: 1024 * 1024,
            t_cost: 16,
            p_cost: 8,
            ..KdfParams::DEFAULT
        }
        .is_valid()
    );
}
