//! One conformance suite for both backends: every scenario runs against a
//! fresh SQLite file (`SqliteStore`, group commit) and a fresh PostgreSQL
//! database (`SqlStore`), both through `Database` as the server uses them
//! (never skipped: if PostgreSQL cannot be reached the suite fails).

use std::sync::Arc;

use latchkey_core::oath::{
    Algorithm, Digits, Hotp, ResetCode, Secret, Serial, Totp, UnlockSecret, unlock_code,
};
use latchkey_core::*;
use latchkey_store::{Backend, Database, MasterKeyCipher};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const T0: u64 = 1_700_000_000;

/// A fast stand-in for Argon2 (the server's hasher is tested in the server).
struct TestHasher;

impl PasswordHasher for TestHasher {
    fn hash(&self, password: Zeroizing<String>) -> BoxFuture<'static, String> {
        Box::pin(
            async move { data_encoding::HEXLOWER.encode(&Sha256::digest(password.as_bytes())) },
        )
    }
    fn verify(
        &self,
        password: Zeroizing<String>,
        hash: Option<String>,
    ) -> BoxFuture<'static, bool> {
        Box::pin(async move {
            hash.is_some_and(|h| {
                h == data_encoding::HEXLOWER.encode(&Sha256::digest(password.as_bytes()))
            })
        })
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A new, empty PostgreSQL database; its URL.
async fn fresh_postgres() -> String {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin} for these tests: {e}"));
    let mut id = [0u8; 6];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut id);
    let name = format!("lk_test_{}", data_encoding::HEXLOWER.encode(&id));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let (base, _) = admin.rsplit_once('/').expect("a database URL");
    format!("{base}/{name}")
}

struct Harness {
    latchkey: Latchkey<Database>,
    /// The same store, for what the tests read and write below the domain.
    store: Database,
    /// The operator's right, as the admin CLI gets it.
    admin: Admin,
    clock: ManualClock,
    url: String,
    /// The API key of the relying application that calls `authenticate`.
    key: String,
    _dir: Option<tempfile::TempDir>,
}

async fn harness(postgres: bool, policy: Policy) -> Harness {
    let (url, dir) = if postgres {
        (fresh_postgres().await, None)
    } else {
        let dir = tempfile::tempdir().unwrap();
        (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("latchkey.db").display()
            ),
            Some(dir),
        )
    };
    let store = Database::connect(&url).await.expect("connect and migrate");
    let expected = if postgres {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    assert_eq!(store.backend(), expected);
    let clock = ManualClock::at(T0);
    let (latchkey, admin) = Latchkey::with_local_operator(
        store.clone(),
        Arc::new(clock.clone()),
        Arc::new(MasterKeyCipher::new(&[42; 32])),
        Arc::new(TestHasher),
        policy,
    );
    let key = latchkey
        .create_api_key(&admin, "relying-app", ApiRole::Authenticate)
        .await
        .expect("an API key");
    Harness {
        latchkey,
        store,
        admin,
        clock,
        url,
        key: key.to_string(),
        _dir: dir,
    }
}

/// Where the test's requests come from.
const SOURCE: &str = "127.0.0.1";

/// A user with an activated Latchkey token; the token's TOTP.
async fn user_with_token(h: &Harness, name: &str) -> (Serial, Totp, Option<UnlockSecret>) {
    h.latchkey
        .add_user(
            &h.admin,
            name,
            None,
            Role::User,
            Some(Zeroizing::new("correct horse battery".into())),
        )
        .await
        .unwrap();
    let issued = h
        .latchkey
        .issue_token(&h.admin, name, TokenKind::Latchkey)
        .await
        .unwrap();
    let code = issued.activation_code.unwrap();
    let grant = h
        .latchkey
        .activate(issued.serial.digits(), code.digits(), "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(grant.secret.len(), 32, "S02: Latchkey seeds are 256 bits");
    let totp = Totp::new(grant.secret.clone(), Algorithm::Sha256, Digits::EIGHT, 30).unwrap();
    (issued.serial, totp, grant.unlock_secret)
}

async fn otp_ok(h: &Harness, name: &str, otp: &str) -> bool {
    h.latchkey
        .authenticate(&h.key, SOURCE, name, None, otp)
        .await
        .unwrap()
        .expect("a valid key")
        == Decision::Accept
}

async fn audit_actions(h: &Harness) -> Vec<(String, String, String)> {
    h.store
        .audit_rows(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.event.action,
                r.event.subject,
                r.event.outcome + ":" + &r.event.detail,
            )
        })
        .collect()
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { super::$name(false).await } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { super::$name(true).await } )* }
    };
}

both_backends!(
    activation_is_single_use,
    s04_s05_an_otp_is_accepted_once_and_a_replay_is_audited,
    s04_concurrent_requests_with_one_otp_accept_exactly_once,
    s12_s14_s15_failures_lock_and_a_reset_clears,
    s13_parallel_failures_are_all_counted,
    s06_s07_hotp_counter_moves_only_on_success,
    s08_totp_window_and_drift,
    s21_s22_help_desk_unlock_codes_match_the_derivation_and_are_rate_limited,
    s03_secrets_are_sealed_at_rest,
    s43_api_keys_are_hashed_scoped_and_revocable,
    s43_a_key_revoked_elsewhere_is_refused_by_the_next_check,
    audit_chain_verifies,
    concurrent_changes_fail_alone,
    an_otp_check_reads_judges_and_records_in_one_step,
    many_otp_checks_at_once_each_get_their_own_answer,
    a_retired_question_leaves_the_choice_once_and_audited,
);

