//! Known answers from RFC 2865 §7, the packet dumps it prints for the shared
//! secret "xyzzy5461": each is decoded, its passwords unhidden, its Response
//! Authenticators recomputed, and each packet built again with the encoder
//! and compared octet for octet.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;

use latchkey_radius::{
    AttributeType, Code, MessageAuthenticatorPolicy, Packet, PacketBuilder, SharedSecret,
    VerifyError,
};

const SECRET: &str = "xyzzy5461";

fn secret() -> SharedSecret {
    SharedSecret::new(SECRET).unwrap()
}

fn bytes(dump: &str) -> Vec<u8> {
    let digits: String = dump.split_whitespace().collect();
    hex::decode(digits).unwrap()
}

const LOGIN_SERVICE: AttributeType = AttributeType::new(15);
const LOGIN_IP_HOST: AttributeType = AttributeType::new(14);
const FRAMED_PROTOCOL: AttributeType = AttributeType::new(7);
const FRAMED_IP_ADDRESS: AttributeType = AttributeType::new(8);
const FRAMED_ROUTING: AttributeType = AttributeType::new(10);
const FRAMED_MTU: AttributeType = AttributeType::new(12);
const FRAMED_COMPRESSION: AttributeType = AttributeType::new(13);

/// RFC 2865 §7.1, "User Telnet to Specified Host": nemo, password
/// "arctangent", from NAS 192.168.1.16 port 3.
const TELNET_REQUEST: &str = "
    01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
    98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
    93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
    01 10 05 06 00 00 00 03";

/// RFC 2865 §7.1: the Access-Accept, telnet to 192.168.1.3.
const TELNET_ACCEPT: &str = "
    02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
    9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
    0e 06 c0 a8 01 03";

/// RFC 2865 §7.2, "Framed User Authenticating with CHAP": flopsy, from NAS
/// 192.168.1.16 port 20.
const CHAP_REQUEST: &str = "
    01 01 00 47 2a ee 86 f0 8d 0d 55 96 9c a5 97 8e
    0d 33 67 a2 01 08 66 6c 6f 70 73 79 03 13 16 e9
    75 57 c3 16 18 58 95 f2 93 ff 63 44 07 72 75 04
    06 c0 a8 01 10 05 06 00 00 00 14 06 06 00 00 00
    02 07 06 00 00 00 01";

/// RFC 2865 §7.2: the Access-Accept, framed PPP.
const CHAP_ACCEPT: &str = "
    02 01 00 38 15 ef bc 7d ab 26 cf a3 dc 34 d9 c0
    3c 86 01 a4 06 06 00 00 00 02 07 06 00 00 00 01
    08 06 ff ff ff fe 0a 06 00 00 00 02 0d 06 00 00
    00 01 0c 06 00 00 05 dc";

/// RFC 2865 §7.3, "User with Challenge-Response card": mopsy's first
/// request, password "challenge".
const CARD_REQUEST: &str = "
    01 02 00 39 f3 a4 7a 1f 6a 6d 76 71 0b 94 7a b9
    30 41 a0 39 01 07 6d 6f 70 73 79 02 12 33 65 75
    73 77 82 89 b5 70 88 5e 15 08 48 25 c5 04 06 c0
    a8 01 10 05 06 00 00 00 07";

/// RFC 2865 §7.3: the Access-Challenge, with a Reply-Message and State.
const CARD_CHALLENGE: &str = "
    0b 02 00 4e 36 f3 c8 76 4a e8 c7 11 57 40 3c 0c
    71 ff 9c 45 12 30 43 68 61 6c 6c 65 6e 67 65 20
    33 32 37 36 39 34 33 30 2e 20 20 45 6e 74 65 72
    20 72 65 73 70 6f 6e 73 65 20 61 74 20 70 72 6f
    6d 70 74 2e 18 0a 33 32 37 36 39 34 33 30";

/// RFC 2865 §7.3: the answer to the challenge, response "99101462" and the
/// State. The State's Length octet is 0x0a here (2 + 8 octets, and what the
/// packet's Length 0x43 adds up to); the RFC's errata report the printed
/// dump's State length as wrong.
const CARD_RESPONSE: &str = "
    01 03 00 43 b1 22 55 6d 42 8a 13 d0 d6 25 38 07
    c4 57 ec f0 01 07 6d 6f 70 73 79 02 12 69 2c 1f
    20 5f c0 81 b9 19 b9 51 95 f5 61 a5 81 04 06 c0
    a8 01 10 05 06 00 00 00 07 18 0a 33 32 37 36 39
    34 33 30";

/// RFC 2865 §7.3: the Access-Reject, no attributes.
const CARD_REJECT: &str = "
    03 03 00 14 a4 2f 4f ca 45 91 6c 4e 09 c8 34 0f
    9e 74 6a a0";

