//! RADIUS requests from a test: FreeRADIUS's `radclient` (Debian
//! `freeradius-utils`) against a node's RADIUS port, with [`SECRET`].

use std::net::UdpSocket;
use std::process::Command;

/// The shared secret every test client is registered with.
pub const SECRET: &str = "radius-test-secret";

pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn radclient_binary() -> &'static str {
    let found = Command::new("radclient").arg("-h").output();
    assert!(
        found.is_ok(),
        "radclient is needed for these tests: install Debian's freeradius-utils \
         (apt-get install freeradius-utils; .ci/run does)"
    );
    "radclient"
}

/// What radclient printed about the reply.
pub struct RadReply {
    /// `Access-Accept`, `Access-Reject`, `Access-Challenge`, or `None` for no reply.
    pub code: Option<String>,
    pub output: String,
}

impl RadReply {
    pub fn attribute(&self, name: &str) -> Option<String> {
        let after = self.output.split("Received ").nth(1)?;
        after.lines().find_map(|line| {
            let (key, value) = line.trim().split_once(" = ")?;
            (key == name).then(|| value.trim_matches('"').to_owned())
        })
    }
}

/// Sends one request with radclient: `kind` is `auth` or `status`,
/// `attributes` its attribute lines. One try, `timeout` seconds.
pub fn radclient(port: u16, kind: &str, attributes: &[String], timeout: u32) -> RadReply {
    let mut child = Command::new(radclient_binary())
        .args(["-x", "-r", "1", "-t", &timeout.to_string()])
        .arg(format!("127.0.0.1:{port}"))
        .args([kind, SECRET])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all((attributes.join("\n") + "\n").as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let output =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let code = output.split("Received ").nth(1).map(|rest| {
        rest.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    RadReply { code, output }
}

/// An Access-Request for radclient: [`pap`]'s attributes and any more,
/// sent by [`AccessRequest::expect`], which asserts the reply's code.
pub struct AccessRequest {
    port: u16,
    attributes: Vec<String>,
}

/// An Access-Request to `port` for `user` with User-Password `password`.
pub fn access(port: u16, user: &str, password: &str) -> AccessRequest {
    AccessRequest {
        port,
        attributes: pap(user, password),
    }
}

impl AccessRequest {
    /// One more attribute line, as radclient reads it (`Name = value`).
    pub fn with(mut self, line: impl Into<String>) -> Self {
        self.attributes.push(line.into());
        self
    }

    /// The State of an earlier Access-Challenge (radclient's `0x…` form).
    pub fn state(self, state: &str) -> Self {
        self.with(format!("State = {state}"))
    }

    /// Sends it (one try, 5 s) and asserts the reply is `code`
    /// (`Access-Accept`, `Access-Reject`, `Access-Challenge`); `why` says
    /// what the step is when it is not.
    #[track_caller]
    pub fn expect(self, code: &str, why: &str) -> RadReply {
        let reply = radclient(self.port, "auth", &self.attributes, 5);
        assert_eq!(reply.code.as_deref(), Some(code), "{why}: {}", reply.output);
        reply
    }
}

pub fn pap(user: &str, password: &str) -> Vec<String> {
    vec![
        format!("User-Name = \"{user}\""),
        format!("User-Password = \"{password}\""),
        "NAS-Identifier = \"gw-1\"".into(),
        // radclient computes it when the attribute is present.
        "Message-Authenticator = 0x00".into(),
    ]
}
