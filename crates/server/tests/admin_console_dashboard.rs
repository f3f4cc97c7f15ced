//! The admin console's dashboard and audit export over HTTP, on an
//! in-process node and both backends: the dashboard's numbers are the
//! audit log's, and the audit export holds exactly the filtered rows at 0,
//! 1 and 10,000.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::console::*;
use common::web::{Account, Page, Visitor};
use common::*;
use latchkey_core::Outcome;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    the_dashboard_counts_what_the_audit_rows_hold,
    the_audit_export_holds_exactly_0_1_and_10000_filtered_rows,
);

/// The bars of the chart `id` on the dashboard: hour (UTC text) to count.
fn bars(page: &Page, id: &str) -> BTreeMap<String, i64> {
    let start = page
        .body
        .find(&format!("id=\"chart-{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let end = start + page.body[start..].find("</figure>").unwrap();
    let chart = &page.body[start..end];
    chart
        .match_indices("data-hour=\"")
        .map(|(at, marker)| {
            let rest = &chart[at + marker.len()..];
            let hour = rest[..rest.find('"').unwrap()].to_owned();
            let count_at = rest.find("data-count=\"").unwrap() + "data-count=\"".len();
            let count = &rest[count_at..];
            (hour, count[..count.find('"').unwrap()].parse().unwrap())
        })
        .collect()
}

/// `2026-12-01 13:00:00` for the hour that Unix seconds `at` fall in.
fn hour_text(at: i64) -> String {
    let hour = at - at.rem_euclid(3600);
    let days = hour.div_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm), as the console's own.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:00:00",
        hour.rem_euclid(86_400) / 3600
    )
}

/// The dashboard's five series counted from the audit rows: hour to
/// count, for the 24 hours ending with the one `now` is in.
fn counted(rows: &[serde_json::Value], now: i64) -> BTreeMap<&'static str, BTreeMap<String, i64>> {
    let first = now - now.rem_euclid(3600) - 23 * 3600;
    let mut series: BTreeMap<&'static str, BTreeMap<String, i64>> = BTreeMap::new();
    for id in [
        "accepted",
        "refused",
        "lockouts",
        "unlock-codes",
        "recoveries",
    ] {
        let hours = series.entry(id).or_default();
        for i in 0..24 {
            hours.insert(hour_text(first + i * 3600), 0);
        }
    }
    for row in rows {
        let at = row["at"].as_i64().unwrap();
        if at < first || at >= first + 24 * 3600 {
            continue;
        }
        let id = match (
            row["action"].as_str().unwrap(),
            row["outcome"].as_str().unwrap(),
        ) {
            ("otp.verify", "success") => "accepted",
            ("otp.verify", "failure" | "denied") => "refused",
            ("token.lock", "success") => "lockouts",
            ("unlock.issue", "success") => "unlock-codes",
            ("portal.recovery", "success") => "recoveries",
            _ => continue,
        };
        *series.get_mut(id).unwrap().get_mut(&hour_text(at)).unwrap() += 1;
    }
    series
}

