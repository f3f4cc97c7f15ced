//! `latchkey-load`: drives `POST /api/v1/authenticate` with valid OTPs that
//! are never repeated, for many seeded tokens, and reports accepted
//! verifications per second with latency percentiles.
//!
//! It seeds users with HOTP tokens through the admin API (so that every
//! token can accept an unbounded sequence of fresh codes: counter 0, 1, 2,
//! …), then opens `--concurrency` kept-alive connections, each owning a
//! slice of the tokens and sending one request at a time. With `--rate` the
//! load is paced (open loop) instead of as fast as possible.
//!
//! The generator shares the machine with the server, so the measuring part
//! is kept lean: a few event-loop threads (`--threads`) rather than a thread
//! per connection, requests written as bytes and answers read with
//! `httparse`, no JSON library on the hot path. `--healthz` sends
//! `GET /healthz` instead, the same way: the ceiling without a database.
//!
//! With `--radius HOST:PORT` the same tokens are driven over RADIUS
//! instead: one Access-Request in flight per worker, each with a fresh
//! code in User-Password (a client registered `--mode otp-only`) and a
//! Message-Authenticator, every reply verified. `--pap-user` and
//! `--pap-password` send that one static PAP password instead and seed
//! nothing: the ceiling of any RADIUS server (FreeRADIUS answering from its
//! `users` file), for comparison.

use std::io::Write as _;
use std::time::{Duration, Instant};

use clap::Parser;
use latchkey_api as wire;
use latchkey_oath::{Hotp, KeyUri};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Load generator for Latchkey's authentication API.
#[derive(Parser, Debug)]
#[command(name = "latchkey-load", version)]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    server: String,
    /// An admin API key (latchkey admin apikey create NAME --role admin)
    #[arg(long, env = "LATCHKEY_LOAD_ADMIN_KEY")]
    admin_key: String,
    /// How many users, each with one HOTP token
    #[arg(long, default_value_t = 1000)]
    tokens: usize,
    /// Connections, each with one request in flight
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Event-loop threads that drive the connections
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Send GET /healthz instead (no database: the HTTP ceiling); seeds nothing
    #[arg(long)]
    healthz: bool,
    /// Seconds to run
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Requests per second in all (paced, open loop); as fast as possible when absent
    #[arg(long)]
    rate: Option<f64>,
    /// Print one JSON line instead of text
    #[arg(long)]
    json: bool,
    /// Send RADIUS Access-Requests to this UDP address instead of HTTP
    #[arg(long, value_name = "HOST:PORT")]
    radius: Option<std::net::SocketAddr>,
    /// The RADIUS shared secret
    #[arg(long, env = "LATCHKEY_LOAD_RADIUS_SECRET", default_value = "")]
    radius_secret: String,
    /// With --radius: send this user with --pap-password, seeding nothing
    #[arg(long, requires = "pap_password")]
    pap_user: Option<String>,
    /// The static PAP password for --pap-user
    #[arg(long)]
    pap_password: Option<String>,
}

struct Seeded {
    username: String,
    hotp: Hotp,
    counter: u64,
}

/// What a connection sends: authentications for its tokens, or health checks.
enum Work {
    Authenticate(Vec<Seeded>),
    Healthz,
    /// Access-Requests with the tokens' fresh codes.
    Radius(Vec<Seeded>),
    /// Access-Requests with one static user and password.
    Pap(String, String),
}

fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Sends one of the API's requests; answers the status and the body's text.
fn post(
    agent: &ureq::Agent,
    url: &str,
    key: &str,
    body: &impl serde::Serialize,
) -> Result<(u16, String), String> {
    let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let mut response = agent
        .post(url)
        .header("Authorization", &format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .send(&body[..])
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, text))
}