#[test]
fn section_7_1_access_request_decodes() {
    let dump = bytes(TELNET_REQUEST);
    let request = Packet::decode(&dump).unwrap();
    assert_eq!(request.code(), Code::ACCESS_REQUEST);
    assert_eq!(request.identifier(), 0);
    assert_eq!(request.len(), 56);
    assert_eq!(request.user_name(), Some(&b"nemo"[..]));
    assert_eq!(request.hidden_user_password().map(<[u8]>::len), Some(16));
    assert_eq!(
        request.user_password(&secret()).unwrap().expose(),
        b"arctangent"
    );
    assert_eq!(
        request.nas_ip_address(),
        Some(Ipv4Addr::new(192, 168, 1, 16))
    );
    assert_eq!(request.nas_port(), Some(3));
    assert_eq!(request.attributes().count(), 4);

    // 1997: no Message-Authenticator. Latchkey's default refuses it.
    assert_eq!(request.message_authenticator(), None);
    assert_eq!(
        request.verify_request(&secret(), MessageAuthenticatorPolicy::Required),
        Err(VerifyError::MissingMessageAuthenticator)
    );
    assert_eq!(
        request.verify_request(&secret(), MessageAuthenticatorPolicy::IfPresent),
        Ok(())
    );
}

#[test]
fn section_7_1_access_request_encodes_octet_for_octet() {
    let dump = bytes(TELNET_REQUEST);
    let authenticator: [u8; 16] = dump[4..20].try_into().unwrap();
    let mut request = PacketBuilder::request(Code::ACCESS_REQUEST, 0, authenticator);
    request
        .without_message_authenticator()
        .user_name(b"nemo")
        .unwrap()
        .user_password(b"arctangent")
        .unwrap()
        .nas_ip_address(Ipv4Addr::new(192, 168, 1, 16))
        .unwrap()
        .nas_port(3)
        .unwrap();
    assert_eq!(request.encode(&secret()).unwrap(), dump);
}

#[test]
fn section_7_1_access_accept_response_authenticator() {
    let request_dump = bytes(TELNET_REQUEST);
    let request = Packet::decode(&request_dump).unwrap();
    let dump = bytes(TELNET_ACCEPT);
    let accept = Packet::decode(&dump).unwrap();
    assert_eq!(accept.code(), Code::ACCESS_ACCEPT);
    assert_eq!(accept.identifier(), 0);
    assert_eq!(accept.service_type(), Some(1)); // Login
    assert_eq!(accept.get(LOGIN_SERVICE), Some(&[0, 0, 0, 0][..])); // Telnet
    assert_eq!(accept.get(LOGIN_IP_HOST), Some(&[192, 168, 1, 3][..]));

    assert_eq!(
        &accept.response_authenticator(request.authenticator(), &secret()),
        accept.authenticator()
    );
    assert_eq!(
        accept.verify_reply(
            request.authenticator(),
            &secret(),
            MessageAuthenticatorPolicy::IfPresent
        ),
        Ok(())
    );
    assert_eq!(
        accept.verify_reply(
            request.authenticator(),
            &secret(),
            MessageAuthenticatorPolicy::Required
        ),
        Err(VerifyError::MissingMessageAuthenticator)
    );
    let wrong = SharedSecret::new("xyzzy5462").unwrap();
    assert_eq!(
        accept.verify_reply(
            request.authenticator(),
            &wrong,
            MessageAuthenticatorPolicy::IfPresent
        ),
        Err(VerifyError::ResponseAuthenticator)
    );
}

#[test]
fn section_7_1_access_accept_encodes_octet_for_octet() {
    let request_dump = bytes(TELNET_REQUEST);
    let request = Packet::decode(&request_dump).unwrap();
    let mut accept = request.reply(Code::ACCESS_ACCEPT);
    accept
        .without_message_authenticator()
        .service_type(1)
        .unwrap()
        .attribute(LOGIN_SERVICE, &[0, 0, 0, 0])
        .unwrap()
        .attribute(LOGIN_IP_HOST, &[192, 168, 1, 3])
        .unwrap();
    assert_eq!(accept.encode(&secret()).unwrap(), bytes(TELNET_ACCEPT));
}

#[test]
fn section_7_2_chap_request_decodes_and_encodes() {
    let dump = bytes(CHAP_REQUEST);
    let request = Packet::decode(&dump).unwrap();
    assert_eq!(request.code(), Code::ACCESS_REQUEST);
    assert_eq!(request.identifier(), 1);
    assert_eq!(request.user_name(), Some(&b"flopsy"[..]));
    let chap = request.get(AttributeType::CHAP_PASSWORD).unwrap();
    assert_eq!((chap.len(), chap[0]), (17, 0x16)); // CHAP Ident 22
    assert_eq!(request.hidden_user_password(), None);
    assert_eq!(
        request.nas_ip_address(),
        Some(Ipv4Addr::new(192, 168, 1, 16))
    );
    assert_eq!(request.nas_port(), Some(20));
    assert_eq!(request.service_type(), Some(2)); // Framed
    assert_eq!(request.get(FRAMED_PROTOCOL), Some(&[0, 0, 0, 1][..])); // PPP

    let mut built =
        PacketBuilder::request(Code::ACCESS_REQUEST, 1, request.authenticator().to_owned());
    built
        .without_message_authenticator()
        .user_name(b"flopsy")
        .unwrap()
        .attribute(AttributeType::CHAP_PASSWORD, chap)
        .unwrap()
        .nas_ip_address(Ipv4Addr::new(192, 168, 1, 16))
        .unwrap()
        .nas_port(20)
        .unwrap()
        .service_type(2)
        .unwrap()
        .attribute(FRAMED_PROTOCOL, &[0, 0, 0, 1])
        .unwrap();
    assert_eq!(built.encode(&secret()).unwrap(), dump);
}

