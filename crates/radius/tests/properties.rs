//! Property tests: encode then decode gives back what was built and
//! verifies; any octets decode or fail without a panic; password hiding
//! round trips.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;

use latchkey_radius::{
    AttributeType, Code, MAX_PACKET_LEN, MessageAuthenticatorPolicy, Packet, PacketBuilder,
    SharedSecret, hide_password, unhide_password,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn octets(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), min..=max)
}

/// A password as people type one: no NUL at its end, which RFC 2865 §5.2
/// padding would take away.
fn password() -> impl Strategy<Value = Vec<u8>> {
    octets(0, 128).prop_map(|mut p| {
        while p.last() == Some(&0) {
            p.pop();
        }
        p
    })
}

fn secret() -> impl Strategy<Value = SharedSecret> {
    octets(1, 64).prop_map(|s| SharedSecret::new(s).unwrap())
}

/// A Vendor-Specific attribute: the vendor id and its (type, value) pairs.
type Vendor = (u32, Vec<(u8, Vec<u8>)>);

#[derive(Debug, Clone)]
struct Request {
    identifier: u8,
    authenticator: [u8; 16],
    user_name: Vec<u8>,
    password: Option<Vec<u8>>,
    nas_ip: Option<Ipv4Addr>,
    nas_port: Option<u32>,
    nas_identifier: Option<Vec<u8>>,
    state: Option<Vec<u8>>,
    proxy_states: Vec<Vec<u8>>,
    vendor: Option<Vendor>,
    message_authenticator: bool,
}

fn request() -> impl Strategy<Value = Request> {
    (
        any::<u8>(),
        any::<[u8; 16]>(),
        octets(1, 253),
        proptest::option::of(password()),
        proptest::option::of(any::<u32>().prop_map(Ipv4Addr::from)),
        proptest::option::of(any::<u32>()),
        proptest::option::of(octets(1, 64)),
        proptest::option::of(octets(1, 253)),
        vec(octets(1, 32), 0..4),
        proptest::option::of((0u32..1 << 24, vec((any::<u8>(), octets(0, 40)), 1..5))),
        any::<bool>(),
    )
        .prop_map(
            |(
                identifier,
                authenticator,
                user_name,
                password,
                nas_ip,
                nas_port,
                nas_identifier,
                state,
                proxy_states,
                vendor,
                message_authenticator,
            )| Request {
                identifier,
                authenticator,
                user_name,
                password,
                nas_ip,
                nas_port,
                nas_identifier,
                state,
                proxy_states,
                vendor,
                message_authenticator,
            },
        )
}

