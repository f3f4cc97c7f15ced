//! S01: known-answer tests from the RFCs' own tables, read from the copy of
//! `vectors/oath-rfc.json` in `tests/data` (RFC 4226 App. D and §5.4,
//! RFC 6238 App. B). OCRA rows (RFC 6287) are counted but not yet run.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_oath::{Algorithm, Digits, Hotp, Secret, Totp, dynamic_truncation};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let text = include_str!("data/oath-rfc.json");
    let json: Value = serde_json::from_str(text).expect("the vector file parses");
    json["vectors"].as_array().expect("a vectors array").clone()
}

fn rows(algorithm: &str) -> Vec<Value> {
    vectors()
        .into_iter()
        .filter(|v| v["algorithm"] == algorithm)
        .collect()
}

fn secret(row: &Value) -> Secret {
    Secret::from_bytes(hex::decode(row["key_hex"].as_str().unwrap()).unwrap())
}

fn algorithm(row: &Value) -> Algorithm {
    row["params"]["hash"].as_str().unwrap().parse().unwrap()
}

fn digits(row: &Value) -> Digits {
    Digits::new(row["params"]["digits"].as_u64().unwrap() as u8).unwrap()
}

#[test]
fn s01_rfc4226_appendix_d_hotp() {
    let rows = rows("HOTP");
    assert_eq!(rows.len(), 10, "RFC 4226 App. D has ten rows");
    for row in rows {
        let hotp = Hotp::new(secret(&row), algorithm(&row), digits(&row)).unwrap();
        let counter = row["input"]["counter"].as_u64().unwrap();
        let expected = row["expected"].as_str().unwrap();
        assert_eq!(hotp.generate(counter), expected, "{}", row["id"]);
        assert_eq!(
            hotp.verify(expected, 0, 9),
            Ok(Some(counter)),
            "{}",
            row["id"]
        );
        let truncated = row["intermediate"]["truncated_dec"].as_u64().unwrap();
        let hmac = hex::decode(row["intermediate"]["hmac_sha1_hex"].as_str().unwrap()).unwrap();
        assert_eq!(
            u64::from(dynamic_truncation(&hmac)),
            truncated,
            "{}",
            row["id"]
        );
    }
}

#[test]
fn s01_rfc4226_section_5_4_truncation_example() {
    let rows = rows("HOTP_TRUNCATE");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    let hmac = hex::decode(row["input"]["hmac_sha1_hex"].as_str().unwrap()).unwrap();
    let value = u64::from(dynamic_truncation(&hmac)) % 1_000_000;
    assert_eq!(format!("{value:06}"), row["expected"].as_str().unwrap());
}

#[test]
fn s01_rfc6238_appendix_b_totp() {
    let rows = rows("TOTP");
    assert_eq!(
        rows.len(),
        18,
        "RFC 6238 App. B has six times for three hashes"
    );
    for row in rows {
        let params = &row["params"];
        let totp = Totp::new(
            secret(&row),
            algorithm(&row),
            digits(&row),
            params["time_step"].as_u64().unwrap(),
        )
        .unwrap()
        .with_t0(params["t0"].as_u64().unwrap());
        let time = row["input"]["unix_time"].as_u64().unwrap();
        let expected = row["expected"].as_str().unwrap();
        let step = u64::from_str_radix(row["input"]["T_hex"].as_str().unwrap(), 16).unwrap();
        assert_eq!(totp.step_at(time), Some(step), "{}", row["id"]);
        assert_eq!(totp.generate(time), expected, "{}", row["id"]);
        assert_eq!(
            totp.verify(expected, time, 1),
            Ok(Some(step)),
            "{}",
            row["id"]
        );
        // One step later the same code still passes within ±1, two steps later it does not.
        assert_eq!(
            totp.verify(expected, time + 30, 1),
            Ok(Some(step)),
            "{}",
            row["id"]
        );
        assert_eq!(
            totp.verify(expected, time + 60, 1),
            Ok(None),
            "{}",
            row["id"]
        );
    }
}

#[test]
fn the_vector_file_holds_what_it_says() {
    let all = vectors();
    assert_eq!(all.len(), 99);
    assert_eq!(rows("OCRA").len(), 70);
}