#[test]
fn section_7_2_access_accept_response_authenticator_and_encoding() {
    let request_dump = bytes(CHAP_REQUEST);
    let request = Packet::decode(&request_dump).unwrap();
    let dump = bytes(CHAP_ACCEPT);
    let accept = Packet::decode(&dump).unwrap();
    assert_eq!(accept.identifier(), 1);
    assert_eq!(accept.service_type(), Some(2));
    assert_eq!(
        accept.get(FRAMED_IP_ADDRESS),
        Some(&[255, 255, 255, 254][..])
    );
    // The dump's Framed-Routing is 2 ("Listen"); the printed Response
    // Authenticator covers that octet.
    assert_eq!(accept.get(FRAMED_ROUTING), Some(&[0, 0, 0, 2][..]));
    assert_eq!(accept.get(FRAMED_MTU), Some(&1500u32.to_be_bytes()[..]));
    assert_eq!(
        accept.verify_reply(
            request.authenticator(),
            &secret(),
            MessageAuthenticatorPolicy::IfPresent
        ),
        Ok(())
    );

    let mut built = request.reply(Code::ACCESS_ACCEPT);
    built
        .without_message_authenticator()
        .service_type(2)
        .unwrap()
        .attribute(FRAMED_PROTOCOL, &[0, 0, 0, 1])
        .unwrap()
        .attribute(FRAMED_IP_ADDRESS, &[255, 255, 255, 254])
        .unwrap()
        .attribute(FRAMED_ROUTING, &[0, 0, 0, 2])
        .unwrap()
        .attribute(FRAMED_COMPRESSION, &[0, 0, 0, 1])
        .unwrap()
        .attribute(FRAMED_MTU, &1500u32.to_be_bytes())
        .unwrap();
    assert_eq!(built.encode(&secret()).unwrap(), dump);
}

#[test]
fn section_7_3_challenge_and_response() {
    let first_dump = bytes(CARD_REQUEST);
    let first = Packet::decode(&first_dump).unwrap();
    assert_eq!(first.user_name(), Some(&b"mopsy"[..]));
    assert_eq!(
        first.user_password(&secret()).unwrap().expose(),
        b"challenge"
    );
    assert_eq!(first.nas_port(), Some(7));

    let challenge_dump = bytes(CARD_CHALLENGE);
    let challenge = Packet::decode(&challenge_dump).unwrap();
    assert_eq!(challenge.code(), Code::ACCESS_CHALLENGE);
    assert_eq!(
        challenge.reply_messages().collect::<Vec<_>>(),
        [&b"Challenge 32769430.  Enter response at prompt."[..]]
    );
    assert_eq!(challenge.state(), Some(&b"32769430"[..]));
    assert_eq!(
        challenge.verify_reply(
            first.authenticator(),
            &secret(),
            MessageAuthenticatorPolicy::IfPresent
        ),
        Ok(())
    );
    let mut built = first.reply(Code::ACCESS_CHALLENGE);
    built
        .without_message_authenticator()
        .reply_message(b"Challenge 32769430.  Enter response at prompt.")
        .unwrap()
        .state(b"32769430")
        .unwrap();
    assert_eq!(built.encode(&secret()).unwrap(), challenge_dump);

    let second_dump = bytes(CARD_RESPONSE);
    let second = Packet::decode(&second_dump).unwrap();
    assert_eq!(second.identifier(), 3);
    assert_eq!(
        second.user_password(&secret()).unwrap().expose(),
        b"99101462"
    );
    assert_eq!(second.state(), Some(&b"32769430"[..]));

    let reject_dump = bytes(CARD_REJECT);
    let reject = Packet::decode(&reject_dump).unwrap();
    assert_eq!(reject.code(), Code::ACCESS_REJECT);
    assert_eq!(reject.attributes().count(), 0);
    assert_eq!(
        reject.verify_reply(
            second.authenticator(),
            &secret(),
            MessageAuthenticatorPolicy::IfPresent
        ),
        Ok(())
    );
    let mut built = second.reply(Code::ACCESS_REJECT);
    built.without_message_authenticator();
    assert_eq!(built.encode(&secret()).unwrap(), reject_dump);
}

#[test]
fn every_prefix_of_the_examples_is_refused() {
    for dump in [
        TELNET_REQUEST,
        TELNET_ACCEPT,
        CHAP_REQUEST,
        CHAP_ACCEPT,
        CARD_REQUEST,
        CARD_CHALLENGE,
        CARD_RESPONSE,
        CARD_REJECT,
    ] {
        let dump = bytes(dump);
        for n in 0..dump.len() {
            assert!(Packet::decode(&dump[..n]).is_err(), "prefix of {n}");
        }
    }
}
