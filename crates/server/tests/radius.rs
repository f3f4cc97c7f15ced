//! RADIUS end to end against a real `latchkey serve`, with real peers:
//! FreeRADIUS's `radclient` (Debian `freeradius-utils`), the Python client
//! `pyrad2` (which refuses any reply without a valid Message-Authenticator),
//! and raw datagrams made with `latchkey-radius` for what no well-behaved
//! client sends. Each scenario on a fresh SQLite file and on a fresh
//! PostgreSQL database. An expired State needs a moved clock: that is
//! tested in the store conformance suite (crates/store/tests/conformance/
//! radius.rs), over both real backends with a manual clock.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::radius::*;
use common::*;
use latchkey_oath::KeyUri;
use latchkey_radius::{Code, MessageAuthenticatorPolicy, Packet, PacketBuilder, SharedSecret};
use serde_json::{Value, json};

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(false) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(true) } )* }
    };
}

both_backends!(
    radclient_one_step_accepts_once_and_challenges_a_password_alone,
    radclient_two_step_challenge_then_otp_and_states_are_single_use_and_bound,
    radclient_otp_only_status_server_and_ten_wrong_codes_lock_the_token_for_the_api,
    pyrad2_verifies_every_reply_and_untrusted_requests_get_none,
    malformed_packets_are_dropped_and_the_server_keeps_serving,
    a_retransmit_gets_the_identical_cached_reply_and_one_audit_row,
    a_legacy_client_is_answered_without_message_authenticator_and_only_it,
);

/// Two nodes on one PostgreSQL database: the State is in the database.
#[test]
fn two_nodes_on_postgresql_a_challenge_from_node_a_is_completed_on_node_b() {
    let node = node(true, &[("vpn", "127.0.0.1", "two-step")]);
    let (_node_b, port_b) = node.another_node();
    let challenge = access(node.port, "alice", PASSWORD).expect("Access-Challenge", "the password");
    let state = challenge.attribute("State").expect("a State");
    access(port_b, "alice", &node.code(0))
        .state(&state)
        .expect("Access-Accept", "node B completes node A's challenge");
    access(node.port, "alice", &node.code(1))
        .state(&state)
        .expect("Access-Reject", "the State is spent for node A as well");
}

// ---------------------------------------------------------------- set-up

/// A node answering RADIUS, a user `alice` (password [`PASSWORD`]) with an
/// HOTP token, and RADIUS clients registered before it starts.
struct Node {
    db: common::Database,
    server: Server,
    port: u16,
    hotp: latchkey_oath::Hotp,
}

/// `clients`: (name, address, mode), each with [`SECRET`].
fn node(postgres: bool, clients: &[(&str, &str, &str)]) -> Node {
    let db = common::Database::new(postgres);
    db.add_user("alice");
    let issued = db.admin_json(&["token", "issue", "alice", "--kind", "hotp"]);
    let uri = KeyUri::parse(issued["otpauth_uri"].as_str().unwrap()).unwrap();
    let hotp = uri.hotp().unwrap();
    for (name, address, mode) in clients {
        let out = db.admin(
            &[
                "radius-client",
                "add",
                name,
                "--address",
                address,
                "--mode",
                mode,
                "--secret-stdin",
            ],
            &format!("{SECRET}\n"),
        );
        assert!(out.status.success(), "radius-client add: {}", stderr(&out));
    }
    let port = free_udp_port();
    let server = db.serve_with(&[("LATCHKEY_RADIUS_LISTEN", &format!("127.0.0.1:{port}"))]);
    Node {
        db,
        server,
        port,
        hotp,
    }
}

impl Node {
    fn code(&self, counter: u64) -> String {
        self.hotp.generate(counter)
    }

    /// Another node on the same database, answering RADIUS on its own port.
    fn another_node(&self) -> (Server, u16) {
        let port = free_udp_port();
        let server = self
            .db
            .serve_with(&[("LATCHKEY_RADIUS_LISTEN", &format!("127.0.0.1:{port}"))]);
        (server, port)
    }

    fn audit(&self) -> Vec<Value> {
        self.db
            .admin_json(&["audit", "list", "--limit", "100000"])
            .as_array()
            .unwrap()
            .clone()
    }

