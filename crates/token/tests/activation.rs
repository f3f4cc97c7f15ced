//! The soft token's exchanges with the server's token API through the real
//! `latchkey-token` binary: activation (by link, by its three parts, with
//! the activation code typed) and the refresh of its unlock slots.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use latchkey_oath::{ResetCode, UnlockSecret, unlock_code};
use latchkey_token::record::TokenRecord;

fn activation_link(server: &str, serial: &str, code: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("server", server)
        .append_pair("serial", serial)
        .append_pair("activation_code", code)
        .finish();
    format!("latchkey://activate?{query}")
}

#[test]
fn activate_takes_the_portals_activation_link() {
    let home = TokenHome::new();
    let token = IssuedToken::new(4);
    let server = stand_in_server(&token);
    let link = activation_link(&server.url, token.serial.digits(), "1234567890123452");
    let out = home.run(&["activate", "--link", &link], &[PIN, PIN]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "activate --link: {}",
        stderr(&out)
    );
    let out = code_with(&home, PIN);
    assert_eq!(out.status.code(), Some(0), "code: {}", stderr(&out));
    assert_eq!(stdout(&out).trim().len(), 8, "the activated token's code");
}

#[test]
fn an_activation_link_to_a_plain_http_server_elsewhere_is_refused_with_the_reason() {
    let home = TokenHome::new();
    let token = IssuedToken::new(4);
    let link = activation_link(
        "http://auth.example.org",
        token.serial.digits(),
        "1234567890123452",
    );
    let out = home.run(&["activate", "--link", &link], &[PIN, PIN]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("only over https"),
        "the reason is given: {}",
        stderr(&out)
    );
    assert!(home.token_files().is_empty(), "nothing was stored");
    let out = home.run(&["activate", "--link", "https://example.org/"], &[PIN, PIN]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a Latchkey activation link"));
    let out = home.run(
        &[
            "activate",
            "--link",
            &link,
            "--serial",
            token.serial.digits(),
        ],
        &[PIN, PIN],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "--link or the three parts, not both"
    );
}

/// S45 (H2): `refresh` takes the new generation the server hands out and
/// replaces every slot, in one write, with one whose reset code names that
/// generation; the unlock codes of the new secret open them, the old
/// secret's open none; no secret is left in the vault.
#[test]
fn h2_s45_refresh_replaces_every_slot_with_tagged_ones_from_the_new_generation() {
    let token = IssuedToken::new(10);
    let mut fresh = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut fresh);
    let answer = serde_json::json!({ "generation": 7, "unlock_secret": hex::encode(fresh) });
    let server = StandInTokenApi::start(token.activation_json(), Some(answer.to_string()));
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let read = || TokenRecord::from_json(&std::fs::read(&home.token_files()[0]).unwrap()).unwrap();
    let before = read();
    assert!(
        before.slots.iter().all(|s| &s.reset_code[8..11] == "000"),
        "activation makes generation-0 slots"
    );
    let out = home.run(&["refresh"], &[PIN]);
    assert_eq!(out.status.code(), Some(0), "refresh: {}", stderr(&out));
    let after = read();
    assert_eq!(after.slots.len(), 10);
    let new_secret = UnlockSecret::from_bytes(fresh);
    let old_secret = UnlockSecret::from_bytes(token.unlock_secret);
    for slot in &after.slots {
        assert_eq!(
            &slot.reset_code[8..11],
            "007",
            "the slot names generation 7"
        );
        assert!(
            before
                .slots
                .iter()
                .all(|old| old.reset_code != slot.reset_code)
        );
        let reset: ResetCode = slot.reset_code.parse().unwrap();
        let opens = |secret: &UnlockSecret| {
            let code = unlock_code(secret, &token.serial, &reset);
            slot.mask
                .open(
                    &after.kdf,
                    code.digits().as_bytes(),
                    latchkey_token::record::CODE_CHECK_BITS,
                )
                .is_some()
        };
        assert!(opens(&new_secret), "the new generation's codes open it");
        assert!(!opens(&old_secret), "the old generation's do not");
    }
    let text = std::fs::read_to_string(&home.token_files()[0]).unwrap();
    assert!(!text.contains(&hex::encode(fresh)) && !text.contains("unlock_secret"));
    // The real unlock journey with the new generation's code.
    lock(&home);
    let reset = home.reset_code();
    let code = unlock_code(&new_secret, &token.serial, &reset);
    let out = home.run(&["unlock"], &[code.digits(), NEW_PIN, NEW_PIN]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// S56 (L11): without `--activation-code` the activation code is asked for
/// (here read from standard input, before the PIN), so it need not appear
/// on the command line where other local users can read it.
#[test]
fn l11_s56_activate_reads_the_activation_code_from_standard_input() {
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
        ],
        &["1234-5678-9012-3452", PIN, PIN],
    );
    assert_eq!(out.status.code(), Some(0), "activate: {}", stderr(&out));
    assert_eq!(home.list_json()[0]["unlock_slots"], 10);
    // A malformed code typed there is refused as on the command line.
    let other = TokenHome::new();
    let out = other.run(
        &[
            "activate",
            "--server",
            &server.url,
            "--serial",
            token.serial.digits(),
        ],
        &["1234-5678-9012-3453", PIN, PIN],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("activation code is not valid"),
        "{}",
        stderr(&out)
    );
}
