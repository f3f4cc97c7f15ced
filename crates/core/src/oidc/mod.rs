//! The OpenID Connect provider's rules (DESIGN.md, "OpenID Connect
//! provider"): registered clients, the authorization request, codes that
//! are single use for 60 s and bound to client, redirect URI, PKCE S256
//! challenge, nonce and sign-in; opaque access and refresh tokens stored
//! hashed, refresh tokens rotating with a reused one revoking its family;
//! ID tokens signed with keys that live sealed in the database, so every
//! node signs alike. The wire (form fields, JSON, error words, redirects)
//! is the server's.
//!
//! A code is issued only for a [`FullSession`](crate::portal::FullSession)
//! (password and OTP): a recovery session (security questions) cannot be
//! turned into one, so it never yields a code.

mod authorize;
mod clients;
mod jose;
mod keys;
mod logout;
mod store;
mod tokens;

use data_encoding::BASE64URL_NOPAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::capability::Actor;
use crate::context::Latchkey;
use crate::portal::PortalSession;
use crate::ports::Store;

pub use authorize::{
    AuthorizationParams, AuthorizationRequest, AuthorizeError, AuthorizeRefusal, AuthorizeStep,
    IssuedCode,
};
pub use clients::{AddedOidcClient, OidcClientError};
pub use jose::{BadSigningKey, SigningAlgorithm};
pub use keys::OidcKeyError;
pub use logout::{LogoutError, LogoutTarget};
pub use store::{
    CodeUse, HeldAuthorization, NewOidcClient, NewOidcCode, NewOidcGrant, NewOidcKey, NewOidcToken,
    OidcClient, OidcGrant, OidcKey, OidcStore, OidcTokenKind, RefreshUse,
};
pub use tokens::{GrantProblem, TokenError, TokenSet};

/// How long a code may be exchanged, in seconds.
pub const CODE_LIFETIME: i64 = 60;
/// How long an access token works at userinfo, in seconds.
pub const ACCESS_TOKEN_LIFETIME: i64 = 300;
/// How long an ID token is valid, in seconds.
pub const ID_TOKEN_LIFETIME: i64 = 300;
/// How long a refresh token may be used, in seconds (each use gives a new
/// one with a new lifetime).
pub const REFRESH_TOKEN_LIFETIME: i64 = 1800;
/// How long a request waits for its user to sign in, in seconds: long
/// enough for the recovery journey (security questions, unlock, sign in).
pub const REQUEST_LIFETIME: i64 = 1800;
/// How long a rotated key is published before it signs, in seconds, so
/// relying parties that cache the key set have fetched it by then.
pub const KEY_PUBLISH_LEAD: i64 = 600;
/// The `amr` of every sign-in that yields a code (RFC 8176): a password
/// and a one-time password.
pub const AMR: [&str; 2] = ["pwd", "otp"];
/// The `acr`: level 2, two factors.
pub const ACR: &str = "2";

/// What a client's sealed secret is bound to.
pub(crate) fn secret_aad(client_id: &str) -> String {
    format!("oidc-client:{client_id}:secret")
}

/// What a signing key's sealed private half is bound to.
pub(crate) fn key_aad(kid: &str) -> String {
    format!("oidc-key:{kid}")
}

/// 256 random bits as base64url, and their SHA-256 (what is stored).
fn random_secret() -> (Zeroizing<String>, Vec<u8>) {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::Rng::fill_bytes(&mut rand::rng(), bytes.as_mut());
    let text = Zeroizing::new(BASE64URL_NOPAD.encode(bytes.as_ref()));
    let hash = hash(&text);
    (text, hash)
}

fn hash(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

fn random_id(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut random);
    BASE64URL_NOPAD.encode(&random)
}

fn token_actor(client: &OidcClient, source: &str) -> Actor {
    Actor {
        name: format!("oidc:{}", client.name),
        source: source.to_owned(),
    }
}

fn user_actor(session: &PortalSession, source: &str) -> Actor {
    Actor {
        name: session.user().username.to_string(),
        source: source.to_owned(),
    }
}

/// Whether `challenge` is what S256 makes: 32 bytes in base64url.
fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && BASE64URL_NOPAD
            .decode(challenge.as_bytes())
            .is_ok_and(|b| b.len() == 32)
}

/// Whether `verifier` (RFC 7636 §4.1: 43–128 unreserved characters)
/// hashes to `challenge`.
fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let made = BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()));
    well_formed && bool::from(made.as_bytes().ct_eq(challenge.as_bytes()))
}

impl<S: Store> Latchkey<S> {
    /// The sign-in's `sid`: stable for the session, and no way back to its
    /// cookie.
    pub(crate) fn sid(&self, session: &PortalSession) -> String {
        BASE64URL_NOPAD.encode(&self.cipher.keyed_hash("oidc-sid", session.id_hash())[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        // RFC 7636, Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_challenge(challenge));
        assert!(verifier_matches(verifier, challenge));
        assert!(!verifier_matches(challenge, challenge));
        assert!(!verifier_matches("short", challenge));
    }
}