fn the_dashboard_counts_what_the_audit_rows_hold(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let key = db.api_key("vpn", "authenticate");
    let mut alice = Account::new(&db, "alice");
    let mut bob = Account::new(&db, "bob");
    let (mut root, _visit) = signed_in(&db, &server, "root", "admin");
    let wrong = |server: &Server, user: &str| {
        let body = serde_json::json!({"username": user, "password": PASSWORD, "otp": "000000"});
        server.post("/api/v1/authenticate", Some(&key), &body.to_string());
    };

    // This hour: accepted codes, wrong codes, and a lockout (ten wrong).
    for _ in 0..3 {
        assert_eq!(
            server.authenticate(&key, "alice", &alice.next_otp()),
            "accept"
        );
    }
    for _ in 0..10 {
        wrong(&server, "bob");
    }
    // Two hours later: more of each.
    server.clock().advance(2 * 3600);
    assert_eq!(
        server.authenticate(&key, "alice", &alice.next_otp()),
        "accept"
    );
    wrong(&server, "alice");
    wrong(&server, "alice");
    let bob_serial = tokens_of(&db, "bob")[0]["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = db.admin(&["token", "reset", &bob_serial], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.authenticate(&key, "bob", &bob.next_otp()), "accept");
    // The portal session has ended meanwhile: signed in again.
    let mut visitor = Visitor::new(&server.url);
    root.sign_in_with_answers(&mut visitor);

    let page = visitor.get("/admin");
    assert_eq!(page.status, 200, "{}", page.body);
    let now = server.now() as i64;
    let want = counted(&audit_rows(&db), now);
    for (id, hours) in &want {
        assert_eq!(&bars(&page, id), hours, "the chart {id}");
    }
    assert!(want["accepted"].values().sum::<i64>() >= 5);
    assert_eq!(want["lockouts"].values().sum::<i64>(), 1);
    assert!(want["refused"].values().sum::<i64>() >= 12);
    assert!(page.body.contains("id=\"chart-refused\""));

    // A token issued now expires in a week: on the list once it is within
    // a day of expiring, and the charts have moved on with the clock.
    let issued = db.admin_json(&["token", "issue", "alice"]);
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let page = visitor.get("/admin");
    assert!(!page.body.contains(&format!("id=\"expiring-{serial}\"")));
    server.clock().advance(6 * 24 * 3600 + 12 * 3600);
    let mut visitor = Visitor::new(&server.url);
    root.sign_in_with_answers(&mut visitor);
    let page = visitor.get("/admin");
    assert!(
        page.body.contains(&format!("id=\"expiring-{serial}\"")),
        "{}",
        page.body
    );
    let want = counted(&audit_rows(&db), server.now() as i64);
    for (id, hours) in &want {
        assert_eq!(&bars(&page, id), hours, "the chart {id}, a week on");
    }
}

/// Appends `count` audit rows with `actor` and `action` straight through
/// the store, many at a time.
fn append_rows(db: &Database, actor: &str, action: &str, count: usize) {
    use latchkey_core::AuditLog;
    let runtime = tokio_runtime();
    runtime.block_on(async {
        let store = latchkey_store::Database::connect(&db.url).await.unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // As many at a time as the backend takes without queueing for
        // its pool: the SQLite writer commits what is queued together.
        let at_once = if db.postgres { 8 } else { 500 };
        let mut tasks = Vec::with_capacity(at_once);
        for i in 0..count {
            let store = store.clone();
            let event = latchkey_core::AuditEvent {
                at: now,
                actor: actor.to_owned(),
                action: action.parse().unwrap(),
                subject: format!("row-{i}"),
                source: "198.51.100.7".into(),
                outcome: Outcome::Success,
                detail: String::new(),
            };
            tasks.push(tokio::spawn(async move { store.append(event).await }));
            if tasks.len() == at_once || i + 1 == count {
                for task in tasks.drain(..) {
                    task.await.unwrap().unwrap();
                }
            }
        }
        store.close().await;
    });
}

fn the_audit_export_holds_exactly_0_1_and_10000_filtered_rows(postgres: bool) {
    let db = Database::new(postgres);
    let server = db.spawn_app();
    let (_root, mut visitor) = signed_in(&db, &server, "root", "admin");
    append_rows(&db, "filler", "database.backup", 10_000);
    append_rows(&db, "lonely", "database.restore", 1);

    for (query, want) in [
        ("action=apikey.revoke", 0usize),
        ("action=database.restore", 1),
        ("action=database.backup", 10_000),
        (
            "actor=filler&action=database.backup&source=198.51.100.7",
            10_000,
        ),
        ("actor=lonely&action=database.backup", 0),
    ] {
        let csv = visitor.get(&format!("/admin/audit/export.csv?{query}"));
        assert_eq!(csv.status, 200, "{query}");
        let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), want + 1, "{query}: the header and {want} rows");
        let ids: std::collections::BTreeSet<&str> = lines[1..]
            .iter()
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(ids.len(), want, "{query}: no row twice");
        let jsonl = visitor.get(&format!("/admin/audit/export.jsonl?{query}"));
        assert_eq!(jsonl.status, 200);
        let rows: Vec<serde_json::Value> = jsonl
            .body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), want, "{query}");
        let action = query
            .split("action=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        assert!(rows.iter().all(|r| r["action"] == action), "{query}");
        // The page shows the newest hundred and a link to the older ones.
        let page = visitor.get(&format!("/admin/audit?{query}"));
        assert_eq!(
            page.body.matches("<tr data-id=").count(),
            want.min(100),
            "{query}"
        );
    }
    let exports = audit_rows(&db)
        .iter()
        .filter(|r| r["action"] == "audit.export" && r["actor"] == "root")
        .count();
    assert_eq!(exports, 10, "every export is audited");
}
