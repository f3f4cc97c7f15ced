//! Headless Chromium driven over the W3C WebDriver protocol by the real
//! chromedriver (Debian's `chromium` and `chromium-driver`; `.ci/run`
//! installs them). The protocol is a handful of JSON calls, spoken here
//! with the same blocking HTTP client the other tests use.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    endpoint: String,
    session: String,
    agent: ureq::Agent,
    shots: PathBuf,
    step: usize,
    downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find_program(name: &str, candidates: &[&str]) -> PathBuf {
    for candidate in candidates {
        let path = Path::new(candidate);
        if path.exists() {
            return path.to_owned();
        }
    }
    panic!(
        "{name} is not installed (looked at {candidates:?}); install Debian's chromium and chromium-driver packages, as .ci/run does"
    );
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; screenshots go to
    /// `target/tmp/portal-screenshots/<journey>/`.
    pub fn start(journey: &str) -> Browser {
        Browser::start_with(journey, None)
    }

    /// Like [`Browser::start`], with more Chromium command-line flags (for
    /// instance `--ignore-certificate-errors-spki-list=…` to trust one
    /// test CA).
    pub fn start_with_flags(journey: &str, flags: &[String]) -> Browser {
        Browser::start_with_options(journey, None, flags)
    }

    /// Like [`Browser::start`], but emulating a phone: a 390×844 CSS-pixel
    /// screen at three device pixels per CSS pixel, with touch events and a
    /// phone's user agent (Chromium's own mobile emulation).
    pub fn start_phone(journey: &str) -> Browser {
        Browser::start_with(
            journey,
            Some(json!({
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0, "touch": true, "mobile": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36"
            })),
        )
    }

    fn start_with(journey: &str, mobile_emulation: Option<Value>) -> Browser {
        Browser::start_with_options(journey, mobile_emulation, &[])
    }

    fn start_with_options(
        journey: &str,
        mobile_emulation: Option<Value>,
        flags: &[String],
    ) -> Browser {
        let chromedriver = find_program("chromedriver", &["/usr/bin/chromedriver"]);
        let chromium = find_program("chromium", &["/usr/bin/chromium"]);
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let endpoint = format!("http://127.0.0.1:{port}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let started = Instant::now();
        loop {
            let ready = agent
                .get(&format!("{endpoint}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let downloads = tempfile::tempdir().unwrap();
        let window = if mobile_emulation.is_some() {
            "--window-size=390,844"
        } else {
            "--window-size=1000,900"
        };
        let mut options = json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", window,
                format!("--user-data-dir={}", profile.path().display()),
            ]
        });
        if let Some(args) = options["args"].as_array_mut() {
            args.extend(flags.iter().map(|flag| json!(flag)));
        }
        options["prefs"] = json!({
            "download.default_directory": downloads.path().display().to_string(),
            "download.prompt_for_download": false,
        });
        if let Some(emulation) = mobile_emulation {
            options["mobileEmulation"] = emulation;
        }
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": options
            }}
        });
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("portal-screenshots")
            .join(journey);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        let mut browser = Browser {
            driver,
            endpoint,
            session: String::new(),
            agent,
            shots,
            step: 0,
            downloads,
            _profile: profile,
        };
        let answer = browser.call("POST", "/session", Some(capabilities));
        browser.session = answer["sessionId"]
            .as_str()
            .expect("a WebDriver session id")
            .to_owned();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}/session/{}{path}", self.endpoint, self.session)
        };
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string().as_bytes()),
        };
        let mut response = response.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status().as_u16();
        let value: Value = response.body_mut().read_json().unwrap_or(Value::Null);
        assert!(
            status < 400,
            "WebDriver {method} {path} failed ({status}): {}",
            value["value"]["message"]
        );
        value["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The path of the current page (no origin, no query).
    pub fn path(&self) -> String {
        let url = self.url();
        let rest = url.splitn(4, '/').nth(3).unwrap_or("");
        format!("/{}", rest.split('?').next().unwrap_or(""))
    }

    /// The path once it is `want`, or whatever it is after ten seconds (a
    /// click does not wait for the page it leads to).
    pub fn wait_for_path(&self, want: &str) -> String {
        let started = Instant::now();
        loop {
            let path = self.path();
            if path == want || started.elapsed() > Duration::from_secs(10) {
                return path;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    pub fn try_find(&self, css: &str) -> Option<String> {
        let url = format!("{}/session/{}/element", self.endpoint, self.session);
        let mut response = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(
                json!({ "using": "css selector", "value": css })
                    .to_string()
                    .as_bytes(),
            )
            .ok()?;
        if response.status().as_u16() >= 400 {
            return None;
        }
        let value: Value = response.body_mut().read_json().ok()?;
        value["value"][ELEMENT].as_str().map(str::to_owned)
    }

    /// The element, waiting up to `seconds` for it to appear.
    pub fn wait_find(&self, css: &str, seconds: u64) -> Option<String> {
        let started = Instant::now();
        loop {
            if let Some(element) = self.try_find(css) {
                return Some(element);
            }
            if started.elapsed() > Duration::from_secs(seconds) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn find(&self, css: &str) -> String {
        self.wait_find(css, 10).unwrap_or_else(|| {
            panic!(
                "no element {css:?} on {}; the page was:\n{}",
                self.url(),
                self.text("body")
            )
        })
    }

    pub fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.call(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/clear"), None);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/click"), None);
    }

    pub fn text(&self, css: &str) -> String {
        match self.wait_find(css, 5) {
            Some(element) => self
                .call("GET", &format!("/element/{element}/text"), None)
                .as_str()
                .unwrap_or("")
                .to_owned(),
            None => String::new(),
        }
    }

    pub fn element_text(&self, element: &str) -> String {
        self.call("GET", &format!("/element/{element}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    pub fn attribute(&self, element: &str, name: &str) -> Option<String> {
        self.call("GET", &format!("/element/{element}/attribute/{name}"), None)
            .as_str()
            .map(str::to_owned)
    }

    /// Resizes the window (CSS pixels), e.g. to a phone's width.
    pub fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// Whether the page is wider than the window (a horizontal scroll bar).
    /// The pages have no script; the test asks the browser directly.
    pub fn scrolls_sideways(&self) -> bool {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({
                "script": "return document.documentElement.scrollWidth > document.documentElement.clientWidth;",
                "args": []
            })),
        )
        .as_bool()
        .unwrap_or(true)
    }

    /// Runs `script` (a function body) in the page; what it returns.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs `script` in the page and waits until it calls its last
    /// argument (the WebDriver callback); the value it passed.
    pub fn execute_async(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Sets the script timeout (for `execute_async`), in milliseconds.
    pub fn script_timeout(&self, ms: u64) {
        self.call("POST", "/timeouts", Some(json!({ "script": ms })));
    }

    /// A Chrome DevTools Protocol command through chromedriver; its answer.
    pub fn cdp(&self, command: &str, params: Value) -> Value {
        self.call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": command, "params": params })),
        )
    }

    /// Reloads the page (keeping the profile: IndexedDB, service workers).
    pub fn refresh(&self) {
        self.call("POST", "/refresh", None);
    }

    /// Gives a file input the file at `path`, as a person choosing it would.
    pub fn choose_file(&self, css: &str, path: &Path) {
        let element = self.find(css);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": path.display().to_string() })),
        );
    }

    /// Waits up to `seconds` until `script` (a function body) returns
    /// true in the page; whether it did.
    pub fn wait_until(&self, script: &str, seconds: u64) -> bool {
        let started = Instant::now();
        loop {
            if self.execute(script, json!([])).as_bool() == Some(true) {
                return true;
            }
            if started.elapsed() > Duration::from_secs(seconds) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The file the page downloaded as `name`, waiting up to `seconds` for
    /// it; removed from the downloads folder once read.
    pub fn downloaded(&self, name: &str, seconds: u64) -> Vec<u8> {
        let path = self.downloads.path().join(name);
        let started = Instant::now();
        loop {
            if path.exists() {
                let bytes = std::fs::read(&path).unwrap();
                if !bytes.is_empty() {
                    std::fs::remove_file(&path).unwrap();
                    return bytes;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(seconds),
                "no download {name}; the folder holds {:?}",
                std::fs::read_dir(self.downloads.path())
                    .unwrap()
                    .flatten()
                    .map(|e| e.file_name())
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The folder the screenshots go to.
    pub fn screenshot_folder(&self) -> &Path {
        &self.shots
    }

    /// Saves a screenshot of the page as `NN-name.png`; its path.
    pub fn screenshot(&mut self, name: &str) -> PathBuf {
        self.step += 1;
        let encoded = self.call("GET", "/screenshot", None);
        let bytes = data_encoding::BASE64
            .decode(encoded.as_str().expect("a base64 screenshot").as_bytes())
            .expect("valid base64");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
        let path = self.shots.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(&format!("{}/session/{}", self.endpoint, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
