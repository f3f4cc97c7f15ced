//! Cross-checks with a second independent implementation, OATH Toolkit's
//! libpskc (Debian's `pskctool`, which `.ci/run` installs): it validates
//! the RFC 6030 figures used here against the PSKC XML Schema, and what its
//! `pskctool --info` prints of the files in the clear — serial, key id,
//! algorithm, secret, counter, digits, time step — is what this crate reads.
//! (libpskc reads no encrypted values; python-pskc checks those, in
//! `pskc_utils.rs`.) The tests fail, never skip, when the tool is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use latchkey_pskc::{Options, Unlock, decode};

fn pskctool() -> Command {
    let path = Path::new("/usr/bin/pskctool");
    assert!(
        path.exists(),
        "pskctool is missing: install Debian's pskctool (.ci/run does)"
    );
    Command::new(path)
}

fn figure(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rfc6030")
        .join(name)
}

/// One `KeyPackage N:` block of `pskctool --info`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Printed {
    serial: Option<String>,
    key_id: Option<String>,
    algorithm: Option<String>,
    secret: Option<Vec<u8>>,
    counter: Option<u64>,
    digits: Option<u8>,
    time_interval: Option<u64>,
}

fn pskctool_info(file: &Path) -> Vec<Printed> {
    let output = pskctool().arg("--info").arg(file).output().unwrap();
    assert!(
        output.status.success(),
        "pskctool --info {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut packages = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("KeyPackage ") {
            packages.push(Printed::default());
            continue;
        }
        let Some(package) = packages.last_mut() else {
            continue;
        };
        let value = |prefix: &str| line.strip_prefix(prefix).map(str::to_owned);
        if let Some(serial) = value("SerialNo: ") {
            package.serial = Some(serial);
        } else if let Some(id) = value("Id: ") {
            package.key_id = Some(id);
        } else if let Some(algorithm) = value("Algorithm: ") {
            package.algorithm = Some(algorithm);
        } else if let Some(secret) = value("Key Secret (base64): ") {
            package.secret = Some(data_encoding::BASE64.decode(secret.as_bytes()).unwrap());
        } else if let Some(counter) = value("Key Counter: ") {
            package.counter = Some(counter.parse().unwrap());
        } else if let Some(length) = value("Response Format Length: ") {
            package.digits = Some(length.parse().unwrap());
        } else if let Some(interval) = value("Key TimeInterval: ") {
            package.time_interval = Some(interval.parse().unwrap());
        }
    }
    packages
}

/// What this crate reads of `file`, in the same form, each with its place.
fn ours(file: &Path) -> Vec<(usize, Printed)> {
    let options = Options {
        skip_invalid: true,
        ..Options::default()
    };
    let decoded = decode(&std::fs::read(file).unwrap(), &Unlock::Nothing, &options).unwrap();
    decoded
        .keys
        .into_iter()
        .map(|key| {
            (
                key.position,
                Printed {
                    serial: key.serial.clone(),
                    key_id: key.key_id.clone(),
                    algorithm: Some(key.algorithm.uri().to_owned()),
                    secret: Some(key.secret.expose().to_vec()),
                    counter: key.counter,
                    digits: key.digits,
                    time_interval: key.time_interval,
                },
            )
        })
        .collect()
}

fn assert_agree(file: &Path, expected_keys: usize) {
    let theirs = pskctool_info(file);
    let ours = ours(file);
    assert_eq!(ours.len(), expected_keys, "{}", file.display());
    for (position, printed) in ours {
        assert_eq!(
            Some(&printed),
            theirs.get(position - 1),
            "{} package {position}",
            file.display()
        );
    }
}

#[test]
fn the_figures_are_valid_under_the_pskc_schema() {
    // Figures 8 and 9 fail as the RFC prints them (an `id` attribute and a
    // Signature outside the ds namespace, both reported errata), so they are
    // left out here; they are the RFC's text all the same.
    for name in [
        "figure2.xml",
        "figure3.xml",
        "pin-policy.xml",
        "figure6.xml",
        "figure7.xml",
        "figure10.xml",
    ] {
        let output = pskctool()
            .arg("--validate")
            .arg(figure(name))
            .output()
            .unwrap();
        let verdict = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && verdict.trim() == "OK",
            "{name}: {verdict} {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn plain_figures_agree_with_pskctool() {
    assert_agree(&figure("figure2.xml"), 1);
    assert_agree(&figure("figure3.xml"), 1);
    // The PIN package is not an OTP key: only the HOTP key is compared.
    assert_agree(&figure("pin-policy.xml"), 1);
    assert_agree(&figure("figure9.xml"), 1);
    assert_agree(&figure("figure10.xml"), 4);
}

#[test]
fn a_csv2pskc_file_agrees_with_pskctool() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("tokens.csv");
    std::fs::write(
        &csv,
        "serial,secret,counter,time_interval,algorithm,response_length\n\
         30001,3132333435363738393031323334353637383930,17,,urn:ietf:params:xml:ns:keyprov:pskc:hotp,6\n\
         30002,00112233445566778899aabbccddeeff00112233,,30,urn:ietf:params:xml:ns:keyprov:pskc:totp,8\n",
    )
    .unwrap();
    let file = dir.path().join("plain.xml");
    let status = Command::new("/usr/bin/csv2pskc")
        .arg("-o")
        .arg(&file)
        .arg(&csv)
        .status()
        .expect("csv2pskc runs (Debian's pskc-utils)");
    assert!(status.success());
    assert_agree(&file, 2);
}