    fn metric(&self, line_start: &str) -> u64 {
        let response = self.server.get("/metrics", None);
        let text = response.body.as_str().unwrap().to_owned();
        text.lines()
            .find_map(|l| l.strip_prefix(line_start))
            .unwrap_or_else(|| panic!("no {line_start} in /metrics:\n{text}"))
            .trim()
            .parse()
            .unwrap()
    }
}

// -------------------------------------------------------------- pyrad2

const DICTIONARY: &str = "\
ATTRIBUTE\tUser-Name\t1\tstring
ATTRIBUTE\tUser-Password\t2\tstring\tencrypt=1
ATTRIBUTE\tReply-Message\t18\tstring
ATTRIBUTE\tState\t24\toctets
ATTRIBUTE\tClass\t25\toctets
ATTRIBUTE\tNAS-Identifier\t32\tstring
ATTRIBUTE\tProxy-State\t33\toctets
ATTRIBUTE\tMessage-Authenticator\t80\toctets
";

/// Runs each request of `requests` through pyrad2's client, which
/// enforces Message-Authenticator on replies (BlastRADIUS mitigation):
/// a reply without a valid one is not accepted and ends as a timeout.
const PYRAD2_SCRIPT: &str = r#"
import json, sys
from pyrad2.client import Client
from pyrad2.dictionary import Dictionary
from pyrad2.exceptions import Timeout
import pyrad2.packet as packet
from pyrad2.constants import PacketType

job = json.loads(sys.argv[1])
results = []
for r in job["requests"]:
    client = Client(server="127.0.0.1", authport=job["port"], secret=r["secret"].encode(),
                    dict=Dictionary(job["dictionary"]), retries=1, timeout=r.get("timeout", 3),
                    enforce_ma=r.get("message_authenticator", True))
    if "bind" in r:
        client.bind((r["bind"], 0))
    try:
        if r["kind"] == "status":
            reply = client.send_status_packet()
        else:
            req = client.create_auth_packet(code=PacketType.AccessRequest, User_Name=r["user"])
            req["User-Password"] = req.pw_crypt(r["password"].encode())
            if "state" in r:
                req["State"] = bytes.fromhex(r["state"])
            if "proxy_state" in r:
                req["Proxy-State"] = bytes.fromhex(r["proxy_state"])
            req["NAS-Identifier"] = "pyrad2"
            reply = client.send_packet(req)
        raw = reply.raw_packet if getattr(reply, "raw_packet", None) else reply.reply_packet()
        out = {"code": reply.code, "ma_first": raw[20] == 80}
        for name in ["State", "Class", "Proxy-State"]:
            if name in reply:
                out[name] = reply[name][0].hex()
        if "Reply-Message" in reply:
            out["Reply-Message"] = reply["Reply-Message"][0]
        results.append(out)
    except Timeout:
        results.append({"timeout": True})
print(json.dumps(results))
"#;

/// The Python with pyrad2: `$LATCHKEY_TEST_PYRAD2_PYTHON`, else the venv
/// `.ci/run` makes in `target/pyrad2-venv`.
fn pyrad2_python() -> PathBuf {
    let python = std::env::var_os("LATCHKEY_TEST_PYRAD2_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyrad2-venv/bin/python")
        });
    let works = Command::new(&python)
        .args(["-c", "import pyrad2.client"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        works,
        "pyrad2 (PyPI, Python >= 3.12) is needed for these tests: run .ci/run, or \
         python3.12 -m venv target/pyrad2-venv && target/pyrad2-venv/bin/pip install pyrad2 \
         (or set LATCHKEY_TEST_PYRAD2_PYTHON to a Python that has it); {} did not import it",
        python.display()
    );
    python
}

