//! Fuzzes the vault-file parser, `TokenRecord::from_json`.
//!
//! A vault file is read from disk, where anything may be written into it, so
//! the parser must never panic: every input is either a well-formed record
//! or an `Err` with a reason. A record that parses must survive a round trip
//! through `serde_json::to_vec`: it parses again, and serialising the second
//! parse gives the same bytes as serialising the first.
#![no_main]

use latchkey_oath::Secret;
use latchkey_token::record::TokenRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = TokenRecord::from_json(data) else {
        return;
    };

    // The cheap accessors a caller uses right after loading a vault. None
    // may panic on a record that passed `check_well_formed`. (Mask::open is
    // left out on purpose: it runs Argon2 with the file's own costs, up to
    // 4 GiB of memory, which is by design and not a parser matter.)
    let _ = record.state();
    let _ = record.attempts_left();
    let _ = record.reset_code();
    let _ = record.display_name();
    let _ = record.generator(Secret::from_bytes(vec![0x5a; record.seed_len]));

    let bytes = serde_json::to_vec(&record).expect("a parsed record serialises");
    let again = match TokenRecord::from_json(&bytes) {
        Ok(again) => again,
        Err(reason) => panic!(
            "a record that parsed does not parse after serialisation: {reason}\n{}",
            String::from_utf8_lossy(&bytes)
        ),
    };
    let bytes_again = serde_json::to_vec(&again).expect("a parsed record serialises");
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(&bytes_again),
        "serialisation is not a fixed point"
    );
});