async fn activation_is_single_use(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    h.latchkey
        .add_user(&h.admin, "Alice", None, Role::User, None)
        .await
        .unwrap();
    let issued = h
        .latchkey
        .issue_token(&h.admin, "alice", TokenKind::Latchkey)
        .await
        .unwrap();
    let code = issued.activation_code.unwrap();
    let wrong = latchkey_core::oath::ActivationCode::generate();
    assert!(matches!(
        h.latchkey
            .activate(issued.serial.digits(), wrong.digits(), "x")
            .await,
        Err(ActivateError::Refused)
    ));
    assert!(
        h.latchkey
            .activate(issued.serial.digits(), code.digits(), "x")
            .await
            .is_ok()
    );
    assert!(matches!(
        h.latchkey
            .activate(issued.serial.digits(), code.digits(), "x")
            .await,
        Err(ActivateError::Refused)
    ));
    let unknown = Serial::generate();
    assert!(matches!(
        h.latchkey
            .activate(unknown.digits(), code.digits(), "x")
            .await,
        Err(ActivateError::Refused)
    ));
    // Five wrong codes void an outstanding code; expiry voids it too.
    let issued = h
        .latchkey
        .issue_token(&h.admin, "alice", TokenKind::Latchkey)
        .await
        .unwrap();
    for _ in 0..5 {
        let _ = h
            .latchkey
            .activate(issued.serial.digits(), wrong.digits(), "x")
            .await;
    }
    let code = issued.activation_code.unwrap();
    assert!(matches!(
        h.latchkey
            .activate(issued.serial.digits(), code.digits(), "x")
            .await,
        Err(ActivateError::Refused)
    ));
    let issued = h
        .latchkey
        .issue_token(&h.admin, "alice", TokenKind::Latchkey)
        .await
        .unwrap();
    h.clock.advance(8 * 24 * 3600);
    let code = issued.activation_code.unwrap();
    assert!(matches!(
        h.latchkey
            .activate(issued.serial.digits(), code.digits(), "x")
            .await,
        Err(ActivateError::Refused)
    ));
}

async fn s04_s05_an_otp_is_accepted_once_and_a_replay_is_audited(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (serial, totp, _) = user_with_token(&h, "bob").await;
    let code = totp.generate(T0);
    assert!(otp_ok(&h, "bob", &code).await);
    assert!(
        !otp_ok(&h, "bob", &code).await,
        "the same OTP again is refused"
    );
    let actions = audit_actions(&h).await;
    assert!(
        actions.contains(&(
            "otp.verify".into(),
            serial.digits().into(),
            "failure:replay".into()
        )),
        "{actions:?}"
    );
    h.clock.advance(30);
    assert!(
        otp_ok(&h, "bob", &totp.generate(T0 + 30)).await,
        "the next step's OTP is fine"
    );
}

