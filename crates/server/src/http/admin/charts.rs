//! The dashboard's charts: the last 24 hours, one bar an hour, drawn on
//! the server as SVG (`templates/admin/chart.html`), no script.

use latchkey_core::console::HourOfEvents;

use super::pages::{Bar, Chart};
use super::time::utc;

/// Where the bars stand in the chart's 520 × 170 box: the first bar's
/// left edge, the step from one to the next, the axis, the tallest bar.
const LEFT: i64 = 44;
const STEP: i64 = 19;
const AXIS: i64 = 140;
const TALLEST: i64 = 116;

/// A series: its id, title, colour, and what it counts in an hour.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&HourOfEvents) -> i64,
);

/// One chart per series, in the dashboard's order.
pub fn charts(hours: &[HourOfEvents]) -> Vec<Chart> {
    let series: [Series; 5] = [
        ("accepted", "Codes accepted", "#027a48", |h| h.accepted),
        ("refused", "Codes refused", "#b42318", |h| h.refused),
        ("lockouts", "Tokens locked", "#b54708", |h| h.lockouts),
        ("unlock-codes", "Unlock codes issued", "#175cd3", |h| {
            h.unlock_codes
        }),
        ("recoveries", "Recovery sign-ins", "#6941c6", |h| {
            h.recoveries
        }),
    ];
    series
        .into_iter()
        .map(|(id, title, colour, count_of)| chart(id, title, colour, hours, count_of))
        .collect()
}

fn chart(
    id: &'static str,
    title: &'static str,
    colour: &'static str,
    hours: &[HourOfEvents],
    count_of: fn(&HourOfEvents) -> i64,
) -> Chart {
    let counts: Vec<i64> = hours.iter().map(count_of).collect();
    let max = counts.iter().copied().max().unwrap_or(0);
    let bars = hours
        .iter()
        .zip(&counts)
        .enumerate()
        .map(|(index, (hour, &count))| {
            // A bar of at least one pixel for a count that is not zero.
            let height = if count == 0 || max == 0 {
                0
            } else {
                (count * TALLEST / max).max(1)
            };
            let time = utc(hour.hour);
            Bar {
                x: LEFT + index as i64 * STEP,
                y: AXIS - height,
                height,
                count,
                label: time.get(11..16).unwrap_or("").to_owned(),
                at: time,
                labelled: index % 6 == 0 || index + 1 == hours.len(),
            }
        })
        .collect();
    Chart {
        id,
        title,
        colour,
        total: counts.iter().sum(),
        max,
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_as_tall_as_their_counts_and_the_totals_add_up() {
        let hours: Vec<HourOfEvents> = (0..24)
            .map(|i| HourOfEvents {
                hour: 1_700_000_000 - 1_700_000_000 % 3600 + i * 3600,
                accepted: i,
                refused: if i == 5 { 3 } else { 0 },
                ..HourOfEvents::default()
            })
            .collect();
        let charts = charts(&hours);
        assert_eq!(charts.len(), 5);
        let accepted = &charts[0];
        assert_eq!(accepted.total, (0..24).sum::<i64>());
        assert_eq!(accepted.max, 23);
        assert_eq!(accepted.bars[0].height, 0);
        assert_eq!(accepted.bars[23].height, TALLEST);
        assert_eq!(accepted.bars[23].y + accepted.bars[23].height, AXIS);
        assert_eq!(accepted.bars[1].height, TALLEST / 23);
        let refused = &charts[1];
        assert_eq!(refused.total, 3);
        assert_eq!(refused.bars[5].height, TALLEST);
        assert!(
            refused
                .bars
                .iter()
                .enumerate()
                .all(|(i, b)| i == 5 || b.height == 0)
        );
        let quiet = &charts[4];
        assert_eq!((quiet.total, quiet.max), (0, 0));
        assert!(quiet.bars.iter().all(|b| b.height == 0));
        assert_eq!(accepted.bars[0].label, "22:00");
    }
}
