//! The Message-Authenticator (RFC 3579 §3.2) against an independent
//! computation: packets laid out by hand here, their HMAC-MD5 taken with the
//! `hmac` crate directly, and the Response Authenticator with `md5`. RFC 3579
//! prints no packet with a Message-Authenticator value, so there is no dump
//! to compare with.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hmac::{Hmac, KeyInit, Mac};
use latchkey_radius::{
    Code, MessageAuthenticatorPolicy, Packet, PacketBuilder, SharedSecret, VerifyError,
};
use md5::{Digest, Md5};

const SECRET: &[u8] = b"testing123";
const REQUEST_AUTHENTICATOR: [u8; 16] = [
    0x21, 0x43, 0x65, 0x87, 0xa9, 0xcb, 0xed, 0x0f, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
];

fn secret() -> SharedSecret {
    SharedSecret::new(SECRET).unwrap()
}

fn hmac_md5(bytes: &[u8]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(SECRET).unwrap();
    mac.update(bytes);
    mac.finalize().into_bytes().into()
}

/// An Access-Request laid out by hand: User-Name "alice", then the
/// Message-Authenticator (not first, which a request may do), then
/// NAS-Identifier "vpn-1". Returns the packet and where the
/// Message-Authenticator's value starts.
fn hand_made_request(code: u8) -> (Vec<u8>, usize) {
    let mut p = vec![code, 0x2a, 0, 0];
    p.extend_from_slice(&REQUEST_AUTHENTICATOR);
    p.extend_from_slice(&[1, 7]);
    p.extend_from_slice(b"alice");
    p.extend_from_slice(&[80, 18]);
    let at = p.len();
    p.extend_from_slice(&[0; 16]);
    p.extend_from_slice(&[32, 7]);
    p.extend_from_slice(b"vpn-1");
    let len = u16::try_from(p.len()).unwrap();
    p[2..4].copy_from_slice(&len.to_be_bytes());
    // RFC 3579 §3.2: HMAC-MD5 over the packet with the value zeroed.
    let mac = hmac_md5(&p);
    p[at..at + 16].copy_from_slice(&mac);
    (p, at)
}

#[test]
fn a_hand_made_request_verifies() {
    let (p, at) = hand_made_request(1);
    let packet = Packet::decode(&p).unwrap();
    assert_eq!(
        packet.message_authenticator(),
        Some(&p[at..at + 16].try_into().unwrap())
    );
    assert!(!packet.message_authenticator_is_first());
    assert_eq!(
        packet.verify_request(&secret(), MessageAuthenticatorPolicy::Required),
        Ok(())
    );
}

#[test]
fn any_changed_octet_fails() {
    let (p, _) = hand_made_request(1);
    for i in 0..p.len() {
        for flip in [0x01, 0x80] {
            let mut q = p.clone();
            q[i] ^= flip;
            // A change may make the packet undecodable or turn it into
            // another code; where it still decodes, it must not verify.
            let Ok(packet) = Packet::decode(&q) else {
                continue;
            };
            assert!(
                packet
                    .verify_request(&secret(), MessageAuthenticatorPolicy::Required)
                    .is_err(),
                "octet {i} flipped by {flip:#x} still verifies"
            );
        }
    }
}

#[test]
fn a_wrong_secret_fails() {
    let (p, _) = hand_made_request(1);
    let packet = Packet::decode(&p).unwrap();
    let wrong = SharedSecret::new("testing124").unwrap();
    assert_eq!(
        packet.verify_request(&wrong, MessageAuthenticatorPolicy::Required),
        Err(VerifyError::MessageAuthenticator)
    );
}

