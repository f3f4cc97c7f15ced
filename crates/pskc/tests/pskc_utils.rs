//! Cross-checks with an independent implementation, python-pskc (Debian's
//! `pskc-utils`, which `.ci/run` installs): files its `csv2pskc` (and its
//! Python module, for what the command cannot write) makes at test time —
//! in the clear, with a password, with a pre-shared key, with AES-256-CBC
//! and with AES key wrap — read here, and every serial, secret, counter,
//! algorithm, length, time step and drift compared with what its
//! `pskc2csv` reads from the same file. RFC 6030's figures are compared the
//! same way. The tests fail, never skip, when the tools are missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use latchkey_pskc::{
    Algorithm, DecodeError, Decoded, Options, PackageError, Password, PreSharedKey, Unlock,
    ValueError, decode,
};

/// The tokens made at test time: HOTP and TOTP, 6 and 8 digits, secrets of
/// 20, 32 and 64 bytes, a counter, time steps, a negative drift.
const TOKENS_CSV: &str = "\
serial,secret,counter,time_interval,time_drift,algorithm,response_length
10001,3132333435363738393031323334353637383930,0,,,urn:ietf:params:xml:ns:keyprov:pskc:hotp,6
10002,00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff,41,,,urn:ietf:params:xml:ns:keyprov:pskc:hotp,8
20001,3132333435363738393031323334353637383930,,30,0,urn:ietf:params:xml:ns:keyprov:pskc:totp,6
20002,0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0,,60,-2,urn:ietf:params:xml:ns:keyprov:pskc:totp,8
";

const PASSWORD: &str = "correct horse battery staple";
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f";

/// The columns compared, in pskc2csv's names.
const COLUMNS: &str = "serial,secret,counter,algorithm,response_length,time_interval,time_drift";