async fn s04_concurrent_requests_with_one_otp_accept_exactly_once(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "carol").await;
    let code = totp.generate(T0);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let latchkey = h.latchkey.clone();
            let code = code.clone();
            let key = h.key.clone();
            tokio::spawn(async move {
                latchkey
                    .authenticate(&key, SOURCE, "carol", None, &code)
                    .await
                    .unwrap()
                    .expect("a valid key")
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap() == Decision::Accept {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
}

async fn s12_s14_s15_failures_lock_and_a_reset_clears(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (serial, totp, _) = user_with_token(&h, "dave").await;
    // S14: failure, success, failure, success never locks.
    for round in 0..12u64 {
        h.clock.advance(30);
        assert!(
            !otp_ok(&h, "dave", "00000000").await || totp.generate(h.clock.now()) == "00000000"
        );
        assert!(
            otp_ok(&h, "dave", &totp.generate(h.clock.now())).await,
            "round {round}"
        );
    }
    for _ in 0..10 {
        assert!(!otp_ok(&h, "dave", "00000000").await);
    }
    h.clock.advance(30);
    let valid = totp.generate(h.clock.now());
    assert!(
        !otp_ok(&h, "dave", &valid).await,
        "S12: locked, a valid OTP is refused too"
    );
    let token = h
        .latchkey
        .show_token(&h.admin, serial.digits())
        .await
        .unwrap();
    assert!(token.locked);
    assert_eq!(token.failures, 10, "attempts during a lock do not add");
    h.latchkey
        .reset_token(&h.admin.helpdesk(), serial.digits())
        .await
        .unwrap();
    assert!(
        otp_ok(&h, "dave", &valid).await,
        "S15: a reset clears the lock"
    );
    let actions = audit_actions(&h).await;
    assert!(
        actions
            .iter()
            .any(|(a, s, _)| a == "token.lock" && s == serial.digits())
    );
    assert!(
        actions
            .iter()
            .any(|(a, s, _)| a == "token.reset" && s == serial.digits())
    );
}

async fn s13_parallel_failures_are_all_counted(postgres: bool) {
    let h = harness(
        postgres,
        Policy {
            otp_failure_limit: 1000,
            ..Policy::default()
        },
    )
    .await;
    let (serial, _, _) = user_with_token(&h, "erin").await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let latchkey = h.latchkey.clone();
            let key = h.key.clone();
            tokio::spawn(async move {
                latchkey
                    .authenticate(&key, SOURCE, "erin", None, "00000001")
                    .await
                    .unwrap()
                    .expect("a valid key")
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        h.latchkey
            .show_token(&h.admin, serial.digits())
            .await
            .unwrap()
            .failures,
        50
    );
}

async fn s06_s07_hotp_counter_moves_only_on_success(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    h.latchkey
        .add_user(&h.admin, "frank", None, Role::User, None)
        .await
        .unwrap();
    let issued = h
        .latchkey
        .issue_token(&h.admin, "frank", TokenKind::Hotp)
        .await
        .unwrap();
    let uri = latchkey_core::oath::KeyUri::parse(&issued.otpauth_uri.unwrap()).unwrap();
    let hotp: Hotp = uri.hotp().unwrap();
    let serial = issued.serial.digits().to_owned();
    assert!(!otp_ok(&h, "frank", "000000").await || hotp.generate(0) == "000000");
    h.latchkey
        .reset_token(&h.admin.helpdesk(), &serial)
        .await
        .unwrap();
    assert_eq!(
        h.latchkey
            .show_token(&h.admin, &serial)
            .await
            .unwrap()
            .last_used,
        -1,
        "a wrong OTP leaves the counter"
    );
    assert!(
        otp_ok(&h, "frank", &hotp.generate(3)).await,
        "a match at c+3"
    );
    assert_eq!(
        h.latchkey
            .show_token(&h.admin, &serial)
            .await
            .unwrap()
            .last_used,
        3,
        "the counter moves to the match"
    );
    for c in 0..=3 {
        assert!(
            !otp_ok(&h, "frank", &hotp.generate(c)).await,
            "counter {c} is spent"
        );
    }
    h.latchkey
        .reset_token(&h.admin.helpdesk(), &serial)
        .await
        .unwrap();
    // Look-ahead 10 from the next counter (4): 14 passes, 15 would not.
    assert!(
        !otp_ok(&h, "frank", &hotp.generate(15)).await || hotp.generate(15) == hotp.generate(14)
    );
    assert!(otp_ok(&h, "frank", &hotp.generate(14)).await);
}

async fn s08_totp_window_and_drift(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "gina").await;
    assert!(
        !otp_ok(&h, "gina", &totp.generate(T0 - 60)).await,
        "T-2 fails"
    );
    assert!(
        otp_ok(&h, "gina", &totp.generate(T0 - 30)).await,
        "T-1 passes"
    );
    // The T−1 acceptance recorded a drift of −1 step: ten steps later the
    // window is centred one step back, so now−2 passes where it would not
    // without the drift, and now+1 no longer does.
    h.clock.advance(300);
    let now = T0 + 300;
    assert!(
        !otp_ok(&h, "gina", &totp.generate(now + 30)).await,
        "now+1 is outside the drifted window"
    );
    assert!(
        otp_ok(&h, "gina", &totp.generate(now - 60)).await,
        "drift is applied"
    );
}

async fn s21_s22_help_desk_unlock_codes_match_the_derivation_and_are_rate_limited(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (serial, _, unlock_secret) = user_with_token(&h, "hank").await;
    let unlock_secret = unlock_secret.expect("Latchkey tokens carry an unlock secret");
    let helpdesk = h.admin.helpdesk();
    for _ in 0..5 {
        let reset = ResetCode::generate();
        let code = h
            .latchkey
            .issue_unlock_code(&helpdesk, serial.digits(), &reset.grouped())
            .await
            .unwrap();
        assert_eq!(code, unlock_code(&unlock_secret, &serial, &reset));
    }
    let reset = ResetCode::generate();
    assert!(matches!(
        h.latchkey
            .issue_unlock_code(&helpdesk, serial.digits(), reset.digits())
            .await,
        Err(AdminError::RateLimited)
    ));
    assert!(matches!(
        h.latchkey
            .issue_unlock_code(&helpdesk, serial.digits(), "1234")
            .await,
        Err(AdminError::BadResetCode(_))
    ));
    let issued = audit_actions(&h)
        .await
        .into_iter()
        .filter(|(a, _, o)| a == "unlock.issue" && o.starts_with("success"))
        .count();
    assert_eq!(issued, 5);
}

async fn s03_secrets_are_sealed_at_rest(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    h.latchkey
        .add_user(&h.admin, "ivy", None, Role::User, None)
        .await
        .unwrap();
    let issued = h
        .latchkey
        .issue_token(&h.admin, "ivy", TokenKind::Totp)
        .await
        .unwrap();
    let uri = latchkey_core::oath::KeyUri::parse(&issued.otpauth_uri.unwrap()).unwrap();
    let seed: Secret = uri.secret.clone();
    let (serial, _, unlock) = user_with_token(&h, "jack").await;
    let _ = serial;
    let dump = if postgres {
        let out = std::process::Command::new("pg_dump")
            .arg(&h.url)
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    } else {
        let path = h
            .url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        bytes
    };
    assert!(dump.len() > 1000);
    let hex = data_encoding::HEXLOWER.encode(seed.expose());
    assert!(
        !dump
            .windows(8)
            .any(|w| seed.expose().windows(8).any(|s| s == w)),
        "no raw seed bytes"
    );
    assert!(
        !dump
            .windows(16)
            .any(|w| hex.as_bytes().windows(16).any(|s| s == w)),
        "no hex seed"
    );
    let unlock = unlock.unwrap();
    assert!(
        !dump
            .windows(8)
            .any(|w| unlock.expose().windows(8).any(|s| s == w)),
        "no raw unlock secret"
    );
}

async fn s43_api_keys_are_hashed_scoped_and_revocable(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let key = h
        .latchkey
        .create_api_key(&h.admin, "vpn", ApiRole::Authenticate)
        .await
        .unwrap();
    let principal = h
        .latchkey
        .authorize_api_key(&key, "x")
        .await
        .unwrap()
        .expect("the key works");
    assert_eq!(principal.role(), ApiRole::Authenticate);
    assert!(
        principal.admin().is_none(),
        "an authenticate key has no admin rights"
    );
    let stored = h.store.list_api_keys().await.unwrap();
    let vpn = stored.iter().find(|k| k.name == "vpn").unwrap();
    assert!(
        !vpn.hash
            .windows(8)
            .any(|w| key.as_bytes().windows(8).any(|k| k == w))
    );
    let mut wrong = key.to_string();
    wrong.pop();
    wrong.push('x');
    assert!(
        h.latchkey
            .authorize_api_key(&wrong, "x")
            .await
            .unwrap()
            .is_none()
    );
    h.latchkey.revoke_api_key(&h.admin, "vpn").await.unwrap();
    assert!(
        h.latchkey
            .authorize_api_key(&key, "x")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        h.latchkey
            .create_api_key(&h.admin, "bad name", ApiRole::Admin)
            .await,
        Err(AdminError::BadApiKeyName)
    ));
}

/// `authenticate` checks the caller's key inside the OTP check's own
/// transaction, where a store may keep keys it has read: a key revoked by
/// another process (its own connections to the same database) is refused by
/// the very next check, and nothing about the user is checked or recorded.
async fn s43_a_key_revoked_elsewhere_is_refused_by_the_next_check(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "quinn").await;
    let authenticate = |key: String, password: Option<&str>, at: u64| {
        let password = password.map(|p| Zeroizing::new(p.to_owned()));
        let otp = totp.generate(at);
        let latchkey = h.latchkey.clone();
        async move {
            latchkey
                .authenticate(&key, SOURCE, "quinn", password, &otp)
                .await
                .unwrap()
        }
    };
    let audit_rows = || async { h.store.audit_rows(0, 100_000).await.unwrap().len() };
    assert_eq!(
        authenticate(h.key.clone(), None, T0).await,
        Some(Decision::Accept)
    );
    let other_store = Database::connect(&h.url).await.unwrap();
    let other_process = Latchkey::new(
        other_store.clone(),
        Arc::new(h.clock.clone()),
        Arc::new(MasterKeyCipher::new(&[42; 32])),
        Arc::new(TestHasher),
        Policy::default(),
    );
    other_process
        .revoke_api_key(&h.admin, "relying-app")
        .await
        .unwrap();
    let before = audit_rows().await;
    assert_eq!(authenticate(h.key.clone(), None, T0 + 30).await, None);
    assert_eq!(
        authenticate(h.key.clone(), Some("correct horse battery"), T0 + 30).await,
        None
    );
    assert_eq!(
        audit_rows().await,
        before,
        "nothing checked, nothing recorded"
    );
    // A key made here works at once; revoked here, it is refused at once.
    let second = h
        .latchkey
        .create_api_key(&h.admin, "second-app", ApiRole::Authenticate)
        .await
        .unwrap()
        .to_string();
    assert_eq!(
        authenticate(second.clone(), None, T0 + 30).await,
        Some(Decision::Accept)
    );
    // Its prefix with another secret: the stored hash decides, not the prefix.
    let mut forged = second.clone();
    forged.pop();
    forged.push(if second.ends_with('x') { 'y' } else { 'x' });
    assert_eq!(authenticate(forged, None, T0 + 60).await, None);
    assert_eq!(
        authenticate("lk_nonsense".into(), None, T0 + 60).await,
        None
    );
    h.latchkey
        .revoke_api_key(&h.admin, "second-app")
        .await
        .unwrap();
    assert_eq!(authenticate(second, None, T0 + 60).await, None);
    other_store.close().await;
}