fn pyrad2(node: &Node, requests: Vec<Value>) -> Vec<Value> {
    let dictionary = node.db.dir.path().join("pyrad2.dictionary");
    std::fs::write(&dictionary, DICTIONARY).unwrap();
    let job = json!({
        "port": node.port,
        "dictionary": dictionary.display().to_string(),
        "requests": requests,
    });
    let out = Command::new(pyrad2_python())
        .args(["-c", PYRAD2_SCRIPT, &job.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "pyrad2: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

// ----------------------------------------------------- raw datagrams

fn random_authenticator() -> [u8; 16] {
    let mut a = [0u8; 16];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut a);
    a
}

fn access_request(
    identifier: u8,
    user: &str,
    password: &str,
    state: Option<&[u8]>,
) -> (PacketBuilder, [u8; 16]) {
    let authenticator = random_authenticator();
    let mut b = PacketBuilder::request(Code::ACCESS_REQUEST, identifier, authenticator);
    b.user_name(user.as_bytes())
        .unwrap()
        .user_password(password.as_bytes())
        .unwrap()
        .nas_identifier(b"raw")
        .unwrap();
    if let Some(state) = state {
        b.state(state).unwrap();
    }
    (b, authenticator)
}

/// Sends `datagram` from `from` and waits up to `wait` for one reply.
fn exchange(socket: &UdpSocket, port: u16, datagram: &[u8], wait: Duration) -> Option<Vec<u8>> {
    socket.set_read_timeout(Some(wait)).unwrap();
    socket.send_to(datagram, ("127.0.0.1", port)).unwrap();
    let mut buffer = vec![0u8; 5000];
    match socket.recv_from(&mut buffer) {
        Ok((n, _)) => Some(buffer[..n].to_vec()),
        Err(_) => None,
    }
}

/// `reply`, once its Response Authenticator and Message-Authenticator
/// (required) verify under [`SECRET`] for the request sent with
/// `authenticator`.
#[track_caller]
fn verified<'a>(reply: Packet<'a>, authenticator: &[u8; 16]) -> Packet<'a> {
    let secret = SharedSecret::new(SECRET).unwrap();
    reply
        .verify_reply(authenticator, &secret, MessageAuthenticatorPolicy::Required)
        .expect("a reply that verifies");
    reply
}

/// Sends `datagram` from `socket`: the code of the reply, once it verifies.
#[track_caller]
fn verified_reply_code(
    socket: &UdpSocket,
    port: u16,
    datagram: &[u8],
    authenticator: &[u8; 16],
) -> Code {
    let reply = exchange(socket, port, datagram, Duration::from_secs(5)).expect("a reply");
    verified(Packet::decode(&reply).unwrap(), authenticator).code()
}

fn socket_on(address: &str) -> UdpSocket {
    UdpSocket::bind((address, 0)).unwrap()
}

fn status_answered(port: u16) -> bool {
    let mut b = PacketBuilder::request(Code::STATUS_SERVER, 7, random_authenticator());
    let secret = SharedSecret::new(SECRET).unwrap();
    let request = b.nas_identifier(b"probe").unwrap().encode(&secret).unwrap();
    let sent = Packet::decode(&request).unwrap();
    let Some(reply) = exchange(
        &socket_on("127.0.0.1"),
        port,
        &request,
        Duration::from_secs(3),
    ) else {
        return false;
    };
    let reply = Packet::decode(&reply).unwrap();
    reply
        .verify_reply(
            sent.authenticator(),
            &secret,
            MessageAuthenticatorPolicy::Required,
        )
        .is_ok()
        && reply.code() == Code::ACCESS_ACCEPT
}

// ------------------------------------------------------------ scenarios

fn radclient_one_step_accepts_once_and_challenges_a_password_alone(postgres: bool) {
    let node = node(postgres, &[("vpn", "127.0.0.1", "one-step")]);
    let accept = access(node.port, "alice", &format!("{PASSWORD}{}", node.code(0)))
        .with("Proxy-State = 0x70726f78792d31")
        .expect("Access-Accept", "password and OTP");
    assert_eq!(
        accept.attribute("Class").as_deref(),
        Some("0x75736572"),
        "Class = user"
    );
    assert_eq!(
        accept.attribute("Proxy-State").as_deref(),
        Some("0x70726f78792d31"),
        "Proxy-State echoed"
    );
    access(node.port, "alice", &format!("{PASSWORD}{}", node.code(0)))
        .expect("Access-Reject", "the same OTP again");
    access(node.port, "alice", &format!("wrong pass{}", node.code(1)))
        .expect("Access-Reject", "a wrong password");
    let challenge = access(node.port, "alice", PASSWORD).expect(
        "Access-Challenge",
        "a right password alone is challenged in one-step mode",
    );
    let state = challenge.attribute("State").expect("a State");
    access(node.port, "alice", &node.code(1))
        .state(&state)
        .expect("Access-Accept", "the OTP with the State");

    let rows = node.audit();
    assert!(
        rows.iter().any(|r| r["action"] == "otp.verify"
            && r["outcome"] == "success"
            && r["actor"] == "radius:vpn nas:gw-1"
            && r["source"] == "127.0.0.1"),
        "audited with the client and NAS-Identifier: {rows:?}"
    );
}

