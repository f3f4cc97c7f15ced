//! Fuzzes the RADIUS decoder, `Packet::decode`, with what arrives on the
//! UDP port: any datagram from anywhere.
//!
//! Decoding must never panic, and a packet that decodes must be consistent:
//!
//! - it is the datagram's first Length octets, 20 to 4096 of them, and its
//!   attributes fill it exactly;
//! - it decodes again, equal, from its own octets;
//! - every accessor and both verifications run (with a fixed secret, they
//!   simply fail);
//! - its attributes (but the computed User-Password and
//!   Message-Authenticator) are accepted by the encoder as they are, and the
//!   packet it writes decodes to the same attributes;
//! - a User-Password unhidden and hidden again gives back the hidden value,
//!   up to the trailing blocks that held only padding;
//! - a reply to it, encoded with the secret, verifies against its Request
//!   Authenticator and carries its Proxy-State in order.
#![no_main]

use latchkey_radius::{
    AttributeType, Code, MAX_PACKET_LEN, MessageAuthenticatorPolicy, Packet, PacketBuilder,
    SharedSecret, hide_password,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::decode(data) else {
        return;
    };
    let secret = SharedSecret::new("xyzzy5461").expect("a non-empty secret");

    let len = packet.len();
    assert!((20..=MAX_PACKET_LEN).contains(&len) && len <= data.len());
    assert_eq!(packet.as_bytes(), &data[..len]);
    let total: usize = packet.attributes().map(|a| a.value().len() + 2).sum();
    assert_eq!(total, len - 20, "attributes do not fill the packet");
    assert_eq!(Packet::decode(packet.as_bytes()), Ok(packet));

    let _ = (
        packet.user_name(),
        packet.nas_ip_address(),
        packet.nas_port(),
    );
    let _ = (
        packet.service_type(),
        packet.nas_identifier(),
        packet.state(),
    );
    let _ = (packet.calling_station_id(), packet.called_station_id());
    let _ = (packet.session_timeout(), packet.message_authenticator());
    let _ = packet.classes().count() + packet.reply_messages().count();
    for vsa in packet.vendor_specific() {
        assert!(vsa.vendor_id() < 1 << 24);
        for sub in vsa.attributes() {
            let _ = sub;
        }
    }
    let _ = packet.verify_request(&secret, MessageAuthenticatorPolicy::IfPresent);
    let _ = packet.verify_reply(&[0; 16], &secret, MessageAuthenticatorPolicy::IfPresent);

    // The encoder takes back whatever the decoder accepted.
    let mut copy =
        PacketBuilder::request(packet.code(), packet.identifier(), *packet.authenticator());
    copy.without_message_authenticator();
    let computed = [
        AttributeType::USER_PASSWORD,
        AttributeType::MESSAGE_AUTHENTICATOR,
    ];
    let kept: Vec<_> = packet
        .attributes()
        .filter(|a| !computed.contains(&a.kind()))
        .collect();
    for a in &kept {
        if let Err(e) = copy.attribute(a.kind(), a.value()) {
            panic!("the encoder refuses {a:?}, which decoded: {e}");
        }
    }
    let written = copy.encode(&secret).expect("no longer than what decoded");
    let again = Packet::decode(&written).expect("what the encoder writes decodes");
    assert!(again.attributes().eq(kept.iter().copied()));

    if let (Some(hidden), Some(clear)) =
        (packet.hidden_user_password(), packet.user_password(&secret))
    {
        let rehidden = hide_password(clear.expose(), &secret, packet.authenticator())
            .expect("an unhidden password is at most 128 octets");
        assert!(
            hidden.starts_with(&rehidden),
            "unhide then hide does not give the hidden blocks back"
        );
    }

    if packet.code() == Code::ACCESS_REQUEST || packet.code() == Code::STATUS_SERVER {
        let mut reply = packet.reply(Code::ACCESS_REJECT);
        // Copied Proxy-States alone may already fill the packet: then there
        // is nothing to check.
        let encoded = reply.reply_message(b"no").and_then(|r| r.encode(&secret));
        if let Ok(bytes) = encoded {
            let reply = Packet::decode(&bytes).expect("an encoded reply decodes");
            assert!(reply.message_authenticator_is_first());
            assert_eq!(
                reply.verify_reply(
                    packet.authenticator(),
                    &secret,
                    MessageAuthenticatorPolicy::Required
                ),
                Ok(())
            );
            assert!(reply.proxy_states().eq(packet.proxy_states()));
        }
    }
});