async fn audit_chain_verifies(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "kim").await;
    assert!(otp_ok(&h, "kim", &totp.generate(T0)).await);
    assert!(!otp_ok(&h, "kim", "12345678").await);
    let rows = h
        .latchkey
        .verify_audit()
        .await
        .unwrap()
        .expect("an intact chain");
    assert!(rows >= 5, "{rows}");
}

/// Many changes at once (on SQLite they share a group commit): the one
/// that breaks a unique rule fails alone, with a conflict; every other one
/// lands, with its audit row, and the chain has no gap.
async fn concurrent_changes_fail_alone(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let names: Vec<String> = (0..40)
        .map(|i| format!("user{i}"))
        .chain(["user7".to_owned()])
        .collect();
    let tasks: Vec<_> = names
        .into_iter()
        .map(|name| {
            let store = h.store.clone();
            tokio::spawn(async move {
                let user = NewUser {
                    username: name.parse().unwrap(),
                    email: None,
                    role: Role::User,
                    password_hash: None,
                };
                let event = AuditEvent {
                    at: T0 as i64,
                    actor: "cli".into(),
                    action: "user.add".into(),
                    subject: name,
                    source: "cli".into(),
                    outcome: "success".into(),
                    detail: String::new(),
                };
                store.insert_user(user, event).await
            })
        })
        .collect();
    let (mut added, mut conflicts) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => added += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!((added, conflicts), (40, 1));
    assert_eq!(h.store.list_users().await.unwrap().len(), 40);
    let rows = h
        .latchkey
        .verify_audit()
        .await
        .unwrap()
        .expect("an intact chain");
    assert_eq!(
        rows,
        1 + 40,
        "the harness's API key, then one audit row per user added, none for the conflict"
    );
}

mod throttle {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_s16_a_flood_of_wrong_passwords_delays_the_owner_only_up_to_the_maximum() {
        super::s16_password_throttle(false).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_s16_a_flood_of_wrong_passwords_delays_the_owner_only_up_to_the_maximum() {
        super::s16_password_throttle(true).await
    }
}

async fn s16_password_throttle(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "lena").await;
    let right = || Some(Zeroizing::new("correct horse battery".to_owned()));
    let wrong = || Some(Zeroizing::new("not the password".to_owned()));
    let max = Throttle::default().max_delay;
    // Five wrong passwords cost nothing: the right one still works.
    for _ in 0..5 {
        assert_eq!(
            h.latchkey
                .authenticate(&h.key, SOURCE, "lena", wrong(), "00000000")
                .await
                .unwrap()
                .expect("a valid key"),
            Decision::Reject
        );
    }
    h.clock.advance(30);
    let otp = totp.generate(h.clock.now());
    assert_eq!(
        h.latchkey
            .authenticate(&h.key, SOURCE, "lena", right(), &otp)
            .await
            .unwrap()
            .expect("a valid key"),
        Decision::Accept,
        "5 failures are free"
    );
    // A stranger's flood: a wrong password every second for over a quarter
    // of an hour. Each counted failure doubles the wait, up to the maximum;
    // attempts during a wait are refused without being counted.
    for _ in 0..1000 {
        h.clock.advance(1);
        h.latchkey
            .authenticate(&h.key, SOURCE, "lena", wrong(), "00000000")
            .await
            .unwrap()
            .expect("a valid key");
        let user = h
            .store
            .user_by_name(&"lena".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            user.password_blocked_until <= h.clock.now() as i64 + max,
            "never longer than the maximum"
        );
    }
    let user = h
        .store
        .user_by_name(&"lena".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        user.password_blocked_until > h.clock.now() as i64,
        "the account waits"
    );
    assert!(
        user.password_failures < 20,
        "waits are not counted: {}",
        user.password_failures
    );
    let otp = totp.generate(h.clock.now());
    assert_eq!(
        h.latchkey
            .authenticate(&h.key, SOURCE, "lena", right(), &otp)
            .await
            .unwrap()
            .expect("a valid key"),
        Decision::Reject,
        "the right password waits too"
    );
    // After the maximum delay the owner gets in, and the count starts over.
    h.clock.advance(max);
    let otp = totp.generate(h.clock.now());
    assert_eq!(
        h.latchkey
            .authenticate(&h.key, SOURCE, "lena", right(), &otp)
            .await
            .unwrap()
            .expect("a valid key"),
        Decision::Accept
    );
    let user = h
        .store
        .user_by_name(&"lena".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (user.password_failures, user.password_blocked_until),
        (0, 0)
    );
    let denied = audit_actions(&h)
        .await
        .into_iter()
        .filter(|(a, _, o)| a == "password.verify" && o.starts_with("denied"))
        .count();
    assert!(denied > 0, "throttled attempts are audited");
}

