//! A running node and the JSON API client the tests call it with.

use std::process::Child;

use latchkey_core::ManualClock;
use latchkey_testkit::CapturedMail;

use super::PASSWORD;

/// A running node; stopped when dropped.
pub struct Server {
    pub(super) runner: Runner,
    pub url: String,
}

/// How a node runs: the real `latchkey serve` process, or in the test's
/// own process on a moved clock.
pub(super) enum Runner {
    Process(Child),
    InProcess {
        runtime: Option<tokio::runtime::Runtime>,
        clock: ManualClock,
        mail: CapturedMail,
    },
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.runner {
            Runner::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Runner::InProcess { runtime, .. } => {
                if let Some(runtime) = runtime.take() {
                    runtime.shutdown_background();
                }
            }
        }
    }
}

pub struct Response {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Server {
    fn child(&mut self) -> &mut Child {
        match &mut self.runner {
            Runner::Process(child) => child,
            Runner::InProcess { .. } => panic!("an in-process node has no process"),
        }
    }

    /// The process id, for `kill -9`.
    pub fn pid(&self) -> u32 {
        match &self.runner {
            Runner::Process(child) => child.id(),
            Runner::InProcess { .. } => panic!("an in-process node has no process"),
        }
    }

    /// Whether the process is still running (it has not exited or crashed).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child().try_wait(), Ok(None))
    }

    /// Waits for the process to end (after a kill), reaping it.
    pub fn wait(&mut self) {
        let _ = self.child().wait();
    }

    /// The clock of a node started by [`Database::spawn_app`].
    pub fn clock(&self) -> &ManualClock {
        match &self.runner {
            Runner::InProcess { clock, .. } => clock,
            Runner::Process(_) => panic!("a `latchkey serve` process runs on the machine's clock"),
        }
    }

    /// The node's time, in Unix seconds.
    pub fn now(&self) -> u64 {
        latchkey_core::Clock::now(self.clock())
    }

    /// The mail a node started by [`Database::spawn_app`] has sent.
    pub fn mail(&self) -> &CapturedMail {
        match &self.runner {
            Runner::InProcess { mail, .. } => mail,
            Runner::Process(_) => panic!("a `latchkey serve` process sends its mail to outbox/"),
        }
    }

    /// Like [`Server::post`], but a transport failure (the node is gone, or
    /// no answer within `timeout`) is returned rather than a panic.
    pub fn try_post(
        &self,
        path: &str,
        key: Option<&str>,
        body: &str,
        timeout: std::time::Duration,
    ) -> Result<Response, ureq::Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let mut request = agent
            .post(&format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(key) = key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request.send(body.as_bytes())?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Ok(Response {
            status,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        })
    }

    /// The status of `GET path`, or the transport failure.
    pub fn try_get_status(
        &self,
        path: &str,
        timeout: std::time::Duration,
    ) -> Result<u16, ureq::Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let response = agent.get(&format!("{}{path}", self.url)).call()?;
        Ok(response.status().as_u16())
    }

    pub fn post(&self, path: &str, key: Option<&str>, body: &str) -> Response {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut request = agent
            .post(&format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(key) = key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request.send(body.as_bytes()).expect("the server answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Response {
            status,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        }
    }

    pub fn delete(&self, path: &str, key: Option<&str>) -> Response {
        self.call_without_body(|agent, url| agent.delete(url), path, key)
    }

    pub fn get(&self, path: &str, key: Option<&str>) -> Response {
        self.call_without_body(|agent, url| agent.get(url), path, key)
    }

    /// A request without a body (`method` picks GET, DELETE, …) and its answer.
    fn call_without_body(
        &self,
        method: impl FnOnce(&ureq::Agent, &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody>,
        path: &str,
        key: Option<&str>,
    ) -> Response {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut request = method(&agent, &format!("{}{path}", self.url));
        if let Some(key) = key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request.call().expect("the server answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Response {
            status,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        }
    }

    pub fn authenticate(&self, key: &str, user: &str, otp: &str) -> String {
        let body =
            serde_json::json!({ "username": user, "password": PASSWORD, "otp": otp }).to_string();
        let response = self.post("/api/v1/authenticate", Some(key), &body);
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.body["result"].as_str().unwrap().to_owned()
    }
}
