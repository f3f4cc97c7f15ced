//! The domain's rules, tested on the in-memory fake of the store ports
//! (`latchkey-testkit`): no SQL, no HTTP, and a clock the tests move.
//! The numbers (S04, S16, …) are SECURITY.md's.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::model::{AuditAction, Outcome};
use latchkey_core::import::{ImportRequest, prepare_account};
use latchkey_core::oath::{Algorithm, Digits, ResetCode, Serial, Totp, UnlockSecret, unlock_code};
use latchkey_core::*;
use latchkey_testkit::{MemoryStore, T0, TestCipher, memory_app_on};
use zeroize::Zeroizing;

const SOURCE: &str = "127.0.0.1";
const PASSWORD: &str = "correct horse battery";

/// The RFC 4226 Appendix D seed, "12345678901234567890", in base32.
const RFC_SEED_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// The domain on a store the test keeps a handle to, with the API key of
/// the relying application that calls `authenticate`.
struct App {
    latchkey: Latchkey<MemoryStore>,
    store: MemoryStore,
    admin: Admin,
    clock: ManualClock,
    key: String,
}

async fn app_at(now: u64, policy: Policy) -> App {
    let store = MemoryStore::new();
    let clock = ManualClock::at(now);
    let (latchkey, admin) = memory_app_on(store.clone(), clock.clone(), policy);
    let key = latchkey
        .create_api_key(&admin, "relying-app", ApiRole::Authenticate)
        .await
        .expect("an API key");
    App {
        latchkey,
        store,
        admin,
        clock,
        key: key.to_string(),
    }
}

async fn app(policy: Policy) -> App {
    app_at(T0, policy).await
}

impl App {
    /// A user with a password and an activated Latchkey soft token; the
    /// token's serial, its TOTP and its unlock secret.
    async fn user_with_soft_token(&self, name: &str) -> (Serial, Totp, UnlockSecret) {
        self.user_with_soft_token_as(name, Role::User).await
    }

    /// The same for a user of `role`.
    async fn user_with_soft_token_as(
        &self,
        name: &str,
        role: Role,
    ) -> (Serial, Totp, UnlockSecret) {
        self.latchkey
            .add_user(
                &self.admin,
                name,
                Some(format!("{name}@example.invalid")),
                role,
                Some(Zeroizing::new(PASSWORD.into())),
            )
            .await
            .unwrap();
        let issued = self
            .latchkey
            .issue_token(&self.admin, name, TokenKind::Latchkey)
            .await
            .unwrap();
        let code = issued.activation_code.unwrap();
        let grant = self
            .latchkey
            .activate(issued.serial.digits(), code.digits(), SOURCE)
            .await
            .unwrap();
        let totp = Totp::new(grant.secret.clone(), Algorithm::Sha256, Digits::EIGHT, 30).unwrap();
        let unlock = grant
            .unlock_secret
            .expect("Latchkey tokens carry an unlock secret");
        (issued.serial, totp, unlock)
    }

    /// A user with no password whose token is the key URI `uri` (the RFC
    /// seed), put in below the domain as the importer does; its serial.
    async fn user_with_imported_token(&self, name: &str, uri: &str) -> String {
        let now = self.clock.now() as i64;
        let request = ImportRequest {
            username: name.into(),
            otpauth_uri: uri.into(),
            ..ImportRequest::default()
        };
        let account = prepare_account(&TestCipher::default(), request, now).unwrap();
        let event = |action: AuditAction| AuditEvent {
            at: now,
            actor: "cli".into(),
            action,
            subject: name.into(),
            source: "cli".into(),
            outcome: Outcome::Success,
            detail: String::new(),
        };
        let user_id = self
            .store
            .insert_user(account.user, event(AuditAction::UserImport))
            .await
            .unwrap();
        let mut token = account.token;
        token.user_id = user_id;
        let serial = token.serial.to_string();
        self.store
            .insert_token(token, event(AuditAction::TokenImport))
            .await
            .unwrap();
        serial
    }

    async fn authenticate(&self, name: &str, password: Option<&str>, otp: &str) -> Decision {
        self.latchkey
            .authenticate(
                &self.key,
                SOURCE,
                name,
                password.map(|p| Zeroizing::new(p.to_owned())),
                otp,
            )
            .await
            .unwrap()
            .expect("a valid key")
    }

    async fn user(&self, name: &str) -> User {
        self.store
            .user_by_name(&name.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
    }

    async fn token(&self, serial: &str) -> Token {
        self.latchkey.show_token(&self.admin, serial).await.unwrap()
    }

    /// (action, subject, outcome, detail) of every audit event.
    fn audit(&self) -> Vec<(String, String, String, String)> {
        self.store
            .audit_events()
            .into_iter()
            .map(|e| {
                (
                    e.action.to_string(),
                    e.subject,
                    e.outcome.to_string(),
                    e.detail,
                )
            })
            .collect()
    }

    fn count_audit(&self, action: &str, outcome: &str) -> usize {
        self.audit()
            .iter()
            .filter(|(a, _, o, _)| a == action && o == outcome)
            .count()
    }

    async fn chain_verifies(&self) {
        let rows = self.latchkey.verify_audit().await.unwrap();
        assert_eq!(rows, Ok(self.store.audit_events().len() as u64));
    }
}

/// An 8-digit code that no step in the window around `now` shows.
fn wrong_code(totp: &Totp, now: u64) -> String {
    (0..)
        .map(|n: u32| format!("{:08}", n * 1_111_111 % 100_000_000))
        .find(|code| (0..=4).all(|step| totp.generate(now + step * 30 - 60) != *code))
        .unwrap()
}

mod directory;
mod lockout;
mod recovery;
mod replay;
mod security;
mod throttle;
mod unlock;
