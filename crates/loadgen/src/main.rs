//! `latchkey-load`: drives `POST /api/v1/authenticate` with valid OTPs that
//! are never repeated, for many seeded tokens, and reports accepted
//! verifications per second with latency percentiles.
//!
//! It seeds users with HOTP tokens through the admin API (so that every
//! token can accept an unbounded sequence of fresh codes: counter 0, 1, 2,
//! …), then runs worker threads, each owning a slice of the tokens and
//! sending one request at a time on a kept-alive connection. With `--rate`
//! the load is paced (open loop) instead of as fast as possible.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use latchkey_oath::{Hotp, KeyUri};
use serde_json::{Value, json};

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
    /// Worker threads, each with one connection and one request in flight
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds to run
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Requests per second in all (paced); as fast as possible when absent
    #[arg(long)]
    rate: Option<f64>,
    /// Print one JSON line instead of text
    #[arg(long)]
    json: bool,
}

struct Seeded {
    username: String,
    hotp: Hotp,
    counter: u64,
}

fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn post(agent: &ureq::Agent, url: &str, key: &str, body: &Value) -> Result<(u16, Value), String> {
    let mut response = agent
        .post(url)
        .header("Authorization", &format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn seed(args: &Args, run: &str) -> Result<(String, Vec<Seeded>), String> {
    let agent = new_agent();
    let base = args.server.trim_end_matches('/');
    let (status, key) = post(
        &agent,
        &format!("{base}/api/v1/apikeys"),
        &args.admin_key,
        &json!({"name": format!("load-{run}")}),
    )?;
    if status != 201 {
        return Err(format!(
            "creating an authenticate key failed ({status}): {key}"
        ));
    }
    let auth_key = key["key"]
        .as_str()
        .ok_or("no key in the answer")?
        .to_owned();
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
                        let (status, body) = post(
                            &agent,
                            &format!("{base}/api/v1/users"),
                            &args.admin_key,
                            &json!({"username": username}),
                        )?;
                        if status != 201 {
                            return Err(format!("adding {username} failed ({status}): {body}"));
                        }
                        let (status, body) = post(
                            &agent,
                            &format!("{base}/api/v1/tokens"),
                            &args.admin_key,
                            &json!({"username": username, "kind": "hotp"}),
                        )?;
                        let uri = body["otpauth_uri"]
                            .as_str()
                            .ok_or_else(|| format!("issuing a token failed ({status}): {body}"))?;
                        let hotp = KeyUri::parse(uri)
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

#[derive(Default)]
struct Tally {
    accepted: u64,
    rejected: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
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
    let (auth_key, tokens) = match seed(&args, &run) {
        Ok(seeded) => seeded,
        Err(e) => {
            eprintln!("latchkey-load: {e}");
            std::process::exit(1);
        }
    };
    let seed_seconds = seeding.elapsed().as_secs_f64();
    let workers = args.concurrency.max(1).min(tokens.len().max(1));
    let mut slices: Vec<Vec<Seeded>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, token) in tokens.into_iter().enumerate() {
        slices[i % workers].push(token);
    }
    let url = format!("{}/api/v1/authenticate", args.server.trim_end_matches('/'));
    let stop = Arc::new(AtomicBool::new(false));
    let interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(workers as f64 / rate));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.duration);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = slices
            .into_iter()
            .map(|mut mine| {
                let (url, auth_key, stop) = (&url, &auth_key, stop.clone());
                scope.spawn(move || {
                    let agent = new_agent();
                    let mut tally = Tally::default();
                    let mut next_send = Instant::now();
                    let mut turn = 0usize;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        if let Some(interval) = interval {
                            let now = Instant::now();
                            if next_send > now {
                                std::thread::sleep(next_send - now);
                            }
                            next_send += interval;
                        }
                        let count = mine.len();
                        let token = &mut mine[turn % count];
                        turn += 1;
                        let otp = token.hotp.generate(token.counter);
                        token.counter += 1;
                        let sent = Instant::now();
                        let result = post(
                            &agent,
                            url,
                            auth_key,
                            &json!({"username": token.username, "otp": otp}),
                        );
                        let micros = sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                        tally.latencies_us.push(micros);
                        match result {
                            Ok((200, body)) if body["result"] == "accept" => tally.accepted += 1,
                            Ok((200, _)) => tally.rejected += 1,
                            _ => tally.errors += 1,
                        }
                    }
                    tally
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker panicked"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = Tally::default();
    for tally in tallies {
        all.accepted += tally.accepted;
        all.rejected += tally.rejected;
        all.errors += tally.errors;
        all.latencies_us.extend(tally.latencies_us);
    }
    all.latencies_us.sort_unstable();
    let requests = all.latencies_us.len();
    let report = json!({
        "tokens": args.tokens,
        "concurrency": workers,
        "rate_target": args.rate,
        "seconds": elapsed,
        "seed_seconds": seed_seconds,
        "requests": requests,
        "accepted": all.accepted,
        "rejected": all.rejected,
        "errors": all.errors,
        "accepted_per_second": all.accepted as f64 / elapsed,
        "p50_ms": percentile(&all.latencies_us, 0.50),
        "p90_ms": percentile(&all.latencies_us, 0.90),
        "p99_ms": percentile(&all.latencies_us, 0.99),
        "max_ms": percentile(&all.latencies_us, 1.0),
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{} tokens, {} workers{}, {:.1} s: {} requests, {} accepted, {} rejected, {} errors\n\
             accepted verifications/s: {:.0}\nlatency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}\n(seeding took {:.1} s)",
            args.tokens,
            workers,
            args.rate
                .map(|r| format!(" paced at {r:.0}/s"))
                .unwrap_or_default(),
            elapsed,
            requests,
            all.accepted,
            all.rejected,
            all.errors,
            all.accepted as f64 / elapsed,
            report["p50_ms"].as_f64().unwrap_or(0.0),
            report["p90_ms"].as_f64().unwrap_or(0.0),
            report["p99_ms"].as_f64().unwrap_or(0.0),
            report["max_ms"].as_f64().unwrap_or(0.0),
            seed_seconds
        );
    }
    if all.rejected > 0 || all.errors > 0 {
        eprintln!(
            "latchkey-load: every OTP sent was valid and fresh, so every rejection or error is a failure"
        );
        std::process::exit(1);
    }
}