fn radclient_two_step_challenge_then_otp_and_states_are_single_use_and_bound(postgres: bool) {
    let node = node(
        postgres,
        &[
            ("vpn", "127.0.0.1", "two-step"),
            ("branch", "127.0.0.2", "two-step"),
        ],
    );
    let challenge = access(node.port, "alice", PASSWORD).expect("Access-Challenge", "the password");
    assert_eq!(
        challenge.attribute("Reply-Message").as_deref(),
        Some("Enter your one-time password")
    );
    let state = challenge.attribute("State").expect("a State");
    access(node.port, "alice", &node.code(0))
        .state(&state)
        .expect("Access-Accept", "the OTP with the State");
    access(node.port, "alice", &node.code(1))
        .state(&state)
        .expect("Access-Reject", "the same State again, with the next code");
    access(node.port, "alice", &node.code(1)).expect(
        "Access-Reject",
        "an OTP without a State in two-step mode is a password, and wrong",
    );

    // A State made for "vpn", presented by "branch" (127.0.0.2) → reject.
    let challenge = access(node.port, "alice", PASSWORD).expect("Access-Challenge", "the password");
    let state = challenge.attribute("State").expect("a State");
    let state = data_encoding::HEXLOWER
        .decode(state.trim_start_matches("0x").as_bytes())
        .unwrap();
    let secret = SharedSecret::new(SECRET).unwrap();
    let (request, authenticator) = access_request(9, "alice", &node.code(1), Some(&state));
    let code = verified_reply_code(
        &socket_on("127.0.0.2"),
        node.port,
        &request.encode(&secret).unwrap(),
        &authenticator,
    );
    assert_eq!(code, Code::ACCESS_REJECT, "another client's State");
    access(node.port, "alice", &node.code(1))
        .state(&format!("0x{}", data_encoding::HEXLOWER.encode(&state)))
        .expect("Access-Accept", "its own client may still use it");
}

fn radclient_otp_only_status_server_and_ten_wrong_codes_lock_the_token_for_the_api(postgres: bool) {
    let node = node(postgres, &[("fw", "127.0.0.1", "otp-only")]);
    let status = radclient(
        node.port,
        "status",
        &["Message-Authenticator = 0x00".to_owned()],
        5,
    );
    assert_eq!(
        status.code.as_deref(),
        Some("Access-Accept"),
        "Status-Server: {}",
        status.output
    );

    access(node.port, "alice", &node.code(0)).expect("Access-Accept", "otp-only");
    let wrong = if node.code(1) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for attempt in 0..10 {
        access(node.port, "alice", wrong).expect("Access-Reject", &format!("try {attempt}"));
    }
    // Locked for every entry point: the right code is refused over RADIUS
    // and over the API.
    let key = node.db.api_key("app", "authenticate");
    let body = json!({ "username": "alice", "otp": node.code(1) }).to_string();
    let response = node.server.post("/api/v1/authenticate", Some(&key), &body);
    assert_eq!(response.body["result"], "reject", "{:?}", response.body);
    let rows = node.audit();
    assert!(
        rows.iter().any(|r| r["action"] == "token.lock"),
        "the token was locked: {rows:?}"
    );
    assert!(
        rows.iter()
            .filter(|r| r["action"] == "otp.verify"
                && r["outcome"] == "failure"
                && r["actor"] == "radius:fw nas:gw-1")
            .count()
            >= 10
    );
}