fn tool(name: &str) -> Command {
    let path = Path::new("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{name} is missing: install Debian's pskc-utils (.ci/run does)"
    );
    Command::new(path)
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("the tool runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// What pskc2csv reads from `file`, one line of text per key.
fn pskc2csv(file: &Path, unlock: &[&str]) -> Vec<String> {
    let out = run(tool("pskc2csv")
        .args(unlock)
        .args(["-c", COLUMNS])
        .arg(file));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(COLUMNS), "pskc2csv's header");
    lines.map(str::to_owned).collect()
}

/// What this crate reads, in pskc2csv's format.
fn ours(decoded: &Decoded) -> Vec<String> {
    assert!(decoded.skipped.is_empty());
    decoded
        .keys
        .iter()
        .map(|key| {
            let optional = |value: Option<String>| value.unwrap_or_default();
            [
                optional(key.serial.clone()),
                hex::encode(key.secret.expose()),
                optional(key.counter.map(|counter| counter.to_string())),
                key.algorithm.uri().to_owned(),
                optional(key.digits.map(|digits| digits.to_string())),
                optional(key.time_interval.map(|interval| interval.to_string())),
                optional(key.time_drift.map(|drift| drift.to_string())),
            ]
            .join(",")
        })
        .collect()
}

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tokens.csv"), TOKENS_CSV).unwrap();
        Workspace { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// csv2pskc's file of the tokens, with these protection arguments.
    fn csv2pskc(&self, name: &str, protection: &[&str]) -> PathBuf {
        let out = self.path(name);
        run(tool("csv2pskc")
            .args(protection)
            .arg("-o")
            .arg(&out)
            .arg(self.path("tokens.csv")));
        out
    }

    /// python-pskc's module writing the tokens with a pre-shared key and
    /// an `algorithm` csv2pskc has no option for, the secret, counter and
    /// time step encrypted (python-pskc cannot encrypt a negative drift).
    fn python_pskc(&self, name: &str, algorithm: &str, key_hex: &str) -> PathBuf {
        let out = self.path(name);
        let script = r#"
import binascii, csv, sys
import pskc
out, algorithm, key_hex, tokens = sys.argv[1:5]
container = pskc.PSKC()
with open(tokens) as rows:
    for row in csv.DictReader(rows):
        secret = binascii.unhexlify(row['secret'])
        fields = dict(serial=row['serial'], secret=secret,
                      algorithm=row['algorithm'],
                      response_length=int(row['response_length']))
        for name in ('counter', 'time_interval', 'time_drift'):
            if row[name]:
                fields[name] = int(row[name])
        container.add_key(**fields)
container.encryption.setup_preshared_key(
    key=binascii.unhexlify(key_hex), algorithm=algorithm,
    fields=['secret', 'counter', 'time_interval'])
container.write(out)
"#;
        run(tool("python3")
            .arg("-c")
            .arg(script)
            .arg(&out)
            .arg(algorithm)
            .arg(key_hex)
            .arg(self.path("tokens.csv")));
        out
    }
}

/// python-pskc's module writing one HOTP token under a password with AES-256-CBC
/// and PBKDF2 over HMAC-SHA256 (csv2pskc has options for neither).
fn python_pskc_pbkdf2_sha256(out: &Path) {
    let script = r#"
import sys
import pskc
container = pskc.PSKC()
container.add_key(serial='40001', secret=b'12345678901234567890123456789012',
                  algorithm='urn:ietf:params:xml:ns:keyprov:pskc:hotp',
                  response_length=6, counter=3)
container.encryption.setup_pbkdf2(sys.argv[2], algorithm='aes256-cbc',
                                  iterations=2000, prf='hmac-sha256')
container.write(sys.argv[1])
"#;
    run(tool("python3").arg("-c").arg(script).arg(out).arg(PASSWORD));
}

fn decode_file(path: &Path, unlock: &Unlock) -> Result<Decoded, DecodeError> {
    decode(&std::fs::read(path).unwrap(), unlock, &Options::default())
}

fn password() -> Unlock {
    Unlock::Password(Password::new(PASSWORD))
}

fn key() -> Unlock {
    Unlock::PreSharedKey(PreSharedKey::from_hex(KEY_HEX).unwrap())
}

#[test]
fn plain_file_agrees_with_pskc2csv() {
    let work = Workspace::new();
    let file = work.csv2pskc("plain.xml", &[]);
    let decoded = decode_file(&file, &Unlock::Nothing).unwrap();
    assert_eq!(ours(&decoded), pskc2csv(&file, &[]));
    assert_eq!(decoded.keys.len(), 4);
    assert_eq!(decoded.keys[0].secret.expose(), b"12345678901234567890");
    assert_eq!(decoded.keys[2].algorithm, Algorithm::Totp);
    assert_eq!(decoded.keys[3].time_drift, Some(-2));
}

#[test]
fn password_file_agrees_with_pskc2csv() {
    let work = Workspace::new();
    let file = work.csv2pskc("password.xml", &["-p", PASSWORD]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("pkcs-5v2-0#pbkdf2") && text.contains("ValueMAC"));
    let decoded = decode_file(&file, &password()).unwrap();
    assert_eq!(ours(&decoded), pskc2csv(&file, &["-p", PASSWORD]));
    assert_eq!(decoded.keys.len(), 4);
}

#[test]
fn password_file_with_the_wrong_password_is_refused_by_both() {
    let work = Workspace::new();
    let file = work.csv2pskc("password.xml", &["-p", PASSWORD]);
    assert_eq!(
        decode_file(
            &file,
            &Unlock::Password(Password::new("Correct horse battery staple"))
        )
        .unwrap_err(),
        DecodeError::WrongKey { given: "password" }
    );
    let theirs = tool("pskc2csv")
        .args(["-p", "Correct horse battery staple"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!theirs.status.success());
}

#[test]
fn pre_shared_key_file_agrees_with_pskc2csv() {
    let work = Workspace::new();
    let file = work.csv2pskc("key.xml", &["-s", KEY_HEX]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("xmlenc#aes128-cbc") && text.contains("ValueMAC"));
    let decoded = decode_file(&file, &key()).unwrap();
    assert_eq!(ours(&decoded), pskc2csv(&file, &["-s", KEY_HEX]));
}

#[test]
fn aes_256_cbc_file_agrees_with_pskc2csv() {
    let work = Workspace::new();
    let key_hex = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
    let file = work.python_pskc("aes256.xml", "aes256-cbc", key_hex);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("xmlenc#aes256-cbc"));
    let unlock = Unlock::PreSharedKey(PreSharedKey::from_hex(key_hex).unwrap());
    let decoded = decode_file(&file, &unlock).unwrap();
    assert_eq!(ours(&decoded), pskc2csv(&file, &["-s", key_hex]));
    assert_eq!(decoded.keys.len(), 4);
}

#[test]
fn key_wrap_files_agree_with_pskc2csv() {
    let work = Workspace::new();
    for (algorithm, key_hex) in [
        ("kw-aes128", KEY_HEX),
        (
            "kw-aes256",
            "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210",
        ),
    ] {
        let file = work.python_pskc(&format!("{algorithm}.xml"), algorithm, key_hex);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(&format!("xmlenc#{algorithm}")), "{text}");
        let unlock = Unlock::PreSharedKey(PreSharedKey::from_hex(key_hex).unwrap());
        let decoded = decode_file(&file, &unlock).unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        assert_eq!(
            ours(&decoded),
            pskc2csv(&file, &["-s", key_hex]),
            "{algorithm}"
        );
        // python-pskc pads the 20-byte secrets (RFC 5649) and wraps the
        // 8-byte counters and time steps as single blocks.
        assert_eq!(decoded.keys.len(), 4, "{algorithm}");
        assert_eq!(decoded.keys[0].secret.expose(), b"12345678901234567890");
        assert_eq!(decoded.keys[1].counter, Some(41), "an encrypted counter");
        assert_eq!(
            decoded.keys[3].time_interval,
            Some(60),
            "an encrypted time step"
        );

        let wrong = Unlock::PreSharedKey(PreSharedKey::new(vec![7; key_hex.len() / 2]).unwrap());
        assert_eq!(
            decode_file(&file, &wrong).unwrap_err(),
            DecodeError::WrongKey {
                given: "pre-shared key"
            },
            "{algorithm}"
        );
    }
}