#[test]
fn the_encoder_matches_the_independent_hmac() {
    let mut request = PacketBuilder::request(Code::ACCESS_REQUEST, 0x2a, REQUEST_AUTHENTICATOR);
    request
        .user_name(b"alice")
        .unwrap()
        .user_password(b"correct horse battery staple")
        .unwrap()
        .nas_identifier(b"vpn-1")
        .unwrap();
    let bytes = request.encode(&secret()).unwrap();
    // The Message-Authenticator comes first: Type 80, Length 18.
    assert_eq!(bytes[20..22], [80, 18]);
    let mut zeroed = bytes.clone();
    zeroed[22..38].fill(0);
    assert_eq!(bytes[22..38], hmac_md5(&zeroed));
    let packet = Packet::decode(&bytes).unwrap();
    assert!(packet.message_authenticator_is_first());
    assert_eq!(
        packet.verify_request(&secret(), MessageAuthenticatorPolicy::Required),
        Ok(())
    );
}

#[test]
fn a_reply_is_signed_over_the_request_authenticator_then_authenticated() {
    let (p, _) = hand_made_request(1);
    let request = Packet::decode(&p).unwrap();
    let mut accept = request.reply(Code::ACCESS_ACCEPT);
    accept.class(b"role=user").unwrap();
    let bytes = accept.encode(&secret()).unwrap();
    assert_eq!(bytes[..2], [2, 0x2a]);
    assert_eq!(bytes[20..22], [80, 18]);

    // RFC 3579 §3.2: the Message-Authenticator over the reply with the
    // Request Authenticator in the Authenticator field...
    let mut as_signed = bytes.clone();
    as_signed[4..20].copy_from_slice(&REQUEST_AUTHENTICATOR);
    as_signed[22..38].fill(0);
    assert_eq!(bytes[22..38], hmac_md5(&as_signed));

    // ...and then the Response Authenticator over the packet with it
    // (RFC 2865 §3).
    let response: [u8; 16] = Md5::new()
        .chain_update(&bytes[..4])
        .chain_update(REQUEST_AUTHENTICATOR)
        .chain_update(&bytes[20..])
        .chain_update(SECRET)
        .finalize()
        .into();
    assert_eq!(bytes[4..20], response);

    let reply = Packet::decode(&bytes).unwrap();
    assert!(reply.message_authenticator_is_first());
    assert_eq!(
        reply.verify_reply(
            &REQUEST_AUTHENTICATOR,
            &secret(),
            MessageAuthenticatorPolicy::Required
        ),
        Ok(())
    );
    assert_eq!(reply.classes().collect::<Vec<_>>(), [&b"role=user"[..]]);
}

#[test]
fn a_reply_signed_in_the_wrong_order_fails() {
    // The Response Authenticator first (over a zeroed Message-Authenticator),
    // then the Message-Authenticator over the packet as it then stands:
    // both steps the wrong way round (RFC 3579 §3.2 has the
    // Message-Authenticator first, over the Request Authenticator).
    let mut p = vec![2, 7, 0, 38];
    p.extend_from_slice(&[0; 16]);
    p.extend_from_slice(&[80, 18]);
    p.extend_from_slice(&[0; 16]);
    let response: [u8; 16] = Md5::new()
        .chain_update(&p[..4])
        .chain_update(REQUEST_AUTHENTICATOR)
        .chain_update(&p[20..])
        .chain_update(SECRET)
        .finalize()
        .into();
    p[4..20].copy_from_slice(&response);
    let mac = hmac_md5(&p);
    p[22..38].copy_from_slice(&mac);
    let reply = Packet::decode(&p).unwrap();
    assert_eq!(
        reply.verify_reply(
            &REQUEST_AUTHENTICATOR,
            &secret(),
            MessageAuthenticatorPolicy::Required
        ),
        Err(VerifyError::ResponseAuthenticator)
    );
}

#[test]
fn a_reply_with_a_wrong_message_authenticator_but_right_response_authenticator_fails() {
    // A forger without the secret cannot do this, but the check must not
    // rest on the Response Authenticator alone.
    let mut p = vec![2, 7, 0, 38];
    p.extend_from_slice(&[0; 16]);
    p.extend_from_slice(&[80, 18]);
    p.extend_from_slice(&[0x5a; 16]);
    let response: [u8; 16] = Md5::new()
        .chain_update(&p[..4])
        .chain_update(REQUEST_AUTHENTICATOR)
        .chain_update(&p[20..])
        .chain_update(SECRET)
        .finalize()
        .into();
    p[4..20].copy_from_slice(&response);
    let reply = Packet::decode(&p).unwrap();
    assert_eq!(
        reply.verify_reply(
            &REQUEST_AUTHENTICATOR,
            &secret(),
            MessageAuthenticatorPolicy::IfPresent
        ),
        Err(VerifyError::MessageAuthenticator)
    );
}

