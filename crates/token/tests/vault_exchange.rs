//! The record the phone app shares with `latchkey-token`: PBKDF2-HMAC-SHA-256
//! as a KDF the record may name, and `import-vault` / `export-vault`.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{NEW_PIN, PIN, TokenHome};
use latchkey_oath::{
    Algorithm, Digits, ResetCode, Secret, Serial, Totp, UnlockSecret, unlock_code,
};
use latchkey_token::Pin;
use latchkey_token::client::{Activation, OtpDescription, ServerPolicy};
use latchkey_token::kdf::{self, KdfAlgorithm, KdfParams, PBKDF2_MIN_ITERATIONS};
use latchkey_token::ops;
use latchkey_token::record::{PIN_CHECK_BITS, TokenRecord};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Password, salt, iterations, output length, the derived bytes in hex.
type Pbkdf2Vector = (&'static [u8], &'static [u8], u32, usize, &'static str);

/// RFC 7914 §11 and the SHA-256 values published in the style of RFC 6070.
#[test]
fn pbkdf2_sha256_gives_the_published_values() {
    let vectors: [Pbkdf2Vector; 6] = [
        (
            b"passwd",
            b"salt",
            1,
            64,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
        ),
        (
            b"Password",
            b"NaCl",
            80_000,
            64,
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
        ),
        (
            b"password",
            b"salt",
            1,
            32,
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
        ),
        (
            b"password",
            b"salt",
            2,
            32,
            "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43",
        ),
        (
            b"password",
            b"salt",
            4096,
            32,
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
        ),
        (
            b"passwordPASSWORDpassword",
            b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
            4096,
            40,
            "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9",
        ),
    ];
    for (password, salt, iterations, length, expected) in vectors {
        let got = kdf::pbkdf2_sha256(password, salt, iterations, length);
        assert_eq!(
            hex(&got),
            expected,
            "{iterations} iterations, {length} bytes"
        );
    }
}

const SEED: [u8; 32] = *b"phone-app-seed-0123456789abcdefg";
const UNLOCK_SECRET: [u8; 32] = [7; 32];

fn activation(serial: &str, slots: usize) -> Activation {
    Activation {
        serial: serial.parse().unwrap(),
        label: "alice".into(),
        issuer: Some("Latchkey".into()),
        otp: OtpDescription {
            kind: "totp".into(),
            algorithm: "SHA256".into(),
            digits: 8,
            period: Some(30),
            counter: None,
        },
        secret: Secret::from_bytes(SEED.to_vec()),
        unlock_secret: UnlockSecret::from_bytes(UNLOCK_SECRET),
        policy: ServerPolicy {
            max_pin_failures: 5,
            min_pin_length: 6,
            unlock_slots: slots,
        },
    }
}

fn pbkdf2_record(serial: &str) -> TokenRecord {
    ops::record_from_activation(
        &activation(serial, 2),
        "https://auth.example.org",
        &Pin::entered(PIN),
        &KdfParams::pbkdf2(PBKDF2_MIN_ITERATIONS),
    )
    .unwrap()
}

fn json(record: &TokenRecord) -> serde_json::Value {
    serde_json::to_value(record).unwrap()
}

#[test]
fn the_record_names_its_kdf_and_old_records_read_as_before() {
    let record = pbkdf2_record("1234567897");
    let value = json(&record);
    assert_eq!(
        value["kdf"],
        serde_json::json!({"algorithm": "pbkdf2-sha256", "iterations": 600_000})
    );
    let again = TokenRecord::from_json(value.to_string().as_bytes()).unwrap();
    assert_eq!(
        again.kdf.algorithm,
        KdfAlgorithm::Pbkdf2Sha256 {
            iterations: 600_000
        }
    );
    let seed = again
        .pin
        .open(&again.kdf, PIN.as_bytes(), PIN_CHECK_BITS)
        .expect("the PIN opens the PBKDF2 record");
    assert_eq!(seed.expose(), SEED);

    // Argon2id records are written exactly as before, without a name.
    let argon = ops::record_from_activation(
        &activation("1234567897", 1),
        "https://auth.example.org",
        &Pin::entered(PIN),
        &KdfParams::CHEAP,
    )
    .unwrap();
    assert_eq!(
        json(&argon)["kdf"],
        serde_json::json!({"m_cost": 8, "t_cost": 1, "p_cost": 1})
    );
    let mut named = json(&argon);
    named["kdf"]["algorithm"] = "argon2id".into();
    assert_eq!(
        TokenRecord::from_json(named.to_string().as_bytes())
            .unwrap()
            .kdf,
        KdfParams::CHEAP
    );

    // What a record may not say.
    for kdf in [
        serde_json::json!({"algorithm": "pbkdf2-sha256", "iterations": 599_999}),
        serde_json::json!({"algorithm": "pbkdf2-sha256", "iterations": 100_000_000}),
        serde_json::json!({"algorithm": "pbkdf2-sha256"}),
        serde_json::json!({"algorithm": "pbkdf2-sha256", "iterations": 600_000, "m_cost": 8}),
        serde_json::json!({"algorithm": "scrypt", "iterations": 600_000}),
        serde_json::json!({"m_cost": 8, "t_cost": 1}),
    ] {
        let mut bad = value.clone();
        bad["kdf"] = kdf.clone();
        assert!(
            TokenRecord::from_json(bad.to_string().as_bytes()).is_err(),
            "{kdf} is refused"
        );
    }
}

fn code_now(home: &TokenHome, pin: &str) -> (std::process::Output, u64) {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (home.run(&["code"], &[pin]), before)
}

fn expected_code(at: u64) -> String {
    Totp::new(
        Secret::from_bytes(SEED.to_vec()),
        Algorithm::Sha256,
        Digits::EIGHT,
        30,
    )
    .unwrap()
    .generate(at)
}

#[test]
fn import_vault_and_export_vault_carry_a_pbkdf2_record_both_ways() {
    let files = tempfile::tempdir().unwrap();
    let record = pbkdf2_record("1234567897");
    let file = files.path().join("from-phone.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&record).unwrap()).unwrap();

    // In: the record opens with its PIN and shows the seed's code.
    let home = TokenHome::new();
    let out = home.run(&["import-vault", file.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (out, at) = code_now(&home, PIN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        shown == expected_code(at) || shown == expected_code(at + 1),
        "the imported token shows its seed's code"
    );
    // A second import of the same token is refused, the first left alone.
    let out = home.run(&["import-vault", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already"));

    // Out: after the PIN, a new file, mode 0600, the same token.
    let exported = files.path().join("to-phone.json");
    let out = home.run(&["export-vault", exported.to_str().unwrap()], &["902417"]);
    assert_eq!(out.status.code(), Some(3), "a wrong PIN exports nothing");
    assert!(!exported.exists());
    let out = home.run(&["export-vault", exported.to_str().unwrap()], &[PIN]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::fs::metadata(&exported).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let back = TokenRecord::from_json(&std::fs::read(&exported).unwrap()).unwrap();
    assert_eq!(back.id, record.id);
    assert_eq!(back.kdf, record.kdf);
    assert_eq!(back.failures, 0, "the right PIN cleared the count");
    assert_eq!(back.slots.len(), 2);
    let out = home.run(&["export-vault", exported.to_str().unwrap()], &[PIN]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an existing file is never overwritten"
    );

    // The slots made under PBKDF2 open with the server's unlock codes.
    let reset: ResetCode = back.slots[0].reset_code.parse().unwrap();
    let serial: Serial = "1234567897".parse().unwrap();
    let code = unlock_code(&UnlockSecret::from_bytes(UNLOCK_SECRET), &serial, &reset);
    let out = home.run(&["unlock"], &[code.digits(), NEW_PIN, NEW_PIN]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (out, _) = code_now(&home, NEW_PIN);
    assert!(out.status.success(), "the new PIN opens it");
}

#[test]
fn import_vault_refuses_a_damaged_record_and_writes_nothing() {
    let files = tempfile::tempdir().unwrap();
    let mut value = json(&pbkdf2_record("1234567897"));
    value["pin"]["masked_seed"] = "00".into();
    let file = files.path().join("damaged.json");
    std::fs::write(&file, value.to_string()).unwrap();
    let home = TokenHome::new();
    let out = home.run(&["import-vault", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PIN entry is damaged"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(home.token_files().is_empty());
}
