//! Faults under load (issue 6): two nodes racing on one PostgreSQL database,
//! a node killed with SIGKILL in the middle of its work on SQLite, and a
//! PostgreSQL outage while requests keep coming. Each drives real
//! `latchkey serve` processes over HTTP with many valid HOTP codes,
//! computed here from the tokens' key URIs.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use latchkey_oath::{Hotp, KeyUri};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A user with an HOTP token, and the generator that makes its codes.
struct Seeded {
    user: String,
    serial: String,
    hotp: Hotp,
}

/// Adds `count` users (no password) with one HOTP token each, through
/// the admin API of `node`.
fn seed_hotp_users(node: &Server, admin_key: &str, count: usize) -> Vec<Seeded> {
    (0..count)
        .map(|i| {
            let user = format!("user{i:03}");
            let added = node.post(
                "/api/v1/users",
                Some(admin_key),
                &json!({ "username": user }).to_string(),
            );
            assert_eq!(added.status, 201, "{:?}", added.body);
            let issued = node.post(
                "/api/v1/tokens",
                Some(admin_key),
                &json!({ "username": user, "kind": "hotp" }).to_string(),
            );
            assert_eq!(issued.status, 201, "{:?}", issued.body);
            let uri = issued.body["otpauth_uri"].as_str().unwrap();
            Seeded {
                user,
                serial: issued.body["serial"].as_str().unwrap().to_owned(),
                hotp: KeyUri::parse(uri).unwrap().hotp().unwrap(),
            }
        })
        .collect()
}

/// What `POST /api/v1/authenticate` said: `Some(true)` accept, `Some(false)`
/// reject, `None` no 200 answer (a 5xx, or no answer at all).
fn send_otp(node: &Server, key: &str, user: &str, otp: &str) -> Option<bool> {
    let body = json!({ "username": user, "otp": otp }).to_string();
    match node.try_post("/api/v1/authenticate", Some(key), &body, TIMEOUT) {
        Ok(response) if response.status == 200 => Some(response.body["result"] == "accept"),
        _ => None,
    }
}

/// The audit rows, as `latchkey admin audit list --json` gives them.
fn audit_rows(db: &Database) -> Vec<serde_json::Value> {
    db.admin_json(&["audit", "list", "--limit", "100000"])
        .as_array()
        .unwrap()
        .clone()
}

fn count_rows(rows: &[serde_json::Value], action: &str, outcome: &str, subject: &str) -> usize {
    rows.iter()
        .filter(|r| r["action"] == action && r["outcome"] == outcome)
        .filter(|r| subject.is_empty() || r["subject"] == subject)
        .count()
}

fn assert_audit_verifies(db: &Database) {
    let out = db.admin(&["audit", "verify"], "");
    assert!(
        out.status.success(),
        "latchkey admin audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

/// Whether the code for `counter` differs from the codes of the counters a
/// race's loser still accepts after the winner spent `counter` (the next
/// eleven: the server looks ten counters ahead of the next one). With six
/// digits two codes agree once in a million; when one of those agrees, the
/// loser rightly accepts the code as that later counter's, so such a
/// counter is not raced.
fn unique_in_look_ahead(hotp: &Hotp, counter: u64) -> bool {
    let code = hotp.generate(counter);
    (counter + 1..=counter + 11).all(|later| hotp.generate(later) != code)
}

/// (a) Two nodes on one fresh PostgreSQL database under concurrent load:
/// sixteen tokens sending thirty valid codes each, every third code sent to
/// both nodes at the same moment (unless it agrees with a later code the
/// loser would still take, see [`unique_in_look_ahead`]). Each code must be accepted exactly once
/// (the pairs race: one node wins the conditional update, the other sees a
/// replay), and the audit log must hold exactly the accepts the clients saw.
#[test]
fn s04_two_postgres_nodes_under_load_never_accept_an_otp_twice() {
    const TOKENS: usize = 16;
    const CODES: u64 = 30;
    let db = Database::new(true);
    let nodes = [db.serve(), db.serve()];
    let admin_key = db.api_key("seeder", "admin");
    let key = db.api_key("vpn", "authenticate");
    let tokens = seed_hotp_users(&nodes[0], &admin_key, TOKENS);

    let accepts: Mutex<HashMap<(usize, u64), usize>> = Mutex::new(HashMap::new());
    let pairs = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for (t, token) in tokens.iter().enumerate() {
            let (nodes, key, accepts, pairs) = (&nodes, &key, &accepts, &pairs);
            scope.spawn(move || {
                for counter in 0..CODES {
                    let otp = token.hotp.generate(counter);
                    let answers: Vec<Option<bool>> =
                        if counter % 3 == 0 && unique_in_look_ahead(&token.hotp, counter) {
                            pairs.fetch_add(1, Ordering::Relaxed);
                            std::thread::scope(|both| {
                                let racers: Vec<_> = nodes
                                    .iter()
                                    .map(|node| {
                                        let otp = &otp;
                                        both.spawn(move || send_otp(node, key, &token.user, otp))
                                    })
                                    .collect();
                                racers.into_iter().map(|r| r.join().unwrap()).collect()
                            })
                        } else {
                            let node = &nodes[(t + counter as usize) % 2];
                            vec![send_otp(node, key, &token.user, &otp)]
                        };
                    assert!(
                        answers.iter().all(Option::is_some),
                        "every request is answered with 200: {answers:?}"
                    );
                    let accepted = answers.iter().filter(|a| **a == Some(true)).count();
                    *accepts.lock().unwrap().entry((t, counter)).or_default() += accepted;
                }
            });
        }
    });

    let accepts = accepts.into_inner().unwrap();
    let twice: Vec<_> = accepts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "OTPs accepted more than once: {twice:?}");
    let never: Vec<_> = accepts.iter().filter(|(_, n)| **n == 0).collect();
    assert!(
        never.is_empty(),
        "every fresh OTP is accepted by one node: {never:?}"
    );
    let total: usize = accepts.values().sum();
    assert_eq!(total, TOKENS * CODES as usize);

    drop(nodes);
    let rows = audit_rows(&db);
    assert_eq!(
        count_rows(&rows, "otp.verify", "success", ""),
        total,
        "the audit log holds exactly the accepts the clients saw"
    );
    let losers = rows
        .iter()
        .filter(|r| r["action"] == "otp.verify" && r["detail"] == "replay")
        .count();
    assert_eq!(
        losers,
        pairs.load(Ordering::Relaxed),
        "each pair's loser is audited as a replay"
    );
    assert_audit_verifies(&db);
    eprintln!(
        "two nodes: {total} OTPs accepted once each, {} of them raced on both nodes \
         (each loser audited as a replay)",
        pairs.load(Ordering::Relaxed)
    );
}

