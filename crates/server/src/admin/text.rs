//! How the admin CLI prints for people (without `--json`): serials grouped
//! as the token and the portal show them, times in UTC ISO 8601, tables
//! with a header row and aligned columns.

use std::str::FromStr;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use latchkey_core::oath::Serial;

/// Reads one of a core text enum's names (`Role`, `TokenKind`, `ApiRole`)
/// on the command line: a bad value is clap's own usage error (exit
/// status 2), which lists the names.
pub(super) fn one_of<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: FromStr + Clone + Send + Sync + 'static,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    PossibleValuesParser::new(names.iter().copied()).try_map(|name| name.parse::<T>())
}

/// A serial grouped for reading (`46719-07535`); one that is not a
/// Latchkey serial (an imported hardware token's) as it is.
pub(super) fn serial(text: &str) -> String {
    text.parse::<Serial>()
        .map_or_else(|_| text.to_owned(), |serial| serial.to_string())
}

/// Unix seconds as `2026-12-01T14:03:22Z`.
pub(super) fn time(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let seconds = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, exact for every `i64` day count in range).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Rows under a header, each column as wide as its widest cell, two
/// spaces apart; the last column is not padded.
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i == last {
                    (*cell).to_owned()
                } else {
                    format!("{cell:<width$}", width = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(
        rows.iter()
            .map(|row| line(row.iter().map(String::as_str).collect())),
    );
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_iso_8601() {
        assert_eq!(time(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1796105122` (the audit row UX-REVIEW F11 quotes).
        assert_eq!(time(1_796_105_122), "2026-12-01T06:05:22Z");
        assert_eq!(time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(time(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn serials_are_grouped_and_others_kept() {
        assert_eq!(serial("4671907535"), "46719-07535");
        assert_eq!(serial("FT-0042"), "FT-0042");
    }

    #[test]
    fn tables_align_under_their_header() {
        let shown = table(
            &["Serial", "User", "State"],
            &[
                vec!["46719-07535".into(), "alice".into(), "active".into()],
                vec!["1".into(), "bartholomew".into(), "new".into()],
            ],
        );
        assert_eq!(
            shown,
            "Serial       User         State\n\
             46719-07535  alice        active\n\
             1            bartholomew  new"
        );
    }
}