#[allow(
    clippy::expect_used,
    reason = "each expect here names the invariant that makes it unreachable"
)]
fn seed(args: &Args, run: &str) -> Result<(String, Vec<Seeded>), String> {
    let agent = new_agent();
    let base = args.server.trim_end_matches('/');
    let (status, text) = post(
        &agent,
        &format!("{base}/api/v1/apikeys"),
        &args.admin_key,
        &wire::CreateApiKeyRequest {
            name: format!("load-{run}"),
            role: None,
        },
    )?;
    let created: wire::CreatedApiKey = match serde_json::from_str(&text) {
        Ok(created) if status == 201 => created,
        _ => {
            return Err(format!(
                "creating an authenticate key failed ({status}): {text}"
            ));
        }
    };
    let auth_key = created.key.as_str().to_owned();
    let threads = args.concurrency.clamp(1, 16);
    let chunks: Vec<Vec<usize>> = (0..threads)
        .map(|t| (t..args.tokens).step_by(threads).collect())
        .collect();
    let results: Vec<Result<Vec<Seeded>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|indices| {
                scope.spawn(move || {
                    let agent = new_agent();
                    let mut out = Vec::with_capacity(indices.len());
                    for i in indices {
                        let username = format!("load-{run}-{i}");
                        let (status, text) = post(
                            &agent,
                            &format!("{base}/api/v1/users"),
                            &args.admin_key,
                            &wire::AddUserRequest {
                                email: None,
                                password: None,
                                role: None,
                                username: username.clone(),
                            },
                        )?;
                        if status != 201 {
                            return Err(format!("adding {username} failed ({status}): {text}"));
                        }
                        let (status, text) = post(
                            &agent,
                            &format!("{base}/api/v1/tokens"),
                            &args.admin_key,
                            &wire::IssueTokenRequest {
                                kind: Some(wire::TokenKind::Hotp.as_str().into()),
                                username: username.clone(),
                            },
                        )?;
                        let issued: Option<wire::IssuedToken> =
                            serde_json::from_str(&text).ok().filter(|_| status == 201);
                        let uri = issued
                            .and_then(|i| i.otpauth_uri)
                            .ok_or_else(|| format!("issuing a token failed ({status}): {text}"))?;
                        let hotp = KeyUri::parse(&uri)
                            .map_err(|e| e.to_string())?
                            .hotp()
                            .map_err(|e| e.to_string())?;
                        out.push(Seeded {
                            username,
                            hotp,
                            counter: 0,
                        });
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a seeding thread panicked"))
            .collect()
    });
    let mut tokens = Vec::with_capacity(args.tokens);
    for result in results {
        tokens.extend(result?);
    }
    Ok((auth_key, tokens))
}

/// One connection's count. Latencies in microseconds: `service` from the
/// moment the request was written, `due` from the moment the schedule meant
/// to send it (the same unless paced and late: that wait counts too).
#[derive(Default)]
struct Tally {
    accepted: u64,
    rejected: u64,
    errors: u64,
    service_us: Vec<u32>,
    due_us: Vec<u32>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.errors += other.errors;
        self.service_us.extend(other.service_us);
        self.due_us.extend(other.due_us);
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

fn micros(since: Instant) -> u32 {
    since.elapsed().as_micros().min(u128::from(u32::MAX)) as u32
}

/// Where the connections go (`HOST:PORT`) and the key they present.
struct Target {
    host: String,
    auth_key: String,
    /// RADIUS: the server and the secret.
    radius: Option<(std::net::SocketAddr, latchkey_radius::SharedSecret)>,
}

fn target(server: &str, auth_key: String) -> Result<Target, String> {
    let host = server
        .trim_end_matches('/')
        .strip_prefix("http://")
        .ok_or("the load generator speaks plain http:// only (loopback)")?;
    if host.contains('/') {
        return Err("give the server as http://HOST:PORT, without a path".into());
    }
    Ok(Target {
        host: host.to_owned(),
        auth_key,
        radius: None,
    })
}

/// The next request on this connection, written into `out`.
fn next_request(work: &mut Work, turn: usize, target: &Target, out: &mut Vec<u8>) {
    out.clear();
    match work {
        Work::Healthz => {
            let _ = write!(
                out,
                "GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n",
                target.host
            );
        }
        Work::Radius(_) | Work::Pap(..) => {}
        Work::Authenticate(tokens) => {
            let count = tokens.len();
            let token = &mut tokens[turn % count];
            let otp = token.hotp.generate(token.counter);
            token.counter += 1;
            // `seed` makes user names of letters, digits and dashes, and OTPs
            // are digits: nothing here needs JSON escaping.
            let body_len = r#"{"username":"","otp":""}"#.len() + token.username.len() + otp.len();
            let _ = write!(
                out,
                "POST /api/v1/authenticate HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n\
                 {{\"username\":\"{}\",\"otp\":\"{otp}\"}}",
                target.host, target.auth_key, token.username
            );
        }
    }
}

/// Reads one HTTP/1.1 answer (status line, headers, a `Content-Length`
/// body) from `stream`; returns the status and the body. `buffer` carries
/// bytes between calls.
async fn read_response(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(buffer).map_err(|e| e.to_string())? {
            httparse::Status::Complete(head_len) => {
                let status = response.code.unwrap_or(0);
                let body_len: usize = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                    .ok_or("an answer without Content-Length")?;
                while buffer.len() < head_len + body_len {
                    read_more(stream, buffer).await?;
                }
                let body = buffer[head_len..head_len + body_len].to_vec();
                buffer.drain(..head_len + body_len);
                return Ok((status, body));
            }
            httparse::Status::Partial => read_more(stream, buffer).await?,
        }
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 4096];
    let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
    if read == 0 {
        return Err("the server closed the connection".into());
    }
    buffer.extend_from_slice(&chunk[..read]);
    Ok(())
}

/// One RADIUS worker: a UDP socket of its own, one Access-Request in
/// flight, each reply verified (Response Authenticator and
/// Message-Authenticator) before it counts.
async fn drive_radius(
    mut work: Work,
    target: &Target,
    deadline: Instant,
    first_due: Instant,
    interval: Option<Duration>,
) -> Tally {
    use latchkey_radius::{Code, MessageAuthenticatorPolicy, Packet, PacketBuilder};
    let mut tally = Tally::default();
    let Some((server, secret)) = &target.radius else {
        tally.errors += 1;
        return tally;
    };
    let socket = match tokio::net::UdpSocket::bind(if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })
    .await
    {
        Ok(socket) if socket.connect(server).await.is_ok() => socket,
        _ => {
            tally.errors += 1;
            return tally;
        }
    };
    // Latchkey signs every reply; a static PAP server for comparison
    // (FreeRADIUS 3.2.1) may not, and its Response Authenticator still
    // has to verify.
    let policy = match work {
        Work::Pap(..) => MessageAuthenticatorPolicy::IfPresent,
        _ => MessageAuthenticatorPolicy::Required,
    };
    let mut buffer = vec![0u8; 4096];
    let (mut due, mut turn, mut identifier) = (first_due, 0usize, 0u8);
    while Instant::now() < deadline {
        if interval.is_some() {
            tokio::time::sleep_until(due.into()).await;
        }
        let mut authenticator = [0u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut authenticator);
        identifier = identifier.wrapping_add(1);
        let (user, password) = match &mut work {
            Work::Radius(tokens) => {
                let count = tokens.len();
                let token = &mut tokens[turn % count];
                let otp = token.hotp.generate(token.counter);
                token.counter += 1;
                (token.username.clone(), otp)
            }
            Work::Pap(user, password) => (user.clone(), password.clone()),
            _ => break,
        };
        turn += 1;
        let mut request = PacketBuilder::request(Code::ACCESS_REQUEST, identifier, authenticator);
        let encoded = request
            .user_name(user.as_bytes())
            .and_then(|r| r.user_password(password.as_bytes()))
            .and_then(|r| r.nas_identifier(b"latchkey-load"))
            .and_then(|r| r.encode(secret));
        let Ok(encoded) = encoded else {
            tally.errors += 1;
            break;
        };
        let sent = Instant::now();
        if interval.is_none() {
            due = sent;
        }
        let answer = match socket.send(&encoded).await {
            Ok(_) => tokio::time::timeout(Duration::from_secs(3), socket.recv(&mut buffer)).await,
            Err(_) => {
                tally.errors += 1;
                break;
            }
        };
        tally.service_us.push(micros(sent));
        tally.due_us.push(micros(due));
        if let Some(interval) = interval {
            due += interval;
        }
        let Ok(Ok(length)) = answer else {
            tally.errors += 1;
            continue;
        };
        match Packet::decode(&buffer[..length]) {
            Ok(reply)
                if reply.identifier() == identifier
                    && reply.verify_reply(&authenticator, secret, policy).is_ok() =>
            {
                if reply.code() == Code::ACCESS_ACCEPT {
                    tally.accepted += 1;
                } else {
                    tally.rejected += 1;
                }
            }
            _ => tally.errors += 1,
        }
    }
    tally
}

/// One connection: sends until `deadline`, one request in flight, paced by
/// `interval` from `first_due` when given.
async fn drive(
    mut work: Work,
    target: &Target,
    deadline: Instant,
    first_due: Instant,
    interval: Option<Duration>,
) -> Tally {
    if matches!(work, Work::Radius(_) | Work::Pap(..)) {
        return drive_radius(work, target, deadline, first_due, interval).await;
    }
    let mut tally = Tally::default();
    let mut stream = match TcpStream::connect(&target.host).await {
        Ok(stream) => stream,
        Err(_) => {
            tally.errors += 1;
            return tally;
        }
    };
    let _ = stream.set_nodelay(true);
    let (mut request, mut buffer) = (Vec::with_capacity(512), Vec::with_capacity(4096));
    let mut due = first_due;
    let mut turn = 0;
    while Instant::now() < deadline {
        if interval.is_some() {
            tokio::time::sleep_until(due.into()).await;
        }
        next_request(&mut work, turn, target, &mut request);
        turn += 1;
        let sent = Instant::now();
        if interval.is_none() {
            due = sent;
        }
        let answer = match stream.write_all(&request).await {
            Ok(()) => read_response(&mut stream, &mut buffer).await,
            Err(e) => Err(e.to_string()),
        };
        tally.service_us.push(micros(sent));
        tally.due_us.push(micros(due));
        if let Some(interval) = interval {
            due += interval;
        }
        match (&work, answer) {
            (Work::Healthz, Ok((200, _))) => tally.accepted += 1,
            // The request above is written by hand for speed; the answer is
            // read as the wire type, which borrows from the body and so
            // allocates nothing.
            (Work::Authenticate(_), Ok((200, body)))
                if serde_json::from_slice::<wire::AuthenticateResponse>(&body)
                    .is_ok_and(|a| a.result == wire::AuthResult::Accept) =>
            {
                tally.accepted += 1
            }
            (_, Ok((200, _))) => tally.rejected += 1,
            (_, Ok(_)) => tally.errors += 1,
            (_, Err(_)) => {
                // A broken connection ends this worker; it counts once.
                tally.errors += 1;
                break;
            }
        }
    }
    tally
}

fn main() {
    let args = Args::parse();
    let run = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros()
            % 0xffff_ffff
    );
    let seeding = Instant::now();
    let (auth_key, tokens) = if args.healthz || args.pap_user.is_some() {
        (String::new(), Vec::new())
    } else {
        match seed(&args, &run) {
            Ok(seeded) => seeded,
            Err(e) => {
                eprintln!("latchkey-load: {e}");
                std::process::exit(1);
            }
        }
    };
    let seed_seconds = seeding.elapsed().as_secs_f64();
    let target = match target(&args.server, auth_key) {
        Ok(mut target) => {
            if let Some(server) = args.radius {
                match latchkey_radius::SharedSecret::new(args.radius_secret.as_bytes()) {
                    Ok(secret) => target.radius = Some((server, secret)),
                    Err(_) => {
                        eprintln!("latchkey-load: --radius needs --radius-secret");
                        std::process::exit(2);
                    }
                }
            }
            target
        }
        Err(e) => {
            eprintln!("latchkey-load: {e}");
            std::process::exit(2);
        }
    };
    let workers = if args.healthz || args.pap_user.is_some() {
        args.concurrency.max(1)
    } else {
        args.concurrency.max(1).min(tokens.len().max(1))
    };
    let mut slices: Vec<Work> = (0..workers)
        .map(|_| match (&args.pap_user, &args.pap_password) {
            (Some(user), Some(password)) if args.radius.is_some() => {
                Work::Pap(user.clone(), password.clone())
            }
            _ if args.healthz => Work::Healthz,
            _ if args.radius.is_some() => Work::Radius(Vec::new()),
            _ => Work::Authenticate(Vec::new()),
        })
        .collect();
    for (i, token) in tokens.into_iter().enumerate() {
        if let Work::Authenticate(mine) | Work::Radius(mine) = &mut slices[i % workers] {
            mine.push(token);
        }
    }
    let interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(workers as f64 / rate));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("latchkey-load: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let target = std::sync::Arc::new(target);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.duration);
    let all = runtime.block_on(async {
        let tasks: Vec<_> = slices
            .into_iter()
            .enumerate()
            .map(|(i, work)| {
                let target = std::sync::Arc::clone(&target);
                // Paced connections start spread over one interval, so the
                // requests arrive evenly rather than in bursts of `workers`.
                let first_due = started
                    + interval.map_or(Duration::ZERO, |every| every * i as u32 / workers as u32);
                tokio::spawn(
                    async move { drive(work, &target, deadline, first_due, interval).await },
                )
            })
            .collect();
        let mut all = Tally::default();
        for task in tasks {
            match task.await {
                Ok(tally) => all.merge(tally),
                Err(_) => all.errors += 1,
            }
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    let Tally {
        accepted,
        rejected,
        errors,
        mut service_us,
        mut due_us,
    } = all;
    service_us.sort_unstable();
    due_us.sort_unstable();
    let report = json!({
        "target": match (args.radius, args.healthz, &args.pap_user) {
            (Some(_), _, Some(_)) => "RADIUS static PAP",
            (Some(_), _, None) => "RADIUS Access-Request (otp-only)",
            (None, true, _) => "GET /healthz",
            (None, false, _) => "POST /api/v1/authenticate",
        },
        "tokens": if args.healthz { 0 } else { args.tokens },
        "concurrency": workers,
        "threads": args.threads.max(1),
        "rate_target": args.rate,
        "seconds": elapsed,
        "seed_seconds": seed_seconds,
        "requests": service_us.len(),
        "accepted": accepted,
        "rejected": rejected,
        "errors": errors,
        "accepted_per_second": accepted as f64 / elapsed,
        "p50_ms": percentile(&service_us, 0.50),
        "p90_ms": percentile(&service_us, 0.90),
        "p99_ms": percentile(&service_us, 0.99),
        "max_ms": percentile(&service_us, 1.0),
        "p99_from_due_ms": percentile(&due_us, 0.99),
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{}: {} connections{}, {:.1} s: {} requests, {accepted} accepted, {rejected} rejected, {errors} errors\n\
             accepted/s: {:.0}\nlatency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  (p99 from due time {:.2})\n(seeding took {:.1} s)",
            report["target"].as_str().unwrap_or_default(),
            workers,
            args.rate
                .map(|r| format!(" paced at {r:.0}/s"))
                .unwrap_or_default(),
            elapsed,
            service_us.len(),
            accepted as f64 / elapsed,
            report["p50_ms"].as_f64().unwrap_or(0.0),
            report["p90_ms"].as_f64().unwrap_or(0.0),
            report["p99_ms"].as_f64().unwrap_or(0.0),
            report["max_ms"].as_f64().unwrap_or(0.0),
            report["p99_from_due_ms"].as_f64().unwrap_or(0.0),
            seed_seconds
        );
    }
    if rejected > 0 || errors > 0 {
        eprintln!(
            "latchkey-load: every request sent should succeed (every OTP is valid and fresh), so every rejection or error is a failure"
        );
        std::process::exit(1);
    }
}