fn pyrad2_verifies_every_reply_and_untrusted_requests_get_none(postgres: bool) {
    let node = node(postgres, &[("vpn", "127.0.0.1", "one-step")]);
    let results = pyrad2(
        &node,
        vec![
            json!({"kind": "status", "secret": SECRET}),
            json!({"kind": "auth", "secret": SECRET, "user": "alice",
                   "password": format!("{PASSWORD}{}", node.code(0)), "proxy_state": "abcd"}),
            json!({"kind": "auth", "secret": SECRET, "user": "alice",
                   "password": format!("{PASSWORD}{}", node.code(0))}),
            json!({"kind": "auth", "secret": SECRET, "user": "alice", "password": PASSWORD}),
            // Untrusted: each gets no reply at all.
            json!({"kind": "auth", "secret": "not-the-secret", "user": "alice",
                   "password": PASSWORD, "timeout": 1}),
            json!({"kind": "auth", "secret": SECRET, "user": "alice", "password": PASSWORD,
                   "bind": "127.0.0.9", "timeout": 1}),
            json!({"kind": "auth", "secret": SECRET, "user": "alice", "password": PASSWORD,
                   "message_authenticator": false, "timeout": 1}),
        ],
    );
    assert_eq!(results.len(), 7, "{results:?}");
    for (index, expected) in [2, 2, 3, 11].iter().enumerate() {
        assert_eq!(
            results[index]["code"], *expected,
            "reply {index}: {results:?}"
        );
        assert_eq!(
            results[index]["ma_first"], true,
            "Message-Authenticator first: {results:?}"
        );
    }
    assert_eq!(results[1]["Proxy-State"], "abcd");
    assert_eq!(results[1]["Class"], "75736572");
    assert!(results[3]["State"].is_string());
    for index in 4..7 {
        assert_eq!(
            results[index]["timeout"], true,
            "request {index} got a reply: {results:?}"
        );
    }

    // A wrong Message-Authenticator (one octet changed) → no reply.
    let secret = SharedSecret::new(SECRET).unwrap();
    let (request, _) = access_request(3, "alice", PASSWORD, None);
    let mut datagram = request.encode(&secret).unwrap();
    // The encoder puts the Message-Authenticator first: its value is at 22..38.
    assert_eq!(datagram[20], 80);
    datagram[25] ^= 1;
    assert!(
        exchange(
            &socket_on("127.0.0.1"),
            node.port,
            &datagram,
            Duration::from_secs(1)
        )
        .is_none()
    );
    // And none without one, from a raw client either.
    let (mut request, _) = access_request(4, "alice", PASSWORD, None);
    request.without_message_authenticator();
    let datagram = request.encode(&secret).unwrap();
    assert!(
        exchange(
            &socket_on("127.0.0.1"),
            node.port,
            &datagram,
            Duration::from_secs(1)
        )
        .is_none()
    );

    assert!(
        node.metric("latchkey_radius_dropped_total{reason=\"missing_message_authenticator\"}") >= 2
    );
    assert!(
        node.metric("latchkey_radius_dropped_total{reason=\"bad_message_authenticator\"}") >= 2
    );
    assert!(node.metric("latchkey_radius_dropped_total{reason=\"unknown_client\"}") >= 1);
    assert_eq!(
        node.metric("latchkey_radius_replies_total{kind=\"accept\"}"),
        1
    );
}

fn malformed_packets_are_dropped_and_the_server_keeps_serving(postgres: bool) {
    let node = node(postgres, &[("vpn", "127.0.0.1", "one-step")]);
    let secret = SharedSecret::new(SECRET).unwrap();
    let (request, _) = access_request(1, "alice", PASSWORD, None);
    let good = request.encode(&secret).unwrap();
    let socket = socket_on("127.0.0.1");
    let quiet = Duration::from_millis(700);

    // Over 4,096 octets (the codec takes exactly 4,096, as RFC 2865 §3 allows).
    let mut oversized = good.clone();
    oversized.resize(4097, 0);
    oversized[2..4].copy_from_slice(&4097u16.to_be_bytes());
    // Truncated: the Length says more than arrived.
    let truncated = good[..good.len() - 5].to_vec();
    // An attribute whose length runs past the packet.
    let mut overrun = good.clone();
    overrun.extend_from_slice(&[1, 200, b'x']);
    let length = overrun.len() as u16;
    overrun[2..4].copy_from_slice(&length.to_be_bytes());
    // A User-Password of 129 octets.
    let mut long_password = good[..20].to_vec();
    long_password.extend_from_slice(&[1, 7]);
    long_password.extend_from_slice(b"alice");
    long_password.extend_from_slice(&[2, 131]);
    long_password.extend_from_slice(&[0x41; 129]);
    let length = long_password.len() as u16;
    long_password[2..4].copy_from_slice(&length.to_be_bytes());
    // Shorter than a header.
    let tiny = vec![1, 2, 0, 10, 0, 0, 0, 0, 0, 0];

    for (what, datagram) in [
        ("4,097 octets", &oversized),
        ("truncated", &truncated),
        ("attribute past the end", &overrun),
        ("129-octet User-Password", &long_password),
        ("shorter than a header", &tiny),
    ] {
        assert!(
            exchange(&socket, node.port, datagram, quiet).is_none(),
            "{what}: answered"
        );
        assert!(
            status_answered(node.port),
            "the server still serves after: {what}"
        );
    }
    assert!(node.metric("latchkey_radius_dropped_total{reason=\"malformed\"}") >= 5);
    // And a real request after all that.
    access(node.port, "alice", &format!("{PASSWORD}{}", node.code(0)))
        .expect("Access-Accept", "a real request after all that");
}