mod collisions {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_a_fresh_code_equal_to_a_spent_one_is_accepted() {
        super::fresh_code_equal_to_a_spent_one(false).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_a_fresh_code_equal_to_a_spent_one_is_accepted() {
        super::fresh_code_equal_to_a_spent_one(true).await
    }
}

/// Six digits collide now and then: counter j may show the same code as a
/// spent counter i just before it. The fresh match must win over the replay.
async fn fresh_code_equal_to_a_spent_one(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    h.latchkey
        .add_user(&h.admin, "mia", None, Role::User, None)
        .await
        .unwrap();
    let issued = h
        .latchkey
        .issue_token(&h.admin, "mia", TokenKind::Hotp)
        .await
        .unwrap();
    let hotp = latchkey_core::oath::KeyUri::parse(&issued.otpauth_uri.unwrap())
        .unwrap()
        .hotp()
        .unwrap();
    // Find i < j <= i + 10 with equal codes (about one pair per 100,000 counters).
    let mut recent: std::collections::VecDeque<(u64, u64)> = std::collections::VecDeque::new();
    let (spent, fresh) = (0..5_000_000u64)
        .find_map(|c| {
            let value = hotp.value(c);
            let found = recent
                .iter()
                .find(|(_, v)| *v == value)
                .map(|(i, _)| (*i, c));
            recent.push_back((c, value));
            if recent.len() > 10 {
                recent.pop_front();
            }
            found
        })
        .expect("a colliding pair within five million counters");
    let token = h
        .store
        .token_by_serial(issued.serial.digits())
        .await
        .unwrap()
        .unwrap();
    let event = AuditEvent {
        at: T0 as i64,
        actor: "test".into(),
        action: "token.resync".into(),
        subject: token.serial.clone(),
        source: "test".into(),
        outcome: "success".into(),
        detail: String::new(),
    };
    assert!(
        h.store
            .resync_counter(token.id, spent as i64, event)
            .await
            .unwrap()
    );
    assert_eq!(hotp.generate(spent), hotp.generate(fresh));
    assert!(
        otp_ok(&h, "mia", &hotp.generate(fresh)).await,
        "counter {fresh} is fresh although {spent} showed the same code"
    );
    assert_eq!(
        h.latchkey
            .show_token(&h.admin, issued.serial.digits())
            .await
            .unwrap()
            .last_used,
        fresh as i64
    );
}

mod portal {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_sessions_advance_rotate_and_expire() {
        super::portal_sessions(false).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_sessions_advance_rotate_and_expire() {
        super::portal_sessions(true).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_one_challenge_until_answered_even_under_races() {
        super::portal_challenge(false).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_one_challenge_until_answered_even_under_races() {
        super::portal_challenge(true).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_reset_links_are_single_use_expire_and_are_rate_limited() {
        super::portal_reset_links(false).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_reset_links_are_single_use_expire_and_are_rate_limited() {
        super::portal_reset_links(true).await
    }
}

const RIGHT_PASSWORD: &str = "correct horse battery";

async fn full_session(h: &Harness, name: &str, totp: &Totp) -> (SessionId, FullSession) {
    let id = h
        .latchkey
        .portal_sign_in(name, Zeroizing::new(RIGHT_PASSWORD.into()), "127.0.0.1")
        .await
        .unwrap();
    let pending = h
        .latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.stage(), SessionStage::Password);
    let pending = pending.pending().expect("a session at the password step");
    let otp = totp.generate(h.clock.now());
    let full = h
        .latchkey
        .portal_second_factor(&pending, &otp, "127.0.0.1")
        .await
        .unwrap();
    assert!(
        h.latchkey
            .portal_session(id.expose())
            .await
            .unwrap()
            .is_none(),
        "the first factor's id ends when the second factor is in (S35)"
    );
    let session = h
        .latchkey
        .portal_session(full.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.stage(), SessionStage::Full);
    (full, session.full().expect("a full session"))
}

async fn alive(h: &Harness, id: &SessionId) -> bool {
    h.latchkey
        .portal_session(id.expose())
        .await
        .unwrap()
        .is_some()
}

async fn portal_sessions(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "olga").await;
    let refused = h
        .latchkey
        .portal_sign_in("olga", Zeroizing::new("wrong password".into()), "127.0.0.1")
        .await;
    assert!(matches!(refused, Err(PortalError::SignInRefused)));
    let unknown = h
        .latchkey
        .portal_sign_in("nobody", Zeroizing::new(RIGHT_PASSWORD.into()), "127.0.0.1")
        .await;
    assert!(matches!(unknown, Err(PortalError::SignInRefused)));

    let (id, session) = full_session(&h, "olga", &totp).await;
    // Activity keeps a session; 30 idle minutes end it.
    h.clock.advance(25 * 60);
    assert!(alive(&h, &id).await);
    h.clock.advance(25 * 60);
    assert!(alive(&h, &id).await);
    h.clock.advance(31 * 60);
    assert!(!alive(&h, &id).await);
    // Twelve hours end it however busy it is.
    h.clock.advance(60);
    let (id, _) = full_session(&h, "olga", &totp).await;
    for _ in 0..=(12 * 60 / 20) {
        h.clock.advance(20 * 60);
        if !alive(&h, &id).await {
            break;
        }
    }
    assert!(!alive(&h, &id).await);
    // Signing out, and disabling the user, end it too.
    h.clock.advance(60);
    let (id, session_now) = full_session(&h, "olga", &totp).await;
    h.latchkey
        .portal_sign_out(&session_now, "127.0.0.1")
        .await
        .unwrap();
    assert!(!alive(&h, &id).await);
    h.clock.advance(60);
    let (id, _) = full_session(&h, "olga", &totp).await;
    h.latchkey
        .set_user_status(&h.admin, "olga", UserStatus::Disabled)
        .await
        .unwrap();
    assert!(!alive(&h, &id).await);
    // A session with the password only reaches nothing beyond the factors.
    assert_eq!(session.stage(), SessionStage::Full);
    h.latchkey
        .set_user_status(&h.admin, "olga", UserStatus::Active)
        .await
        .unwrap();
    let pending_id = h
        .latchkey
        .portal_sign_in("olga", Zeroizing::new(RIGHT_PASSWORD.into()), "127.0.0.1")
        .await
        .unwrap();
    let pending = h
        .latchkey
        .portal_session(pending_id.expose())
        .await
        .unwrap()
        .unwrap();
    // The password alone reaches no self-service action: the session yields
    // neither the recovery rights (tokens, unlock) nor a full session.
    assert!(pending.recovery().is_none());
    assert!(pending.full().is_none());
    // The pending step expires after five minutes.
    h.clock.advance(5 * 60 + 1);
    assert!(!alive(&h, &pending_id).await);
    let actions: Vec<String> = audit_actions(&h).await.into_iter().map(|a| a.0).collect();
    assert!(actions.iter().any(|a| a == "portal.sign-in"));
    assert!(actions.iter().any(|a| a == "portal.sign-out"));
}

async fn portal_challenge(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let (_, totp, _) = user_with_token(&h, "pia").await;
    let (_, session) = full_session(&h, "pia", &totp).await;
    assert!(h.latchkey.portal_needs_answers(&session).await.unwrap());
    let pool = h.latchkey.portal_question_pool().await.unwrap();
    assert!(
        pool.len() >= 5,
        "a fresh install offers a pool of questions"
    );
    let choices: Vec<(String, Zeroizing<String>)> = pool[..5]
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.to_string(), Zeroizing::new(format!("Almería {i}"))))
        .collect();
    h.latchkey
        .portal_set_answers(&session, choices, "127.0.0.1")
        .await
        .unwrap();
    assert!(!h.latchkey.portal_needs_answers(&session).await.unwrap());
    // Only hashes are stored.
    let user = session.user().clone();
    let answers = h.store.answers_of(user.id).await.unwrap();
    assert_eq!(answers.len(), 5);
    assert!(answers.iter().all(|a| !a.answer_hash.contains("Almer")));

