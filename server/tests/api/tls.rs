//! `khaosat serve --tls-cert --tls-key` serves HTTPS itself (rustls): a phone on
//! the local network needs a secure context for the service worker, storage,
//! camera and geolocation. Checked with Debian's openssl and curl, real TLS.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .args([
            "-subj",
            "/CN=khaosat test",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed (Debian package openssl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

fn curl(cert: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--include",
            "--max-time",
            "5",
            "--cacert",
        ])
        .arg(cert)
        .args(args)
        .output()
        .expect("curl is installed")
}

#[test]
fn the_server_speaks_https_with_hsts_and_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let site = crate::helpers::fake_site(dir.path());
    let port = crate::helpers::free_port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_khaosat"))
            .args([
                "serve",
                "--demo",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir.path().join("data"))
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .env("LEPTOS_SITE_ROOT", &site)
            .env_remove("KHAOSAT_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let health = format!("https://127.0.0.1:{port}/api/health");
    let deadline = Instant::now() + Duration::from_secs(60);
    let response = loop {
        let out = curl(&cert, &[&health]);
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no HTTPS answer: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(response.starts_with("HTTP/"), "{response}");
    assert!(response.contains(" 200"), "{response}");
    let lower = response.to_lowercase();
    assert!(
        lower.contains("strict-transport-security: max-age="),
        "{response}"
    );
    assert!(lower.contains("content-security-policy:"), "{response}");

    // Plain HTTP on the TLS port is not served.
    let plain = Command::new("curl")
        .args([
            "--silent",
            "--max-time",
            "5",
            &format!("http://127.0.0.1:{port}/api/health"),
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("\"ok\""));

    // The session cookie is Secure over HTTPS.
    let login = curl(
        &cert,
        &[
            "-H",
            "content-type: application/json",
            "--data",
            r#"{"username":"ksv1","password":"khaosat-demo"}"#,
            &format!("https://127.0.0.1:{port}/api/auth/login"),
        ],
    );
    let login = String::from_utf8_lossy(&login.stdout).to_lowercase();
    let cookie = login
        .lines()
        .find(|l| l.starts_with("set-cookie: khaosat_session="))
        .unwrap_or_else(|| panic!("no session cookie: {login}"));
    assert!(cookie.contains("; secure"), "{cookie}");
    assert!(cookie.contains("httponly"), "{cookie}");
}
