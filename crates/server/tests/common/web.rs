//! A portal visitor without a browser: keeps its cookies, follows no
//! redirects (so each answer can be checked), and fills in the CSRF field
//! of forms from the last page it fetched.
#![allow(dead_code)]

use std::collections::BTreeMap;

use latchkey_core::oath::{Hotp, KeyUri};

use super::{Database, PASSWORD};

pub struct Page {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    /// The text of the element with class `alert`, if any.
    pub fn alert(&self) -> Option<String> {
        let start = self.body.find("class=\"alert\"")?;
        let rest = &self.body[start..];
        let open = rest.find('>')? + 1;
        let close = rest[open..].find('<')?;
        Some(rest[open..open + close].to_owned())
    }
}

pub struct Visitor {
    pub base: String,
    agent: ureq::Agent,
    pub cookies: BTreeMap<String, String>,
    csrf: Option<String>,
    /// Sent as `X-Forwarded-For` on every request, for a server that
    /// trusts 127.0.0.1 as its proxy: the visitor's address as it sees it.
    pub forwarded_for: Option<String>,
}

fn csrf_in(body: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

impl Visitor {
    pub fn new(base: &str) -> Visitor {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Visitor {
            base: base.to_owned(),
            agent,
            cookies: BTreeMap::new(),
            csrf: None,
            forwarded_for: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, mut response: ureq::http::Response<ureq::Body>) -> Page {
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        for (name, value) in &headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap_or("");
            if let Some((cookie, content)) = pair.split_once('=') {
                if value.contains("Max-Age=0") {
                    self.cookies.remove(cookie);
                } else {
                    self.cookies.insert(cookie.to_owned(), content.to_owned());
                }
            }
        }
        if let Some(token) = csrf_in(&body) {
            self.csrf = Some(token);
        }
        Page {
            status,
            body,
            headers,
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        let mut request = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header());
        if let Some(address) = &self.forwarded_for {
            request = request.header("X-Forwarded-For", address);
        }
        let response = request.call().expect("the portal answers");
        self.absorb(response)
    }

    /// Posts a form with the CSRF token of the last page (fetching `/login`
    /// first if no page has given one yet).
    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        if self.csrf.is_none() {
            self.get("/login");
        }
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, None)
    }

    /// Posts exactly these fields, optionally with another `Host` header.
    pub fn post_raw(&mut self, path: &str, fields: &[(&str, &str)], host: Option<&str>) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter())
            .finish();
        let mut request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Cookie", &self.cookie_header());
        if let Some(host) = host {
            request = request.header("Host", host);
        }
        if let Some(address) = &self.forwarded_for {
            request = request.header("X-Forwarded-For", address);
        }
        let response = request.send(body.as_bytes()).expect("the portal answers");
        self.absorb(response)
    }

    pub fn csrf(&mut self) -> String {
        if self.csrf.is_none() {
            self.get("/login");
        }
        self.csrf.clone().unwrap()
    }

    /// The session cookie's value, if any.
    pub fn session(&self) -> Option<String> {
        self.cookies.get("latchkey_session").cloned()
    }

    /// Password, then OTP: a full session; the page after the OTP.
    pub fn sign_in(&mut self, user: &str, password: &str, otp: &str) -> Page {
        let page = self.post("/login", &[("username", user), ("password", password)]);
        assert_eq!(page.status, 303, "password step: {}", page.body);
        assert_eq!(page.location(), Some("/login/otp"));
        self.post("/login/otp", &[("otp", otp)])
    }
}

/// A user with an HOTP token whose codes the test computes, so it can sign
/// in as often as it likes without waiting for time steps.
pub struct Account {
    pub name: String,
    hotp: Hotp,
    counter: u64,
}

impl Account {
    /// Adds `name` with an e-mail address and an HOTP token.
    pub fn new(db: &Database, name: &str) -> Account {
        let out = db.admin(
            &[
                "user",
                "add",
                name,
                "--email",
                &format!("{name}@example.org"),
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        );
        assert!(out.status.success(), "user add: {}", super::stderr(&out));
        let issued = db.admin_json(&["token", "issue", name, "--kind", "hotp"]);
        let uri = issued["otpauth_uri"].as_str().expect("an otpauth URI");
        let hotp = KeyUri::parse(uri).unwrap().hotp().unwrap();
        Account {
            name: name.to_owned(),
            hotp,
            counter: 0,
        }
    }

    pub fn next_otp(&mut self) -> String {
        let code = self.hotp.generate(self.counter);
        self.counter += 1;
        code
    }

    /// Signs in fully and answers the first-time questions, so the account
    /// has security answers: question ids 1..=5, answers "answer N".
    pub fn sign_in_with_answers(&mut self, visitor: &mut Visitor) {
        let otp = self.next_otp();
        let page = visitor.sign_in(&self.name, PASSWORD, &otp);
        assert_eq!(page.status, 303, "OTP step: {}", page.body);
        if page.location() == Some("/self-service/questions") {
            visitor.get("/self-service/questions");
            let fields: Vec<(String, String)> = (1..=5)
                .flat_map(|i| {
                    [
                        (format!("question_{i}"), i.to_string()),
                        (format!("answer_{i}"), format!("answer {i}")),
                    ]
                })
                .collect();
            let borrowed: Vec<(&str, &str)> = fields
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let page = visitor.post("/self-service/questions", &borrowed);
            assert_eq!(page.status, 303, "answers: {}", page.body);
        }
    }
}