    // Eight challenges at once on a fresh account: all see the same two.
    h.clock.advance(60);
    let pending_id = h
        .latchkey
        .portal_sign_in("pia", Zeroizing::new(RIGHT_PASSWORD.into()), "127.0.0.1")
        .await
        .unwrap();
    let pending = h
        .latchkey
        .portal_session(pending_id.expose())
        .await
        .unwrap()
        .unwrap()
        .pending()
        .expect("a session at the password step");
    let mut racing = Vec::new();
    for _ in 0..8 {
        let latchkey = h.latchkey.clone();
        let pending = pending.clone();
        racing.push(tokio::spawn(async move {
            latchkey.portal_challenge(&pending).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for task in racing {
        seen.push(task.await.unwrap());
    }
    assert!(
        seen.iter().all(|q| *q == seen[0]),
        "one challenge at a time"
    );
    assert_eq!(seen[0].len(), 2);
    // Wrong answers: refused, counted, and the same questions again.
    let wrong = vec![
        Zeroizing::new("x".to_owned()),
        Zeroizing::new("y".to_owned()),
    ];
    let refused = h
        .latchkey
        .portal_answer_challenge(&pending, wrong, "127.0.0.1")
        .await;
    assert!(matches!(refused, Err(PortalError::AnswersRefused)));
    assert_eq!(
        h.latchkey.portal_challenge(&pending).await.unwrap(),
        seen[0]
    );
    let failures = h
        .store
        .user_by_id(user.id)
        .await
        .unwrap()
        .unwrap()
        .password_failures;
    assert_eq!(failures, 1);
    // The right answers, typed otherwise, open a recovery session.
    let right: Vec<Zeroizing<String>> = seen[0]
        .iter()
        .map(|q| {
            let i = pool[..5].iter().position(|p| p.id == q.id).unwrap();
            Zeroizing::new(format!("  ALMERI\u{301}A  {i}."))
        })
        .collect();
    let recovery_id = h
        .latchkey
        .portal_answer_challenge(&pending, right, "127.0.0.1")
        .await
        .unwrap();
    let recovery = h
        .latchkey
        .portal_session(recovery_id.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recovery.stage(), SessionStage::Recovery);
    assert!(
        h.latchkey
            .portal_session(pending_id.expose())
            .await
            .unwrap()
            .is_none()
    );
    // A recovery session cannot change the answers or enrol a token (S28).
    // Both take a full session, which a recovery session does not yield.
    assert!(recovery.full().is_none());
    assert!(recovery.recovery().is_some(), "the recovery actions it has");
    let after = h.store.answers_of(user.id).await.unwrap();
    assert!(
        after.iter().all(|a| !a.asked),
        "answered: the marks are gone"
    );
}

async fn portal_reset_links(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    h.latchkey
        .add_user(
            &h.admin,
            "quinn",
            Some("quinn@example.org".into()),
            Role::User,
            Some(Zeroizing::new(RIGHT_PASSWORD.into())),
        )
        .await
        .unwrap();
    let base = "https://portal.example.org";
    let mut links = Vec::new();
    for _ in 0..4 {
        if let Some(mail) = h
            .latchkey
            .portal_request_reset("quinn", base, "127.0.0.1")
            .await
            .unwrap()
        {
            assert_eq!(mail.to, "quinn@example.org");
            let start = mail.body.find("/password/reset/").unwrap() + "/password/reset/".len();
            let token: String = mail.body[start..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            assert!(
                mail.body
                    .contains(&format!("{base}/password/reset/{token}"))
            );
            links.push(token);
        }
    }
    assert_eq!(links.len(), 3, "three links per account per hour");
    assert!(
        h.latchkey
            .portal_request_reset("nobody", base, "127.0.0.1")
            .await
            .unwrap()
            .is_none()
    );
    let new = || Zeroizing::new("the new passphrase".to_owned());
    // A typo does not spend the link.
    let typo = h
        .latchkey
        .portal_reset_password(
            &links[0],
            new(),
            Zeroizing::new("other".into()),
            "127.0.0.1",
        )
        .await;
    assert!(matches!(typo, Err(PortalError::Field { .. })));
    assert!(h.latchkey.portal_reset_link_works(&links[0]).await.unwrap());
    h.latchkey
        .portal_reset_password(&links[0], new(), new(), "127.0.0.1")
        .await
        .unwrap();
    let reuse = h
        .latchkey
        .portal_reset_password(&links[0], new(), new(), "127.0.0.1")
        .await;
    assert!(matches!(reuse, Err(PortalError::LinkInvalid)), "single use");
    h.clock.advance(3601);
    assert!(!h.latchkey.portal_reset_link_works(&links[1]).await.unwrap());
    let expired = h
        .latchkey
        .portal_reset_password(&links[1], new(), new(), "127.0.0.1")
        .await;
    assert!(matches!(expired, Err(PortalError::LinkInvalid)), "expired");
    // An hour later the rate limit has room again.
    assert!(
        h.latchkey
            .portal_request_reset("quinn", base, "127.0.0.1")
            .await
            .unwrap()
            .is_some()
    );
}

/// The `detail` of every audit row after the first `rows_before`, in order.
async fn audit_details_after(store: &impl AuditLog, rows_before: usize) -> Vec<String> {
    store
        .audit_rows(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .skip(rows_before)
        .map(|row| row.event.detail)
        .collect()
}

fn event_for(action: &str, subject: &str, detail: &str) -> AuditEvent {
    AuditEvent {
        at: T0 as i64,
        actor: "test".into(),
        action: action.into(),
        subject: subject.into(),
        source: "test".into(),
        outcome: "success".into(),
        detail: detail.into(),
    }
}

/// `check_user_otp` hands the judge what `user_by_name` and
/// `tokens_of_user` give (that user's tokens only, in id order), records
/// its steps in order with their audit rows, records an acceptance's `lost`
/// step when the acceptance no longer applies, and records nothing when the
/// judge fails.
async fn an_otp_check_reads_judges_and_records_in_one_step(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    for name in ["nell", "omar", "pia"] {
        h.latchkey
            .add_user(&h.admin, name, None, Role::User, None)
            .await
            .unwrap();
    }
    for (name, kind) in [
        ("nell", TokenKind::Hotp),
        ("omar", TokenKind::Totp),
        ("nell", TokenKind::Latchkey),
        ("nell", TokenKind::Totp),
    ] {
        h.latchkey.issue_token(&h.admin, name, kind).await.unwrap();
    }
    let store = &h.store;
    // What the judge is handed, as (user name, [(token id, serial, user id, last used)]).
    type Seen = (Option<String>, Vec<(i64, String, i64, i64)>);
    let seen = |user: Option<&User>, tokens: &[Token]| -> Seen {
        (
            user.map(|u| u.username.to_string()),
            tokens
                .iter()
                .map(|t| (t.id, t.serial.clone(), t.user_id, t.last_used))
                .collect(),
        )
    };
    for name in ["nell", "omar", "pia", "nobody"] {
        let username: Username = name.parse().unwrap();
        let expected: Seen = match store.user_by_name(&username).await.unwrap() {
            Some(user) => {
                let tokens = store.tokens_of_user(user.id).await.unwrap();
                seen(Some(&user), &tokens)
            }
            None => (None, Vec::new()),
        };
        let (tell, told) = std::sync::mpsc::channel();
        let accepted = store
            .check_user_otp(None, &username, move |key, user, tokens| {
                assert!(key.is_none(), "no key asked for, none handed");
                tell.send(seen(user, tokens)).unwrap();
                Ok::<_, ()>(Vec::new())
            })
            .await
            .unwrap();
        assert_eq!(accepted, Ok(false), "no steps, no acceptance");
        assert_eq!(told.recv().unwrap(), expected, "{name}");
    }
    let nell = store
        .user_by_name(&"nell".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let tokens = store.tokens_of_user(nell.id).await.unwrap();
    assert_eq!(tokens.len(), 3);
    // The HOTP and the TOTP token are active; the Latchkey one waits for activation.
    let (first, second) = (tokens[2].id, tokens[0].id);
    let rows_before = store.audit_rows(0, 100_000).await.unwrap().len();
    let accept = move |used: i64, detail: &str| OtpStep::Accept {
        token_id: second,
        used,
        drift: 0,
        event: event_for("otp.verify", "second", detail),
        lost: Box::new(OtpStep::Record(event_for("otp.verify", "second", "lost"))),
    };
    let steps = vec![
        OtpStep::Record(event_for("otp.verify", "first", "recorded")),
        OtpStep::Fail {
            token_id: first,
            limit: 10,
            event: event_for("otp.verify", "first", "failed"),
            lock_event: event_for("token.lock", "first", "never: one failure of ten"),
        },
        accept(7, "accepted"),
        OtpStep::Record(event_for(
            "otp.verify",
            "second",
            "after the acceptance: dropped",
        )),
    ];
    let name: Username = "nell".parse().unwrap();
    assert_eq!(
        store
            .check_user_otp(None, &name, move |_, _, _| Ok::<_, ()>(steps))
            .await
            .unwrap(),
        Ok(true)
    );
    let again = vec![accept(7, "again")];
    assert_eq!(
        store
            .check_user_otp(None, &name, move |_, _, _| Ok::<_, ()>(again))
            .await
            .unwrap(),
        Ok(false),
        "counter 7 is spent"
    );
    assert_eq!(
        store
            .check_user_otp(None, &name, |_, _, _| {
                Err::<Vec<OtpStep>, _>("the judge failed")
            })
            .await
            .unwrap(),
        Err("the judge failed")
    );
    let details = audit_details_after(store, rows_before).await;
    assert_eq!(details, ["recorded", "failed", "accepted", "lost"]);
    let tokens = store.tokens_of_user(nell.id).await.unwrap();
    assert_eq!((tokens[2].failures, tokens[2].locked), (1, false));
    assert_eq!((tokens[0].last_used, tokens[0].failures), (7, 0));
    assert!(h.latchkey.verify_audit().await.unwrap().is_ok());
}

/// Many OTP checks at once, for many users (both backends take the checks
/// waiting at one moment into one transaction): each gets its own answer —
/// the one acceptance of its counter, a lost race, or its judge's refusal,
/// which records nothing and spoils no other check — and exactly its own
/// audit rows, and the chain verifies.
async fn many_otp_checks_at_once_each_get_their_own_answer(postgres: bool) {
    const USERS: usize = 12;
    const ROUNDS: usize = 5;
    let h = harness(postgres, Policy::default()).await;
    for user in 0..USERS {
        let name = format!("many{user:02}");
        h.latchkey
            .add_user(&h.admin, &name, None, Role::User, None)
            .await
            .unwrap();
        h.latchkey
            .issue_token(&h.admin, &name, TokenKind::Hotp)
            .await
            .unwrap();
    }
    let refuses = |user: usize, round: usize| (user + round).is_multiple_of(4);
    let rows_before = h.store.audit_rows(0, 100_000).await.unwrap().len();
    let checks: Vec<_> = (0..ROUNDS)
        .flat_map(|round| (0..USERS).map(move |user| (round, user)))
        .map(|(round, user)| {
            let store = h.store.clone();
            tokio::spawn(async move {
                let name: Username = format!("many{user:02}").parse().unwrap();
                let subject = name.to_string();
                let answer = store
                    .check_user_otp(None, &name, move |_, found, tokens| {
                        assert_eq!(found.unwrap().username.as_str(), subject);
                        if refuses(user, round) {
                            return Err(user);
                        }
                        Ok(vec![OtpStep::Accept {
                            token_id: tokens[0].id,
                            used: 1,
                            drift: 0,
                            event: event_for("otp.verify", &subject, "accepted"),
                            lost: Box::new(OtpStep::Record(event_for(
                                "otp.verify",
                                &subject,
                                "lost",
                            ))),
                        }])
                    })
                    .await
                    .unwrap();
                (user, round, answer)
            })
        })
        .collect();
    let mut accepted = [0; USERS];
    for check in checks {
        let (user, round, answer) = check.await.unwrap();
        match answer {
            Ok(true) => accepted[user] += 1,
            Ok(false) => assert!(!refuses(user, round)),
            Err(refused) => {
                assert!(refuses(user, round));
                assert_eq!(refused, user, "each refusal reaches its own caller");
            }
        }
    }
    assert_eq!(
        accepted, [1; USERS],
        "counter 1 of each token, accepted once"
    );
    let rows: Vec<AuditRow> = h
        .store
        .audit_rows(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .skip(rows_before)
        .collect();
    for user in 0..USERS {
        let subject = format!("many{user:02}");
        let judged = (0..ROUNDS).filter(|&round| !refuses(user, round)).count();
        let count = |detail: &str| {
            rows.iter()
                .filter(|r| r.event.subject == subject && r.event.detail == detail)
                .count()
        };
        assert_eq!(count("accepted"), 1, "{subject}");
        assert_eq!(count("lost"), judged - 1, "{subject}");
    }
    assert_eq!(
        rows.len(),
        (0..USERS)
            .map(|user| (0..ROUNDS).filter(|&round| !refuses(user, round)).count())
            .sum::<usize>()
    );
    assert!(h.latchkey.verify_audit().await.unwrap().is_ok());
}

/// Retiring a question: the store marks it inactive once (a second retire,
/// or an unknown id, changes nothing and records nothing); the domain keeps
/// it out of the choice and refuses to leave fewer active questions than a
/// user must choose.
async fn a_retired_question_leaves_the_choice_once_and_audited(postgres: bool) {
    let h = harness(postgres, Policy::default()).await;
    let store = &h.store;
    let id = h
        .latchkey
        .add_question(&h.admin, "Which was the first concert you went to?")
        .await
        .unwrap();
    let rows_before = store.audit_rows(0, 100_000).await.unwrap().len();
    assert!(
        store
            .retire_question(id, event_for("questions.retire", "q", "first"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .retire_question(id, event_for("questions.retire", "q", "again"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .retire_question(999_999, event_for("questions.retire", "q", "none"))
            .await
            .unwrap()
    );
    let details = audit_details_after(store, rows_before).await;
    assert_eq!(details, ["first"]);
    let question = store
        .questions()
        .await
        .unwrap()
        .into_iter()
        .find(|q| q.id == id)
        .unwrap();
    assert!(!question.active);
    assert!(
        !h.latchkey
            .portal_question_pool()
            .await
            .unwrap()
            .iter()
            .any(|q| q.id == id),
        "not offered"
    );
    assert!(matches!(
        h.latchkey.retire_question(&h.admin, id).await,
        Err(AdminError::QuestionRetired(_))
    ));
    assert!(matches!(
        h.latchkey.retire_question(&h.admin, 999_999).await,
        Err(AdminError::NoSuchQuestion(999_999))
    ));
    let active: Vec<i64> = store
        .questions()
        .await
        .unwrap()
        .iter()
        .filter(|q| q.active)
        .map(|q| q.id)
        .collect();
    let wanted = 5;
    for other in &active[..active.len() - wanted] {
        h.latchkey.retire_question(&h.admin, *other).await.unwrap();
    }
    assert!(matches!(
        h.latchkey
            .retire_question(&h.admin, active[active.len() - 1])
            .await,
        Err(AdminError::PoolTooSmall(_))
    ));
    assert_eq!(
        h.latchkey.portal_question_pool().await.unwrap().len(),
        wanted
    );
    assert!(h.latchkey.verify_audit().await.unwrap().is_ok());
}
