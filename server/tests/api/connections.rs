//! The real binary on loopback, as a slow or hostile client meets it: request
//! heads that never finish and idle keep-alive connections are closed, bodies
//! that stop arriving get 408, a declared body over its route's limit gets 413
//! before a byte is read, and one address cannot hold more connections than
//! its cap. Bounded in connections and time; no sockets leave the machine.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `khaosat serve` on SQLite with a stand-in site, plus `args`.
fn start(args: &[&str]) -> Server {
    start_on("127.0.0.1", args)
}

/// `start` listening on `host` ("[::]" for both IPv6 and IPv4).
fn start_on(host: &str, args: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let site = crate::helpers::fake_site(dir.path());
    let port = crate::helpers::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .args([
            "serve",
            "--demo",
            "--addr",
            &format!("{host}:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .args(args)
        .env("LEPTOS_SITE_ROOT", &site)
        .env_remove("KHAOSAT_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(answer) = exchange(
            port,
            b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        ) {
            if answer.starts_with("HTTP/1.1 200") {
                return server;
            }
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Sends `request` and reads the whole answer (the server closes after it).
fn exchange(port: u16, request: &[u8]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(request)?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Reads until the server closes the connection; returns what it sent.
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                panic!(
                    "the server kept the connection open: {}",
                    String::from_utf8_lossy(&answer)
                )
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn resident_kb(server: &Server) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

#[test]
fn unfinished_request_heads_and_idle_connections_are_closed() {
    let server = start(&["--header-timeout-secs", "2"]);
    // Slowloris: half a request head, then silence, on many connections.
    let mut slow: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut s = connect(server.port);
            s.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ")
                .unwrap();
            s
        })
        .collect();
    // A finished request on a kept-alive connection, then idleness.
    let mut idle = connect(server.port);
    idle.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    for s in slow.iter_mut() {
        let answer = read_until_closed(s);
        assert!(
            !answer.contains(" 200 "),
            "a half-sent request was answered: {answer}"
        );
    }
    read_until_closed(&mut idle);
    // And the server still serves.
    let answer = exchange(
        server.port,
        b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn a_body_that_stops_arriving_gets_408() {
    let server = start(&["--body-timeout-secs", "2"]);
    let mut s = connect(server.port);
    s.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\":",
    )
    .unwrap();
    let answer = read_until_closed(&mut s);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request.timeout"), "{answer}");
}

#[test]
fn a_declared_body_over_the_limit_is_refused_at_once_and_costs_no_memory() {
    let server = start(&[]);
    // Ten gigabytes declared, nothing sent: the answer cannot wait for the body.
    let mut s = connect(server.port);
    s.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n",
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");

    // 200 logins declaring and sending 2 MB each: all refused, memory flat.
    let (before, _) = resident_kb(&server);
    let body = vec![b' '; 2 * 1024 * 1024];
    let port = server.port;
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut refused = 0;
                for _ in 0..25 {
                    let mut s = connect(port);
                    let head = format!(
                        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    s.write_all(head.as_bytes()).unwrap();
                    // The answer comes from the head alone; the body follows
                    // as an attacker would send it (the server may have closed).
                    let mut answer = [0u8; 12];
                    if s.read_exact(&mut answer).is_ok() && &answer == b"HTTP/1.1 413" {
                        refused += 1;
                    }
                    let _ = s.write_all(&body);
                }
                refused
            })
        })
        .collect();
    let refused: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(refused, 200);
    let (_, peak) = resident_kb(&server);
    assert!(
        peak < before + 100 * 1024,
        "resident memory went from {before} kB to a peak of {peak} kB"
    );
}

#[test]
fn one_address_cannot_hold_more_connections_than_its_cap() {
    let server = start(&[
        "--max-connections-per-address",
        "5",
        "--header-timeout-secs",
        "60",
    ]);
    let held: Vec<TcpStream> = (0..5).map(|_| connect(server.port)).collect();
    // Let the server account for them before the next one arrives.
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = loop {
        let mut extra = connect(server.port);
        extra
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut answer = Vec::new();
        let _ = extra.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        if answer.starts_with("HTTP/1.1 503") {
            break answer;
        }
        assert!(
            Instant::now() < deadline,
            "the sixth connection was never refused"
        );
    };
    assert!(refused.contains("server.too_many_connections"), "{refused}");
    // One closes: another may come in.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = exchange(
            server.port,
            b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "{answer}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// On a dual-stack listener (`--addr [::]:…`) an IPv4 proxy's connections
/// arrive as ::ffff:127.0.0.1. Compared as that, `--trusted-proxy 127.0.0.1`
/// never matched: the proxy was held to one address's cap (and every phone
/// behind it shared one address's login limits).
#[test]
fn a_trusted_proxy_is_known_on_a_dual_stack_listener() {
    let server = start_on(
        "[::]",
        &[
            "--max-connections-per-address",
            "1",
            "--trusted-proxy",
            "127.0.0.1",
            "--header-timeout-secs",
            "60",
        ],
    );
    // Accepted in the order they connected, before the request below.
    let held: Vec<TcpStream> = (0..3).map(|_| connect(server.port)).collect();
    let answer = exchange(
        server.port,
        b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(held);
}
