//! The Response Authenticator (RFC 2865 §3) and the Message-Authenticator
//! (RFC 3579 §3.2), computed and verified.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::{Authenticator, Code, HEADER_LEN, Packet, SharedSecret};

/// Whether a packet must carry a Message-Authenticator to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAuthenticatorPolicy {
    /// It must be there and be right: the default for every client, and what
    /// a reply must carry since the Blast-RADIUS attack (CVE-2024-3596).
    Required,
    /// It must be right when it is there. For an old device that sends none;
    /// a Status-Server still needs one (RFC 5997 §3).
    IfPresent,
}

/// Why a packet did not verify. RFC 2865 §3 and RFC 3579 §3.2 have such
/// packets silently discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No Message-Authenticator, where the policy (or RFC 5997 §3, for
    /// Status-Server) requires one.
    #[error("the packet has no Message-Authenticator")]
    MissingMessageAuthenticator,
    /// The Message-Authenticator is not the HMAC-MD5 of the packet under the
    /// shared secret (RFC 3579 §3.2).
    #[error("the Message-Authenticator does not match")]
    MessageAuthenticator,
    /// The Response Authenticator is not the MD5 RFC 2865 §3 defines.
    #[error("the Response Authenticator does not match")]
    ResponseAuthenticator,
    /// The code is not one this check applies to: `verify_request` takes
    /// Access-Request and Status-Server, `verify_reply` takes
    /// Access-Accept, Access-Reject and Access-Challenge.
    #[error("{0} cannot be verified this way")]
    Code(Code),
}

/// RFC 2865 §3: `MD5(Code + ID + Length + RequestAuth + Attributes +
/// Secret)`. `packet` is the whole packet; its Authenticator field is not
/// read, `request_authenticator` stands in its place.
pub(crate) fn response_authenticator(
    packet: &[u8],
    request_authenticator: &Authenticator,
    secret: &SharedSecret,
) -> Authenticator {
    Md5::new()
        .chain_update(&packet[..4])
        .chain_update(request_authenticator)
        .chain_update(&packet[HEADER_LEN..])
        .chain_update(secret.expose())
        .finalize()
        .into()
}

/// RFC 3579 §3.2: `HMAC-MD5(Type, Identifier, Length, Authenticator,
/// Attributes)` keyed with the shared secret, the Message-Authenticator's own
/// value taken as sixteen zero octets. `at` is where that value starts.
/// `authenticator` stands in for the header's field: a request's own
/// Request Authenticator, or for a reply the Request Authenticator of the
/// request it answers.
#[allow(
    clippy::expect_used,
    reason = "the expect names the invariant that makes it unreachable"
)]
pub(crate) fn message_authenticator(
    packet: &[u8],
    at: usize,
    authenticator: &Authenticator,
    secret: &SharedSecret,
) -> [u8; 16] {
    // HMAC accepts keys of any length (RFC 2104 §2), so this cannot fail.
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(secret.expose())
        .expect("HMAC takes keys of any length");
    mac.update(&packet[..4]);
    mac.update(authenticator);
    mac.update(&packet[HEADER_LEN..at]);
    mac.update(&[0u8; 16]);
    mac.update(&packet[at + 16..]);
    mac.finalize().into_bytes().into()
}

impl Packet<'_> {
    /// Verifies a request's Message-Authenticator (RFC 3579 §3.2), computed
    /// with the packet's own Request Authenticator.
    ///
    /// For an Access-Request and a Status-Server. A Status-Server needs one
    /// whatever the policy (RFC 5997 §3). An Access-Request has no other
    /// integrity check: without a Message-Authenticator, a wrong secret shows
    /// only as a wrong password.
    pub fn verify_request(
        &self,
        secret: &SharedSecret,
        policy: MessageAuthenticatorPolicy,
    ) -> Result<(), VerifyError> {
        let code = self.code();
        let policy = match code {
            Code::ACCESS_REQUEST => policy,
            Code::STATUS_SERVER => MessageAuthenticatorPolicy::Required,
            _ => return Err(VerifyError::Code(code)),
        };
        self.check_message_authenticator(self.authenticator(), secret, policy)
    }

    /// Verifies a reply to a request that had this Request Authenticator:
    /// the Response Authenticator (RFC 2865 §3), then the
    /// Message-Authenticator, computed with the Request Authenticator in the
    /// Authenticator field (RFC 3579 §3.2).
    ///
    /// For an Access-Accept, Access-Reject or Access-Challenge. The caller
    /// matches the Identifier to its request.
    pub fn verify_reply(
        &self,
        request_authenticator: &Authenticator,
        secret: &SharedSecret,
        policy: MessageAuthenticatorPolicy,
    ) -> Result<(), VerifyError> {
        let code = self.code();
        if !matches!(
            code,
            Code::ACCESS_ACCEPT | Code::ACCESS_REJECT | Code::ACCESS_CHALLENGE
        ) {
            return Err(VerifyError::Code(code));
        }
        let expected = self.response_authenticator(request_authenticator, secret);
        if !bool::from(expected.ct_eq(self.authenticator())) {
            return Err(VerifyError::ResponseAuthenticator);
        }
        self.check_message_authenticator(request_authenticator, secret, policy)
    }

    /// The Response Authenticator RFC 2865 §3 gives this packet as a reply
    /// to a request with this Request Authenticator (whatever its own
    /// Authenticator field holds).
    pub fn response_authenticator(
        &self,
        request_authenticator: &Authenticator,
        secret: &SharedSecret,
    ) -> Authenticator {
        response_authenticator(self.as_bytes(), request_authenticator, secret)
    }

    fn check_message_authenticator(
        &self,
        authenticator: &Authenticator,
        secret: &SharedSecret,
        policy: MessageAuthenticatorPolicy,
    ) -> Result<(), VerifyError> {
        let (Some(at), Some(given)) = (
            self.message_authenticator_offset(),
            self.message_authenticator(),
        ) else {
            return match policy {
                MessageAuthenticatorPolicy::Required => {
                    Err(VerifyError::MissingMessageAuthenticator)
                }
                MessageAuthenticatorPolicy::IfPresent => Ok(()),
            };
        };
        let expected = message_authenticator(self.as_bytes(), at, authenticator, secret);
        if bool::from(expected.ct_eq(given)) {
            Ok(())
        } else {
            Err(VerifyError::MessageAuthenticator)
        }
    }
}
