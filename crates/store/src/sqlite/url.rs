//! `sqlite:` URLs.

use std::path::PathBuf;

use latchkey_core::*;

/// Where the file is and whether it may be created, from a `sqlite:` URL.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Location {
    pub(super) path: PathBuf,
    pub(super) create: bool,
}

/// Reads `sqlite://PATH[?mode=rwc|rw]` (also `sqlite:PATH`), the forms
/// sqlx accepted, so existing configurations keep working. Like sqlx, the
/// file is created only with `mode=rwc`.
pub(super) fn parse_url(url: &str) -> Result<Location, StoreError> {
    let invalid = |why: &str| StoreError::Backend(format!("bad SQLite URL {url:?}: {why}").into());
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| invalid("it must start with sqlite://"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = percent_decode(path)
        .ok_or_else(|| invalid("the path is not valid percent-encoded UTF-8"))?;
    if path.is_empty() || path == ":memory:" {
        // Every connection would see its own empty database, and nothing
        // would be durable: neither fits a store whose point is durability.
        return Err(invalid(
            "an in-memory database is not supported; give a file path",
        ));
    }
    let mut create = false;
    for option in query.split('&').filter(|o| !o.is_empty()) {
        match option.split_once('=') {
            Some(("mode", "rwc")) => create = true,
            Some(("mode", "rw")) => create = false,
            _ => {
                return Err(invalid(&format!(
                    "unsupported option {option:?} (only mode=rwc or mode=rw; the store sets its own pragmas)"
                )));
            }
        }
    }
    Ok(Location {
        path: PathBuf::from(path),
        create,
    })
}

pub(super) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
