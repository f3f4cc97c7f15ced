//! The OpenAPI document the server serves, checked against the wire types
//! it describes.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The OpenAPI document cannot drift from the wire types: every schema it
/// names is one of `latchkey_api`'s types, its `properties` are the keys a
/// sample with every optional field set writes, its `required` the keys a
/// sample with none set writes, and its enums are the wire enums' names.
#[test]
fn the_openapi_document_describes_what_the_wire_types_write() {
    use latchkey_api as wire;
    use latchkey_oath::{
        ActivationCode, Algorithm, Digits, Secret, Serial, UnlockCode, UnlockSecret,
    };
    use serde_json::Value;
    use std::collections::BTreeSet;
    use zeroize::Zeroizing;

    fn value(typed: impl serde::Serialize) -> Value {
        serde_json::to_value(typed).unwrap()
    }
    fn secret(text: &str) -> Zeroizing<String> {
        Zeroizing::new(text.into())
    }
    let serial: Serial = "1234567897".parse().unwrap();
    let activation = |unlock: Option<UnlockSecret>| wire::ActivateResponse {
        issuer: Some("Example Corp".into()),
        label: "alice".into(),
        otp: wire::OtpDescription::totp(Algorithm::Sha256, Digits::EIGHT, 30),
        policy: wire::TokenPolicy {
            max_pin_failures: 5,
            min_pin_length: 6,
            unlock_slots: 10,
        },
        secret: Secret::generate(32),
        serial: serial.clone(),
        unlock_secret: unlock,
    };
    let otp = |counter, period| wire::OtpDescription {
        algorithm: Algorithm::Sha1,
        counter,
        digits: Digits::SIX,
        kind: wire::OtpKind::Hotp,
        period,
    };
    let user = |email| wire::UserView {
        created_at: 1,
        email,
        role: wire::Role::User,
        status: wire::UserStatus::Active,
        username: "alice".into(),
    };
    let token = |user| wire::TokenView {
        algorithm: "SHA256".into(),
        created_at: 1,
        digits: 8,
        failures: 0,
        kind: wire::TokenKind::Latchkey,
        locked: false,
        period: 30,
        serial: serial.digits().into(),
        state: wire::TokenState::Active,
        user,
    };
    let issued = |code: Option<ActivationCode>, uri: Option<&str>| wire::IssuedToken {
        activation_code: code,
        otpauth_uri: uri.map(secret),
        serial: serial.clone(),
    };
    let verification = |rows, error: Option<&str>| wire::AuditVerification {
        error: error.map(str::to_owned),
        intact: true,
        rows,
    };
    let policy = wire::TokenPolicy {
        max_pin_failures: 5,
        min_pin_length: 6,
        unlock_slots: 10,
    };
    let api_key = wire::ApiKeyView {
        created_at: 1,
        name: "vpn".into(),
        prefix: "lk_x".into(),
        revoked: false,
        role: wire::ApiKeyRole::Admin,
    };
    let created_key = || wire::CreatedApiKey {
        key: secret("lk_x.y"),
        name: "vpn".into(),
        role: wire::ApiKeyRole::Authenticate,
    };
    let audit_row = wire::AuditRowView {
        action: "otp.accept".into(),
        actor: "api:vpn".into(),
        at: 1,
        detail: String::new(),
        hash: "00".repeat(32),
        id: 1,
        outcome: "success".into(),
        source: "127.0.0.1".into(),
        subject: "alice".into(),
    };
    let question = wire::QuestionView {
        active: true,
        id: 1,
        text: "Your first pet?".into(),
    };
    let done = wire::TokenActionDone {
        done: wire::TokenAction::Reset,
        serial: serial.digits().into(),
    };
    // schema name → (every optional field set, none set)
    let samples: Vec<(&str, Value, Value)> = vec![
        (
            "Error",
            value(wire::ErrorBody::new("no")),
            value(wire::ErrorBody::new("no")),
        ),
        (
            "Activate",
            value(wire::ActivateRequest {
                activation_code: secret("1234567890123452"),
                serial: "1234567897".into(),
            }),
            value(wire::ActivateRequest {
                activation_code: secret("1234567890123452"),
                serial: "1234567897".into(),
            }),
        ),
        (
            "ActivateResult",
            value(activation(Some(UnlockSecret::generate()))),
            value(activation(None)),
        ),
        (
            "OtpDescription",
            value(otp(Some(0), Some(30))),
            value(otp(None, None)),
        ),
        ("TokenPolicy", value(policy), value(policy)),
        (
            "Refresh",
            value(wire::RefreshRequest {
                otp: secret("12345678"),
                serial: "1234567897".into(),
            }),
            value(wire::RefreshRequest {
                otp: secret("12345678"),
                serial: "1234567897".into(),
            }),
        ),
        (
            "RefreshResult",
            value(wire::RefreshResponse {
                generation: 1,
                unlock_secret: UnlockSecret::generate(),
            }),
            value(wire::RefreshResponse {
                generation: 1,
                unlock_secret: UnlockSecret::generate(),
            }),
        ),
        (
            "Authenticate",
            value(wire::AuthenticateRequest {
                otp: secret("123456"),
                password: Some(secret("pw")),
                username: "alice".into(),
                client_address: Some("203.0.113.7".into()),
            }),
            value(wire::AuthenticateRequest {
                otp: secret("123456"),
                password: None,
                username: "alice".into(),
                client_address: None,
            }),
        ),
        (
            "AuthenticateResult",
            value(wire::AuthenticateResponse {
                result: wire::AuthResult::Accept,
            }),
            value(wire::AuthenticateResponse {
                result: wire::AuthResult::Reject,
            }),
        ),
        (
            "AddUser",
            value(wire::AddUserRequest {
                email: Some("a@example.org".into()),
                password: Some(secret("pw")),
                role: Some("admin".into()),
                username: "alice".into(),
            }),
            value(wire::AddUserRequest {
                email: None,
                password: None,
                role: None,
                username: "alice".into(),
            }),
        ),
        (
            "User",
            value(user(Some("a@example.org".into()))),
            value(user(None)),
        ),
        (
            "IssueToken",
            value(wire::IssueTokenRequest {
                kind: Some("hotp".into()),
                username: "alice".into(),
            }),
            value(wire::IssueTokenRequest {
                kind: None,
                username: "alice".into(),
            }),
        ),
        (
            "AssignToken",
            value(wire::AssignTokenRequest {
                user: "alice".into(),
            }),
            value(wire::AssignTokenRequest {
                user: "alice".into(),
            }),
        ),
        (
            "IssuedToken",
            value(issued(
                Some(ActivationCode::generate()),
                Some("otpauth://totp/x"),
            )),
            value(issued(None, None)),
        ),
        (
            "Token",
            value(token(Some("alice".into()))),
            value(token(None)),
        ),
        (
            "TokenAction",
            value(wire::TokenActionRequest {
                reset_code: Some(secret("123456789012")),
                otp1: Some(secret("755224")),
                otp2: Some(secret("287082")),
            }),
            value(wire::TokenActionRequest::default()),
        ),
        ("TokenActionDone", value(done.clone()), value(done)),
        (
            "UnlockCodeIssued",
            value(wire::UnlockCodeIssued {
                unlock_code: UnlockCode::generate(),
            }),
            value(wire::UnlockCodeIssued {
                unlock_code: UnlockCode::generate(),
            }),
        ),
        (
            "CreateApiKey",
            value(wire::CreateApiKeyRequest {
                name: "vpn".into(),
                role: Some("admin".into()),
            }),
            value(wire::CreateApiKeyRequest {
                name: "vpn".into(),
                role: None,
            }),
        ),
        ("ApiKey", value(api_key.clone()), value(api_key)),
        ("CreatedApiKey", value(created_key()), value(created_key())),
        (
            "AddQuestion",
            value(wire::AddQuestionRequest {
                text: "Your first pet?".into(),
            }),
            value(wire::AddQuestionRequest {
                text: "Your first pet?".into(),
            }),
        ),
        ("Question", value(question.clone()), value(question)),
        (
            "QuestionCreated",
            value(wire::QuestionCreated { id: 1 }),
            value(wire::QuestionCreated { id: 1 }),
        ),
        ("AuditRow", value(audit_row.clone()), value(audit_row)),
        (
            "AuditVerification",
            value(verification(Some(3), Some("row 3"))),
            value(verification(None, None)),
        ),
    ];

    let document: Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let keys = |object: &Value| -> BTreeSet<String> {
        object.as_object().unwrap().keys().cloned().collect()
    };
    let sampled: BTreeSet<String> = samples.iter().map(|(n, _, _)| (*n).to_owned()).collect();
    let documented: BTreeSet<String> = schemas.keys().cloned().collect();
    assert_eq!(
        documented, sampled,
        "every schema in openapi.json has a wire type sampled here, and every sample a schema"
    );
    for (name, full, minimal) in &samples {
        let schema = &schemas[*name];
        assert_eq!(
            keys(&schema["properties"]),
            keys(full),
            "{name}: the documented properties are the fields the wire type writes"
        );
        let required: BTreeSet<String> = schema["required"]
            .as_array()
            .map(|r| r.iter().map(|k| k.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        assert_eq!(
            required,
            keys(minimal),
            "{name}: the documented required fields are those the wire type always writes"
        );
    }

    // The documented choices are the wire enums' names.
    fn names<T: serde::Serialize>(all: &[T]) -> Vec<Value> {
        all.iter()
            .map(|v| serde_json::to_value(v).unwrap())
            .collect()
    }
    let enums: Vec<(&str, &str, Vec<Value>)> = vec![
        ("AddUser", "role", names(wire::Role::ALL)),
        ("User", "role", names(wire::Role::ALL)),
        ("User", "status", names(wire::UserStatus::ALL)),
        ("IssueToken", "kind", names(wire::TokenKind::ALL)),
        ("Token", "kind", names(wire::TokenKind::ALL)),
        ("Token", "state", names(wire::TokenState::ALL)),
        ("TokenActionDone", "done", names(wire::TokenAction::ALL)),
        ("CreateApiKey", "role", names(wire::ApiKeyRole::ALL)),
        ("ApiKey", "role", names(wire::ApiKeyRole::ALL)),
        ("CreatedApiKey", "role", names(wire::ApiKeyRole::ALL)),
        (
            "AuthenticateResult",
            "result",
            names(&[wire::AuthResult::Accept, wire::AuthResult::Reject]),
        ),
        (
            "OtpDescription",
            "kind",
            names(&[wire::OtpKind::Totp, wire::OtpKind::Hotp]),
        ),
        (
            "OtpDescription",
            "algorithm",
            [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]
                .iter()
                .map(|a| Value::from(a.name()))
                .collect(),
        ),
    ];
    for (schema, field, wire_names) in enums {
        let property = &schemas[schema]["properties"][field];
        // A nullable choice lists null too (OpenAPI 3.0.3): absent.
        let documented: Vec<Value> = property["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| !v.is_null())
            .cloned()
            .collect();
        assert_eq!(
            documented, wire_names,
            "{schema}.{field}: the documented choices are the wire enum's"
        );
        assert_eq!(
            property["enum"].as_array().unwrap().contains(&Value::Null),
            property["nullable"] == true,
            "{schema}.{field}: null is a choice exactly when the field is nullable"
        );
    }

    // Every reference in the document names a schema it has.
    fn references(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner) {
                        ("$ref", Value::String(target)) => out.push(target.clone()),
                        _ => references(inner, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| references(i, out)),
            _ => {}
        }
    }
    let mut targets = Vec::new();
    references(&document, &mut targets);
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target} is a schema reference"));
        assert!(schemas.contains_key(name), "{target} names a schema");
    }
}
