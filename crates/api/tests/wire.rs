//! The wire types write exactly the JSON the server wrote with `json!`
//! before they existed (`serde_json` maps sort their keys), and read back
//! what they wrote.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_api::*;
use latchkey_oath::{
    ActivationCode, Algorithm, Digits, Secret, Serial, UnlockCode, UnlockSecret, base32,
};
use serde_json::json;
use zeroize::Zeroizing;

fn serial() -> Serial {
    "1234567897".parse().unwrap()
}

fn same(typed: &impl serde::Serialize, before: serde_json::Value) {
    assert_eq!(
        serde_json::to_string(typed).unwrap(),
        before.to_string(),
        "the wire type must write what json! wrote"
    );
}

fn activation(kind: OtpKind) -> ActivateResponse {
    let otp = match kind {
        OtpKind::Totp => OtpDescription::totp(Algorithm::Sha256, Digits::EIGHT, 30),
        OtpKind::Hotp => OtpDescription::hotp(Algorithm::Sha1, Digits::SIX, 0),
    };
    ActivateResponse {
        issuer: Some("Example Corp".into()),
        label: "alice".into(),
        otp,
        policy: TokenPolicy {
            max_pin_failures: 5,
            min_pin_length: 6,
            unlock_slots: 10,
        },
        secret: Secret::from_bytes(vec![7u8; 32]),
        serial: serial(),
        unlock_secret: (kind == OtpKind::Totp).then(|| UnlockSecret::from_bytes([0xab; 32])),
    }
}

#[test]
fn activation_answers_are_what_the_server_wrote_before() {
    let secret = base32::encode(&[7u8; 32]);
    same(
        &activation(OtpKind::Totp),
        json!({
            "serial": "1234567897", "label": "alice", "issuer": "Example Corp",
            "otp": {"kind": "totp", "algorithm": "SHA256", "digits": 8, "period": 30},
            "secret": secret, "unlock_secret": "ab".repeat(32),
            "policy": {"max_pin_failures": 5, "min_pin_length": 6, "unlock_slots": 10},
        }),
    );
    same(
        &activation(OtpKind::Hotp),
        json!({
            "serial": "1234567897", "label": "alice", "issuer": "Example Corp",
            "otp": {"kind": "hotp", "algorithm": "SHA1", "digits": 6, "counter": 0},
            "secret": secret, "unlock_secret": null,
            "policy": {"max_pin_failures": 5, "min_pin_length": 6, "unlock_slots": 10},
        }),
    );
}

#[test]
fn an_activation_answer_reads_back_with_its_types() {
    let text = serde_json::to_string(&activation(OtpKind::Totp)).unwrap();
    let read: ActivateResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(read.serial, serial());
    assert_eq!(
        read.otp,
        OtpDescription::totp(Algorithm::Sha256, Digits::EIGHT, 30)
    );
    assert_eq!(read.secret, Secret::from_bytes(vec![7u8; 32]));
    assert_eq!(
        read.unlock_secret,
        Some(UnlockSecret::from_bytes([0xab; 32]))
    );
    assert_eq!(read.issuer.as_deref(), Some("Example Corp"));
}

#[test]
fn an_activation_answer_with_a_bad_value_is_refused_with_its_reason() {
    let good = serde_json::to_value(activation(OtpKind::Totp)).unwrap();
    let refused = |path: &[&str], value: serde_json::Value| {
        let mut bad = good.clone();
        let mut at = &mut bad;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        serde_json::from_value::<ActivateResponse>(bad)
            .err()
            .expect("refused")
            .to_string()
    };
    assert!(refused(&["serial"], json!("1234567890")).contains("check digit"));
    assert!(refused(&["secret"], json!("not base32!")).contains("not base32"));
    assert!(refused(&["unlock_secret"], json!("abcd")).contains("not 32 bytes"));
    assert!(refused(&["otp", "digits"], json!(5)).contains("6 to 10 digits"));
    assert!(refused(&["otp", "algorithm"], json!("MD5")).contains("SHA1, SHA256 or SHA512"));
    assert!(refused(&["otp", "kind"], json!("sms")).contains("unknown variant"));
}