fn a_retransmit_gets_the_identical_cached_reply_and_one_audit_row(postgres: bool) {
    let node = node(postgres, &[("fw", "127.0.0.1", "otp-only")]);
    let secret = SharedSecret::new(SECRET).unwrap();
    let (request, authenticator) = access_request(42, "alice", &node.code(0), None);
    let datagram = request.encode(&secret).unwrap();
    let socket = socket_on("127.0.0.1");
    let first = exchange(&socket, node.port, &datagram, Duration::from_secs(5)).expect("a reply");
    let reply = Packet::decode(&first).unwrap();
    assert_eq!(verified(reply, &authenticator).code(), Code::ACCESS_ACCEPT);
    let second = exchange(&socket, node.port, &datagram, Duration::from_secs(5)).expect("a reply");
    assert_eq!(first, second, "the retransmit gets the identical reply");
    let accepted = node
        .audit()
        .iter()
        .filter(|r| r["action"] == "otp.verify")
        .count();
    assert_eq!(accepted, 1, "one check, one audit row");
    assert_eq!(
        node.metric("latchkey_radius_replies_total{kind=\"retransmit\"}"),
        1
    );
    // The same code in a new request (another authenticator) is a replay.
    let (request, authenticator) = access_request(43, "alice", &node.code(0), None);
    let code = verified_reply_code(
        &socket,
        node.port,
        &request.encode(&secret).unwrap(),
        &authenticator,
    );
    assert_eq!(code, Code::ACCESS_REJECT);
}

fn a_legacy_client_is_answered_without_message_authenticator_and_only_it(postgres: bool) {
    let node = node(postgres, &[("vpn", "127.0.0.1", "otp-only")]);
    let out = node.db.admin(
        &[
            "radius-client",
            "add",
            "old-ap",
            "--address",
            "127.0.0.3",
            "--mode",
            "otp-only",
            "--secret-stdin",
            "--legacy-no-message-authenticator",
        ],
        &format!("{SECRET}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Blast-RADIUS"),
        "said loudly: {}",
        stderr(&out)
    );
    let listed = node.db.admin_json(&["radius-client", "list"]);
    let old = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "old-ap")
        .unwrap()
        .clone();
    assert_eq!(old["message_authenticator_required"], false);

    let secret = SharedSecret::new(SECRET).unwrap();
    let (mut request, authenticator) = access_request(5, "alice", &node.code(0), None);
    request.without_message_authenticator();
    let datagram = request.encode(&secret).unwrap();
    // The running node reads the new client when its address is seen (at
    // most once a second): the device retransmits, as devices do.
    let socket = socket_on("127.0.0.3");
    let reply = (0..5)
        .find_map(|_| exchange(&socket, node.port, &datagram, Duration::from_secs(2)))
        .expect("the exempted device is answered");
    let reply = verified(Packet::decode(&reply).unwrap(), &authenticator);
    assert_eq!(reply.code(), Code::ACCESS_ACCEPT);
    assert!(reply.message_authenticator_is_first());
    // Every other client still needs one.
    let (mut request, _) = access_request(6, "alice", &node.code(1), None);
    request.without_message_authenticator();
    assert!(
        exchange(
            &socket_on("127.0.0.1"),
            node.port,
            &request.encode(&secret).unwrap(),
            Duration::from_secs(1)
        )
        .is_none()
    );
}
