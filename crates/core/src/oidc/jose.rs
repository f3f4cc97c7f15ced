//! The little of JOSE an OpenID provider needs: compact JWS (RFC 7515)
//! over a JSON payload, signed RS256 (RSASSA-PKCS1-v1_5 with SHA-256) or
//! ES256 (ECDSA P-256 with SHA-256, the fixed-width signature JWA asks
//! for), the public keys as a JWK Set (RFC 7517), and the verification of
//! tokens this provider signed itself (an RP-initiated logout's
//! `id_token_hint`). All of it is `ring`, which the build has already for
//! TLS.
//!
//! `ring` generates P-256 keys but not RSA keys; an RSA key arrives as
//! PKCS#8 made by the caller (the server generates it), and `ring` checks
//! and signs with it.

use data_encoding::BASE64URL_NOPAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// How ID tokens are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256: what every relying party accepts.
    Rs256,
    /// ECDSA P-256 with SHA-256, for clients that ask for it.
    Es256,
}

impl SigningAlgorithm {
    /// The JWA name (`RS256`, `ES256`).
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Es256 => "ES256",
        }
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SigningAlgorithm {
    type Err = crate::model::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RS256" => Ok(SigningAlgorithm::Rs256),
            "ES256" => Ok(SigningAlgorithm::Es256),
            other => Err(crate::model::UnknownValue(other.into())),
        }
    }
}

/// A private key that `ring` would not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signing key is not a valid {0} PKCS#8 key")]
pub struct BadSigningKey(pub SigningAlgorithm);

/// A new P-256 private key as PKCS#8.
pub(crate) fn generate_es256() -> Zeroizing<Vec<u8>> {
    let rng = SystemRandom::new();
    // The system's random source failing leaves nothing safe to do.
    #[allow(clippy::expect_used)]
    let document = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("the system random source works");
    Zeroizing::new(document.as_ref().to_vec())
}

/// The public half of `pkcs8` as a JWK with its `kid`, `alg` and `use`.
pub(crate) fn public_jwk(
    algorithm: SigningAlgorithm,
    pkcs8: &[u8],
    kid: &str,
) -> Result<Value, BadSigningKey> {
    let bad = || BadSigningKey(algorithm);
    Ok(match algorithm {
        SigningAlgorithm::Rs256 => {
            let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| bad())?;
            let components: signature::RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
            json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": BASE64URL_NOPAD.encode(&components.n),
                "e": BASE64URL_NOPAD.encode(&components.e),
            })
        }
        SigningAlgorithm::Es256 => {
            let pair = EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                pkcs8,
                &SystemRandom::new(),
            )
            .map_err(|_| bad())?;
            // An uncompressed point: 0x04, then x and y, 32 bytes each.
            let point = pair.public_key().as_ref();
            if point.len() != 65 {
                return Err(bad());
            }
            json!({
                "kty": "EC", "use": "sig", "alg": "ES256", "kid": kid, "crv": "P-256",
                "x": BASE64URL_NOPAD.encode(&point[1..33]),
                "y": BASE64URL_NOPAD.encode(&point[33..65]),
            })
        }
    })
}

/// `claims` as a compact JWS signed with `pkcs8`, `kid` in the header.
pub(crate) fn sign(
    algorithm: SigningAlgorithm,
    pkcs8: &[u8],
    kid: &str,
    claims: &Value,
) -> Result<String, BadSigningKey> {
    let bad = || BadSigningKey(algorithm);
    let header = json!({ "alg": algorithm.as_str(), "typ": "JWT", "kid": kid });
    let input = format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
        BASE64URL_NOPAD.encode(claims.to_string().as_bytes())
    );
    let rng = SystemRandom::new();
    let signature = match algorithm {
        SigningAlgorithm::Rs256 => {
            let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| bad())?;
            let mut signature = vec![0u8; pair.public().modulus_len()];
            pair.sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| bad())?;
            signature
        }
        SigningAlgorithm::Es256 => {
            let pair =
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .map_err(|_| bad())?;
            pair.sign(&rng, input.as_bytes())
                .map_err(|_| bad())?
                .as_ref()
                .to_vec()
        }
    };
    Ok(format!("{input}.{}", BASE64URL_NOPAD.encode(&signature)))
}

/// The claims of `token` if one of `keys` (public JWKs) signed it; the
/// claims are not checked here beyond being a JSON object.
pub(crate) fn verify(token: &str, keys: &[Value]) -> Option<serde_json::Map<String, Value>> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value =
        serde_json::from_slice(&BASE64URL_NOPAD.decode(header.as_bytes()).ok()?).ok()?;
    let kid = header.get("kid")?.as_str()?;
    let alg = header.get("alg")?.as_str()?;
    let key = keys
        .iter()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))?;
    if key.get("alg").and_then(Value::as_str) != Some(alg) {
        return None;
    }
    let signature = BASE64URL_NOPAD.decode(signature.as_bytes()).ok()?;
    let input = &token[..header_len(token)?];
    let field = |name: &str| -> Option<Vec<u8>> {
        BASE64URL_NOPAD
            .decode(key.get(name)?.as_str()?.as_bytes())
            .ok()
    };
    let verified = match alg {
        "RS256" => signature::RsaPublicKeyComponents {
            n: field("n")?,
            e: field("e")?,
        }
        .verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            input.as_bytes(),
            &signature,
        )
        .is_ok(),
        "ES256" => {
            let mut point = vec![4u8];
            point.extend(field("x")?);
            point.extend(field("y")?);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(input.as_bytes(), &signature)
                .is_ok()
        }
        _ => false,
    };
    if !verified {
        return None;
    }
    match serde_json::from_slice(&BASE64URL_NOPAD.decode(payload.as_bytes()).ok()?).ok()? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// Where the signing input (header and payload) ends: at the second dot.
fn header_len(token: &str) -> Option<usize> {
    let first = token.find('.')?;
    let second = token[first + 1..].find('.')?;
    Some(first + 1 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_es256_token_verifies_with_its_jwk_and_not_once_changed() {
        let key = generate_es256();
        let jwk = public_jwk(SigningAlgorithm::Es256, &key, "k1").unwrap();
        let token = sign(SigningAlgorithm::Es256, &key, "k1", &json!({"sub": "7"})).unwrap();
        let claims = verify(&token, std::slice::from_ref(&jwk)).unwrap();
        assert_eq!(claims["sub"], "7");
        let mut changed = token.clone();
        changed.push('A');
        assert!(verify(&changed, std::slice::from_ref(&jwk)).is_none());
        let other = public_jwk(SigningAlgorithm::Es256, &generate_es256(), "k1").unwrap();
        assert!(verify(&token, &[other]).is_none());
    }
}