#[test]
fn a_hand_written_otp_description_may_leave_out_period_and_counter() {
    let otp: OtpDescription =
        serde_json::from_str(r#"{"kind":"totp","algorithm":"sha-256","digits":8}"#).unwrap();
    assert_eq!(otp.period, None);
    assert_eq!(otp.algorithm, Algorithm::Sha256);
}

#[test]
fn the_other_token_answers_are_what_the_server_wrote_before() {
    same(
        &RefreshResponse {
            generation: 1,
            unlock_secret: UnlockSecret::from_bytes([0x0f; 32]),
        },
        json!({ "generation": 1, "unlock_secret": "0f".repeat(32) }),
    );
    same(
        &AuthenticateResponse {
            result: AuthResult::Accept,
        },
        json!({"result": "accept"}),
    );
    same(
        &AuthenticateResponse {
            result: AuthResult::Reject,
        },
        json!({"result": "reject"}),
    );
    same(&ErrorBody::new("no"), json!({"error": "no"}));
}

#[test]
fn requests_read_what_clients_send_and_ignore_other_fields() {
    let auth: AuthenticateRequest =
        serde_json::from_str(r#"{"username":"alice","otp":"123456","time":5}"#).unwrap();
    assert_eq!(auth.username, "alice");
    assert!(auth.password.is_none());
    same(
        &AuthenticateRequest {
            otp: Zeroizing::new("123456".into()),
            password: Some(Zeroizing::new("pw".into())),
            username: "alice".into(),
            client_address: Some("192.0.2.7".into()),
        },
        json!({"username": "alice", "password": "pw", "otp": "123456", "client_address": "192.0.2.7"}),
    );
    same(
        &ActivateRequest {
            activation_code: Zeroizing::new("1234567890123452".into()),
            serial: "1234567897".into(),
        },
        json!({ "serial": "1234567897", "activation_code": "1234567890123452" }),
    );
    let query: AuditQuery = serde_json::from_str("{}").unwrap();
    assert_eq!((query.after, query.limit), (0, 100));
}

#[test]
fn admin_resources_are_what_the_server_wrote_before() {
    same(
        &UserView {
            created_at: 1_700_000_000,
            email: None,
            role: Role::Helpdesk,
            status: UserStatus::Disabled,
            username: "bob".into(),
        },
        json!({"username": "bob", "email": null, "role": "helpdesk", "status": "disabled", "created_at": 1_700_000_000}),
    );
    same(
        &TokenView {
            algorithm: "SHA1".into(),
            created_at: 3,
            digits: 6,
            failures: 2,
            kind: TokenKind::Hotp,
            locked: true,
            period: 0,
            serial: "1234567897".into(),
            state: TokenState::Suspended,
            user: None,
        },
        json!({
            "serial": "1234567897", "user": null, "kind": "hotp", "state": "suspended",
            "algorithm": "SHA1", "digits": 6, "period": 0, "failures": 2, "locked": true,
            "created_at": 3,
        }),
    );
    let code: ActivationCode = "1234567890123452".parse().unwrap();
    same(
        &IssuedToken {
            activation_code: Some(code),
            otpauth_uri: None,
            serial: serial(),
        },
        json!({"serial": "1234567897", "activation_code": "1234567890123452"}),
    );
    same(
        &IssuedToken {
            activation_code: None,
            otpauth_uri: Some(Zeroizing::new("otpauth://totp/x".into())),
            serial: serial(),
        },
        json!({"serial": "1234567897", "otpauth_uri": "otpauth://totp/x"}),
    );
    same(
        &ApiKeyView {
            created_at: 9,
            name: "vpn".into(),
            prefix: "lk_ab".into(),
            revoked: false,
            role: ApiKeyRole::Authenticate,
        },
        json!({ "name": "vpn", "prefix": "lk_ab", "role": "authenticate", "revoked": false, "created_at": 9 }),
    );
    same(
        &CreatedApiKey {
            key: Zeroizing::new("lk_ab.cd".into()),
            name: "vpn".into(),
            role: ApiKeyRole::Admin,
        },
        json!({ "name": "vpn", "role": "admin", "key": "lk_ab.cd" }),
    );
    same(
        &AuditRowView {
            action: "otp.accept".into(),
            actor: "api:vpn".into(),
            at: 5,
            detail: String::new(),
            hash: "00".repeat(32),
            id: 1,
            outcome: "success".into(),
            source: "127.0.0.1".into(),
            subject: "alice".into(),
        },
        json!({
            "id": 1, "at": 5, "actor": "api:vpn", "action": "otp.accept", "subject": "alice",
            "source": "127.0.0.1", "outcome": "success", "detail": "", "hash": "00".repeat(32),
        }),
    );
    same(
        &QuestionView {
            active: true,
            id: 4,
            text: "Your first pet?".into(),
        },
        json!({ "id": 4, "text": "Your first pet?", "active": true }),
    );
    same(&QuestionCreated { id: 4 }, json!({ "id": 4 }));
    same(
        &TokenActionDone {
            done: TokenAction::Suspend,
            serial: "12345-67897".into(),
        },
        json!({ "serial": "12345-67897", "done": "suspend" }),
    );
    let unlock = UnlockCode::generate();
    let digits = unlock.digits().to_owned();
    same(
        &UnlockCodeIssued {
            unlock_code: unlock,
        },
        json!({ "unlock_code": digits }),
    );
    same(
        &AuditVerification::intact(12),
        json!({ "intact": true, "rows": 12 }),
    );
    same(
        &AuditVerification::broken("row 3"),
        json!({ "intact": false, "error": "row 3" }),
    );
}

#[test]
fn wire_enums_parse_their_names_and_nothing_else() {
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
    }
    assert_eq!("unlock-code".parse(), Ok(TokenAction::UnlockCode));
    assert_eq!(
        serde_json::to_string(&TokenAction::UnlockCode).unwrap(),
        "\"unlock-code\""
    );
    assert!("Admin".parse::<Role>().is_err());
    assert!("root".parse::<ApiKeyRole>().is_err());
}
