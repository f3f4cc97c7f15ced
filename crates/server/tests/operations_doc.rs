//! `docs/operations.md` lists every configuration key, with its
//! environment variable: checked against the `Config` type itself, so a key
//! added to the code without a line in the guide (or a line for a key that
//! is gone) fails here.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

const GUIDE: &str = include_str!("../../../docs/operations.md");
const CONFIG_SOURCE: &str = include_str!("../src/config.rs");

/// The rows of the guide's "Configuration keys" table: key and variable.
fn documented_keys() -> Vec<(String, String)> {
    let section = GUIDE
        .split("## Configuration keys")
        .nth(1)
        .expect("the guide has a \"Configuration keys\" section");
    section
        .lines()
        .take_while(|line| !line.starts_with("Only in the environment"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let key = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let variable = cells.get(3)?.split_whitespace().next()?.trim_matches('`');
            Some((key.to_owned(), variable.to_owned()))
        })
        .collect()
}

/// Every key the TOML file takes, as the configuration type itself says:
/// serde names all of them when it refuses an unknown one.
fn config_keys() -> BTreeSet<String> {
    let error = toml::from_str::<latchkey_server::Config>("no_such_key_for_the_test = 1")
        .expect_err("an unknown key is refused");
    let message = error.to_string();
    let expected = message
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("serde lists the keys it takes: {message}"));
    expected
        .split(',')
        .map(|key| key.trim().trim_matches('`').to_owned())
        .filter(|key| !key.is_empty())
        .collect()
}

#[test]
fn the_operations_guide_lists_exactly_the_keys_the_configuration_takes() {
    let documented: BTreeSet<String> = documented_keys().into_iter().map(|(k, _)| k).collect();
    assert!(documented.len() >= 10, "the table was read: {documented:?}");
    let taken = config_keys();
    let missing: Vec<_> = taken.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&taken).collect();
    assert!(
        missing.is_empty(),
        "keys not in docs/operations.md: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "docs/operations.md lists keys the code does not take: {stale:?}"
    );
}

#[test]
fn every_environment_variable_the_guide_names_is_read_by_the_configuration() {
    for (key, variable) in documented_keys() {
        if variable == "—" {
            continue;
        }
        assert!(
            variable.starts_with(&format!("LATCHKEY_{}", key.to_uppercase())),
            "the variable {variable} for `{key}` follows the naming rule"
        );
        assert!(
            CONFIG_SOURCE.contains(&format!("\"{variable}\"")),
            "{variable} (for `{key}`) is not read in config.rs"
        );
    }
    for variable in ["LATCHKEY_MASTER_KEY", "LATCHKEY_CONFIG"] {
        assert!(GUIDE.contains(variable));
        assert!(CONFIG_SOURCE.contains(&format!("\"{variable}\"")));
    }
}

#[test]
fn the_packaged_configuration_file_is_one_the_server_takes() {
    let sample = include_str!("../../../packaging/latchkey.toml");
    let config: latchkey_server::Config = toml::from_str(sample).unwrap();
    assert_eq!(
        config.public_url.as_deref(),
        Some("https://auth.example.org")
    );
    assert!(config.master_key.is_none(), "no secret in the sample file");
}