#[test]
fn status_server_needs_a_message_authenticator() {
    // RFC 5997 §3: Status-Server carries a Message-Authenticator; one
    // without is discarded whatever the client's policy.
    let mut bare = vec![12, 1, 0, 20];
    bare.extend_from_slice(&REQUEST_AUTHENTICATOR);
    let packet = Packet::decode(&bare).unwrap();
    assert_eq!(packet.code(), Code::STATUS_SERVER);
    assert_eq!(
        packet.verify_request(&secret(), MessageAuthenticatorPolicy::IfPresent),
        Err(VerifyError::MissingMessageAuthenticator)
    );

    let (p, _) = hand_made_request(12);
    let status = Packet::decode(&p).unwrap();
    assert_eq!(
        status.verify_request(&secret(), MessageAuthenticatorPolicy::IfPresent),
        Ok(())
    );
    // Answered with an Access-Accept (RFC 5997 §3), signed like any reply.
    let bytes = status.reply(Code::ACCESS_ACCEPT).encode(&secret()).unwrap();
    let reply = Packet::decode(&bytes).unwrap();
    assert_eq!(
        reply.verify_reply(
            status.authenticator(),
            &secret(),
            MessageAuthenticatorPolicy::Required
        ),
        Ok(())
    );
}

#[test]
fn checks_refuse_the_other_side_codes() {
    let (p, _) = hand_made_request(1);
    let request = Packet::decode(&p).unwrap();
    assert_eq!(
        request.verify_reply(
            &REQUEST_AUTHENTICATOR,
            &secret(),
            MessageAuthenticatorPolicy::Required
        ),
        Err(VerifyError::Code(Code::ACCESS_REQUEST))
    );
    let bytes = request
        .reply(Code::ACCESS_REJECT)
        .encode(&secret())
        .unwrap();
    let reply = Packet::decode(&bytes).unwrap();
    assert_eq!(
        reply.verify_request(&secret(), MessageAuthenticatorPolicy::Required),
        Err(VerifyError::Code(Code::ACCESS_REJECT))
    );
    let (accounting, _) = hand_made_request(4);
    let accounting = Packet::decode(&accounting).unwrap();
    assert_eq!(
        accounting.verify_request(&secret(), MessageAuthenticatorPolicy::Required),
        Err(VerifyError::Code(Code::ACCOUNTING_REQUEST))
    );
}

#[test]
fn proxy_state_is_echoed_in_order_after_the_message_authenticator() {
    let mut request = PacketBuilder::request(Code::ACCESS_REQUEST, 5, REQUEST_AUTHENTICATOR);
    request
        .user_name(b"bob")
        .unwrap()
        .proxy_state(b"first")
        .unwrap()
        .proxy_state(b"second")
        .unwrap();
    let bytes = request.encode(&secret()).unwrap();
    let request = Packet::decode(&bytes).unwrap();
    let mut challenge = request.reply(Code::ACCESS_CHALLENGE);
    challenge
        .reply_message(b"Enter your one-time password")
        .unwrap()
        .state(&[1, 2, 3, 4])
        .unwrap();
    let bytes = challenge.encode(&secret()).unwrap();
    let reply = Packet::decode(&bytes).unwrap();
    assert!(reply.message_authenticator_is_first());
    assert_eq!(
        reply.proxy_states().collect::<Vec<_>>(),
        [&b"first"[..], &b"second"[..]]
    );
    assert_eq!(reply.state(), Some(&[1, 2, 3, 4][..]));
    assert_eq!(
        reply.verify_reply(
            request.authenticator(),
            &secret(),
            MessageAuthenticatorPolicy::Required
        ),
        Ok(())
    );
}