/// (b) `kill -9` of a node on SQLite in the middle of a load of valid codes,
/// then a restart on the same data folder: the database opens, the audit
/// chain verifies, every token's last accepted counter agrees with its
/// audit rows (each accepted code has its row, none is half-written), and
/// every code the clients saw accepted before the kill is refused after it.
#[test]
fn sigkill_during_load_on_sqlite_then_restart_keeps_every_accepted_otp_spent() {
    const TOKENS: usize = 12;
    let db = Database::new(false);
    let mut server = db.serve();
    let admin_key = db.api_key("seeder", "admin");
    let key = db.api_key("vpn", "authenticate");
    let tokens = seed_hotp_users(&server, &admin_key, TOKENS);

    let accepted: Mutex<Vec<(usize, u64)>> = Mutex::new(Vec::new());
    let accepted_count = AtomicUsize::new(0);
    let killed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for (t, token) in tokens.iter().enumerate() {
            let (server, key, accepted, accepted_count, killed) =
                (&server, &key, &accepted, &accepted_count, &killed);
            scope.spawn(move || {
                for counter in 0.. {
                    match send_otp(server, key, &token.user, &token.hotp.generate(counter)) {
                        Some(true) => {
                            accepted.lock().unwrap().push((t, counter));
                            accepted_count.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(false) => panic!("a fresh valid OTP was refused before the kill"),
                        None if killed.load(Ordering::SeqCst) => return,
                        None => panic!("no answer although the node was not killed yet"),
                    }
                }
            });
        }
        let started = Instant::now();
        while accepted_count.load(Ordering::Relaxed) < 300 {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "load too slow"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        killed.store(true, Ordering::SeqCst);
        let status = Command::new("kill")
            .args(["-9", &server.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -9 the node");
    });
    server.wait();
    drop(server);
    let accepted = accepted.into_inner().unwrap();

    // The database opens and the chain is whole.
    assert_audit_verifies(&db);
    let rows = audit_rows(&db);
    for token in &tokens {
        let last_used = query_i64(
            &db.url,
            &format!(
                "SELECT last_used FROM tokens WHERE serial = '{}'",
                token.serial
            ),
        );
        let failures = query_i64(
            &db.url,
            &format!(
                "SELECT failures FROM tokens WHERE serial = '{}'",
                token.serial
            ),
        );
        // Codes went out in order, one at a time per token, all valid: the
        // counters 0..=last_used were each accepted once, each with its row.
        assert_eq!(
            count_rows(&rows, "otp.verify", "success", &token.serial) as i64,
            last_used + 1,
            "token {}: the accepted counter and the audit rows agree",
            token.serial
        );
        assert_eq!(failures, 0, "no failure was counted");
    }
    assert_eq!(count_rows(&rows, "otp.verify", "failure", ""), 0);

    let server = db.serve();
    // The restarted node works: each token's next code is accepted …
    for token in &tokens {
        let next = query_i64(
            &db.url,
            &format!(
                "SELECT last_used FROM tokens WHERE serial = '{}'",
                token.serial
            ),
        ) + 1;
        assert_eq!(
            send_otp(
                &server,
                &key,
                &token.user,
                &token.hotp.generate(next as u64)
            ),
            Some(true),
            "the next code after the restart"
        );
    }
    // … and no code accepted before the kill is accepted again.
    for (t, counter) in &accepted {
        let token = &tokens[*t];
        assert_eq!(
            send_otp(&server, &key, &token.user, &token.hotp.generate(*counter)),
            Some(false),
            "token {} counter {counter} was accepted before the kill",
            token.serial
        );
    }
    drop(server);
    assert_audit_verifies(&db);
    eprintln!(
        "kill -9 after {} accepts seen by the clients ({} accepts committed); after the \
         restart every one of them was refused and each token's next code accepted",
        accepted.len(),
        count_rows(&rows, "otp.verify", "success", "")
    );
}

/// (c) A PostgreSQL outage under load, on a PostgreSQL cluster of the
/// test's own: while it is stopped `/readyz` answers non-200; once it is
/// back, the same node process answers 200 on `/readyz` and accepts codes
/// again, without a restart.
#[test]
fn postgres_outage_under_load_readyz_reports_it_and_the_node_recovers() {
    const TOKENS: usize = 6;
    let cluster = ThrowawayPostgres::start();
    let db = Database {
        url: cluster.url(),
        dir: tempfile::tempdir().unwrap(),
        postgres: true,
    };
    let mut server = db.serve();
    let admin_key = db.api_key("seeder", "admin");
    let key = db.api_key("vpn", "authenticate");
    let tokens = seed_hotp_users(&server, &admin_key, TOKENS);
    assert_eq!(server.try_get_status("/readyz", TIMEOUT).unwrap(), 200);

    let accepts = AtomicUsize::new(0);
    let unanswered = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let wait_for = |what: &str, limit: Duration, done: &dyn Fn() -> bool| {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < limit, "{what} within {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    std::thread::scope(|scope| {
        for token in &tokens {
            let (server, key, accepts, unanswered, stop) =
                (&server, &key, &accepts, &unanswered, &stop);
            scope.spawn(move || {
                let mut counter = 0;
                while !stop.load(Ordering::SeqCst) {
                    // An unanswered code may or may not have been spent, so
                    // it is sent again: accepted now, or refused as a replay
                    // (one failure, cleared by the next accept).
                    match send_otp(server, key, &token.user, &token.hotp.generate(counter)) {
                        Some(true) => {
                            accepts.fetch_add(1, Ordering::SeqCst);
                            counter += 1;
                        }
                        Some(false) => counter += 1,
                        None => {
                            unanswered.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            });
        }

        wait_for("load running", Duration::from_secs(60), &|| {
            accepts.load(Ordering::SeqCst) >= 100
        });
        let stopped_at = Instant::now();
        cluster.stop_server();
        // The pool's connect attempts run until its acquire timeout, so the
        // answer may take seconds; it must come, and must not be 200.
        wait_for(
            "/readyz reports the outage",
            Duration::from_secs(60),
            &|| match server.try_get_status("/readyz", TIMEOUT) {
                Ok(status) => status != 200,
                Err(e) => panic!("/readyz must answer during the outage: {e}"),
            },
        );
        wait_for(
            "requests fail during the outage",
            Duration::from_secs(60),
            &|| unanswered.load(Ordering::SeqCst) > 0,
        );
        let accepts_before_restart = accepts.load(Ordering::SeqCst);
        let reported_after = stopped_at.elapsed();

        cluster.start_server();
        let restarted_at = Instant::now();
        wait_for("/readyz is 200 again", Duration::from_secs(60), &|| {
            matches!(server.try_get_status("/readyz", TIMEOUT), Ok(200))
        });
        wait_for(
            "codes are accepted again after the outage",
            Duration::from_secs(60),
            &|| accepts.load(Ordering::SeqCst) >= accepts_before_restart + 50,
        );
        stop.store(true, Ordering::SeqCst);
        eprintln!(
            "PostgreSQL stopped: /readyz non-200 and requests failing within {reported_after:?}; \
             restarted: /readyz 200 and 50 more accepts within {:?}, same node process",
            restarted_at.elapsed()
        );
    });
    assert!(server.is_running(), "the node was never restarted");
    drop(server);
    // Every accept the clients saw is in the audit log; a request that got
    // no answer during the outage may have been committed or not, never
    // half: the log holds at most those on top.
    let successes = count_rows(&audit_rows(&db), "otp.verify", "success", "");
    let (seen, unanswered) = (accepts.into_inner(), unanswered.into_inner());
    assert!(
        (seen..=seen + unanswered).contains(&successes),
        "{successes} accepts audited; clients saw {seen}, {unanswered} unanswered"
    );
    assert_audit_verifies(&db);
}