#[test]
fn one_altered_mac_fails_the_file_with_its_position_and_both_readers_refuse_it() {
    let work = Workspace::new();
    let file = work.csv2pskc("key.xml", &["-s", KEY_HEX]);
    let text = std::fs::read_to_string(&file).unwrap();
    // The second key package's ValueMAC, its first base64 character changed.
    let start = text.match_indices("<pskc:ValueMAC>").nth(1).unwrap().0 + "<pskc:ValueMAC>".len();
    let mut altered = text.clone();
    let first = &text[start..=start];
    altered.replace_range(start..=start, if first == "A" { "B" } else { "A" });
    let altered_file = work.path("altered.xml");
    std::fs::write(&altered_file, &altered).unwrap();

    let error = decode_file(&altered_file, &key()).unwrap_err();
    assert_eq!(
        error,
        DecodeError::Package {
            position: 2,
            serial: Some("10002".into()),
            reason: PackageError::Value {
                field: "Secret",
                error: ValueError::MacMismatch
            }
        }
    );
    assert_eq!(
        error.to_string(),
        "key package 2 (counting from 1), serial \"10002\": its Secret: its ValueMAC does not \
         match: the file was altered, or the password or key is wrong"
    );
    let theirs = tool("pskc2csv")
        .args(["-s", KEY_HEX])
        .arg(&altered_file)
        .output()
        .unwrap();
    assert!(!theirs.status.success(), "pskc2csv reads the altered file");

    // Skipping the invalid: the other three come back, the second is named.
    let lenient = Options {
        skip_invalid: true,
        ..Options::default()
    };
    let decoded = decode(altered.as_bytes(), &key(), &lenient).unwrap();
    let serials: Vec<_> = decoded.keys.iter().map(|k| k.serial.as_deref()).collect();
    assert_eq!(serials, [Some("10001"), Some("20001"), Some("20002")]);
    assert_eq!(decoded.skipped.len(), 1);
    assert_eq!(decoded.skipped[0].position, 2);
    assert_eq!(decoded.skipped[0].serial.as_deref(), Some("10002"));
}

#[test]
fn rfc_6030_figures_agree_with_pskc2csv() {
    let figures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc6030");
    let psk = "12345678901234567890123456789012";
    for (name, unlock, arguments) in [
        ("figure2.xml", Unlock::Nothing, vec![]),
        ("figure3.xml", Unlock::Nothing, vec![]),
        (
            "figure6.xml",
            Unlock::PreSharedKey(PreSharedKey::from_hex(psk).unwrap()),
            vec!["-s", psk],
        ),
        (
            "figure7.xml",
            Unlock::Password(Password::new("qwerty")),
            vec!["-p", "qwerty"],
        ),
        ("figure9.xml", Unlock::Nothing, vec![]),
        ("figure10.xml", Unlock::Nothing, vec![]),
    ] {
        let file = figures.join(name);
        let decoded = decode_file(&file, &unlock).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ours(&decoded), pskc2csv(&file, &arguments), "{name}");
    }
}

#[test]
fn pbkdf2_over_hmac_sha256_with_aes_256_gives_the_secret_written() {
    let work = Workspace::new();
    let file = work.path("pbkdf2-sha256.xml");
    python_pskc_pbkdf2_sha256(&file);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("xmldsig-more#hmac-sha256") && text.contains("xmlenc#aes256-cbc"));
    // python-pskc writes the PRF as the element's text, where its own reader
    // (and so pskc2csv) looks for an Algorithm attribute and falls back to
    // HMAC-SHA1: the secret written is the check here.
    let decoded = decode_file(&file, &password()).unwrap();
    assert_eq!(
        decoded.keys[0].secret.expose(),
        b"12345678901234567890123456789012"
    );
    assert_eq!(decoded.keys[0].serial.as_deref(), Some("40001"));
    assert_eq!(decoded.keys[0].counter, Some(3));

    // Without its KeyLength the key is as long as the cipher's (AES-256).
    let without_length = text.replace("<KeyLength>32</KeyLength>", "");
    assert_ne!(without_length, text);
    let decoded = decode(without_length.as_bytes(), &password(), &Options::default()).unwrap();
    assert_eq!(
        decoded.keys[0].secret.expose(),
        b"12345678901234567890123456789012"
    );
}