fn build(r: &Request) -> PacketBuilder {
    let mut b = PacketBuilder::request(Code::ACCESS_REQUEST, r.identifier, r.authenticator);
    if !r.message_authenticator {
        b.without_message_authenticator();
    }
    b.user_name(&r.user_name).unwrap();
    if let Some(p) = &r.password {
        b.user_password(p).unwrap();
    }
    if let Some(ip) = r.nas_ip {
        b.nas_ip_address(ip).unwrap();
    }
    if let Some(port) = r.nas_port {
        b.nas_port(port).unwrap();
    }
    if let Some(id) = &r.nas_identifier {
        b.nas_identifier(id).unwrap();
    }
    if let Some(state) = &r.state {
        b.state(state).unwrap();
    }
    for p in &r.proxy_states {
        b.proxy_state(p).unwrap();
    }
    if let Some((vendor_id, subs)) = &r.vendor {
        let subs: Vec<(u8, &[u8])> = subs.iter().map(|(t, v)| (*t, v.as_slice())).collect();
        b.vendor_specific(*vendor_id, &subs).unwrap();
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_request_round_trips(r in request(), secret in secret()) {
        let bytes = build(&r).encode(&secret).unwrap();
        prop_assert!(bytes.len() <= MAX_PACKET_LEN);
        let p = Packet::decode(&bytes).unwrap();
        prop_assert_eq!(p.code(), Code::ACCESS_REQUEST);
        prop_assert_eq!(p.identifier(), r.identifier);
        prop_assert_eq!(p.authenticator(), &r.authenticator);
        prop_assert_eq!(p.user_name(), Some(r.user_name.as_slice()));
        let password = p.user_password(&secret);
        prop_assert_eq!(password.as_ref().map(|p| p.expose()), r.password.as_deref());
        prop_assert_eq!(p.nas_ip_address(), r.nas_ip);
        prop_assert_eq!(p.nas_port(), r.nas_port);
        prop_assert_eq!(p.nas_identifier(), r.nas_identifier.as_deref());
        prop_assert_eq!(p.state(), r.state.as_deref());
        let proxy: Vec<&[u8]> = p.proxy_states().collect();
        let expected: Vec<&[u8]> = r.proxy_states.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(proxy, expected);
        let vendors: Vec<_> = p.vendor_specific().collect();
        match &r.vendor {
            None => prop_assert!(vendors.is_empty()),
            Some((vendor_id, subs)) => {
                prop_assert_eq!(vendors.len(), 1);
                prop_assert_eq!(vendors[0].vendor_id(), *vendor_id);
                let got: Vec<(u8, Vec<u8>)> = vendors[0]
                    .attributes()
                    .map(|a| a.map(|a| (a.vendor_type(), a.value().to_vec())))
                    .collect::<Result<_, _>>()
                    .unwrap();
                prop_assert_eq!(&got, subs);
            }
        }
        prop_assert_eq!(p.message_authenticator().is_some(), r.message_authenticator);
        prop_assert_eq!(p.message_authenticator_is_first(), r.message_authenticator);
        prop_assert_eq!(p.verify_request(&secret, MessageAuthenticatorPolicy::IfPresent), Ok(()));
        if r.message_authenticator {
            prop_assert_eq!(p.verify_request(&secret, MessageAuthenticatorPolicy::Required), Ok(()));
        }
    }

    #[test]
    fn a_reply_round_trips_and_verifies(
        r in request(),
        secret in secret(),
        code in prop_oneof![Just(Code::ACCESS_ACCEPT), Just(Code::ACCESS_REJECT), Just(Code::ACCESS_CHALLENGE)],
        messages in vec(octets(1, 253), 0..3),
        class in proptest::option::of(octets(1, 253)),
    ) {
        let bytes = build(&r).encode(&secret).unwrap();
        let request = Packet::decode(&bytes).unwrap();
        let mut reply = request.reply(code);
        for m in &messages {
            reply.reply_message(m).unwrap();
        }
        if let Some(c) = &class {
            reply.class(c).unwrap();
        }
        let bytes = reply.encode(&secret).unwrap();
        let p = Packet::decode(&bytes).unwrap();
        prop_assert_eq!(p.code(), code);
        prop_assert_eq!(p.identifier(), r.identifier);
        prop_assert!(p.message_authenticator_is_first());
        prop_assert_eq!(
            p.verify_reply(&r.authenticator, &secret, MessageAuthenticatorPolicy::Required),
            Ok(())
        );
        let got: Vec<&[u8]> = p.reply_messages().collect();
        let expected: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(p.classes().next(), class.as_deref());
        let proxy: Vec<&[u8]> = p.proxy_states().collect();
        let expected: Vec<&[u8]> = r.proxy_states.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(proxy, expected);
        // Another request's authenticator does not verify it.
        let mut other = r.authenticator;
        other[0] ^= 1;
        prop_assert!(p.verify_reply(&other, &secret, MessageAuthenticatorPolicy::Required).is_err());
    }

    #[test]
    fn any_octets_decode_or_fail_without_panic(data in octets(0, 600)) {
        check_decoded(&data);
    }

    #[test]
    fn any_header_with_attributes_decodes_or_fails_without_panic(
        code in any::<u8>(),
        attributes in octets(0, 400),
        length_shift in -3i32..=3,
    ) {
        // A plausible header in front, so that the attribute walk is reached.
        let length = u16::try_from((20 + attributes.len()) as i32 + length_shift).unwrap_or(20);
        let mut data = vec![code, 1];
        data.extend_from_slice(&length.to_be_bytes());
        data.extend_from_slice(&[0; 16]);
        data.extend_from_slice(&attributes);
        check_decoded(&data);
    }

    #[test]
    fn a_changed_octet_never_verifies(r in request(), secret in secret(), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut r = r;
        r.message_authenticator = true;
        let mut bytes = build(&r).encode(&secret).unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        if let Ok(p) = Packet::decode(&bytes) {
            prop_assert!(p.verify_request(&secret, MessageAuthenticatorPolicy::Required).is_err());
        }
    }

    #[test]
    fn passwords_round_trip(password in password(), secret in secret(), authenticator in any::<[u8; 16]>()) {
        let hidden = hide_password(&password, &secret, &authenticator).unwrap();
        prop_assert_eq!(hidden.len(), password.len().div_ceil(16).max(1) * 16);
        let clear = unhide_password(&hidden, &secret, &authenticator).unwrap();
        prop_assert_eq!(clear.expose(), password.as_slice());
    }
}

/// Decoding never panics; what decodes is consistent: the packet is a prefix
/// of the datagram, its attributes fill it exactly, it decodes again from its
/// own octets, and every accessor runs.
fn check_decoded(data: &[u8]) {
    let Ok(p) = Packet::decode(data) else {
        return;
    };
    assert!(p.len() >= 20 && p.len() <= data.len().min(MAX_PACKET_LEN));
    assert_eq!(p.as_bytes(), &data[..p.len()]);
    let total: usize = p.attributes().map(|a| a.value().len() + 2).sum();
    assert_eq!(total, p.len() - 20);
    assert_eq!(Packet::decode(p.as_bytes()), Ok(p));
    let secret = SharedSecret::new("s").unwrap();
    let _ = p.user_password(&secret);
    let _ = (p.user_name(), p.nas_ip_address(), p.nas_port(), p.state());
    let _ = p.message_authenticator();
    for v in p.vendor_specific() {
        for sub in v.attributes() {
            let _ = sub;
        }
    }
    let _ = p.verify_request(&secret, MessageAuthenticatorPolicy::IfPresent);
    let _ = p.verify_reply(&[0; 16], &secret, MessageAuthenticatorPolicy::IfPresent);
    // Whatever decoded can be written again with the same attributes.
    let mut b = PacketBuilder::request(p.code(), p.identifier(), *p.authenticator());
    b.without_message_authenticator();
    for a in p.attributes() {
        if a.kind() == AttributeType::USER_PASSWORD
            || a.kind() == AttributeType::MESSAGE_AUTHENTICATOR
        {
            continue;
        }
        b.attribute(a.kind(), a.value()).unwrap();
    }
    let again = b.encode(&secret).unwrap();
    assert!(Packet::decode(&again).is_ok());
}
