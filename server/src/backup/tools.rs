//! PostgreSQL's client tools: `pg_dump` and `pg_restore`, plain or streaming
//! through the backup's encryption.

use super::files::{open_sealed, write_sealed};
use super::seal::Seal;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// Points a client tool at the database `url` with its password, if any, in
/// the tool's environment (`PGPASSWORD`): a command line is readable by every
/// local user in `/proc/<pid>/cmdline`, and the scheduled backup runs one a day.
pub(super) fn target(command: &mut std::process::Command, url: &str) {
    let (url, password) = without_password(url);
    command.arg(format!("--dbname={url}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
}

/// `postgres://user:secret@host/db` as `postgres://user@host/db` and the
/// password, percent-decoded as libpq reads it.
fn without_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_string(), None);
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_string(), None);
    };
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(percent_decoded(password)),
    )
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = || std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok();
        match (bytes[i], hex().and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a PostgreSQL client tool; its error output becomes the message.
pub(super) async fn run(
    mut command: std::process::Command,
    name: &'static str,
) -> Result<(), String> {
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot run {name} (install postgresql-client): {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// `pg_dump` to its standard output, encrypted into `to` as it streams.
pub(super) async fn dump_sealed(
    mut command: std::process::Command,
    seal: Arc<Seal>,
    to: PathBuf,
) -> Result<(), String> {
    tokio::task::spawn_blocking(move || {
        use std::process::Stdio;
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run pg_dump (install postgresql-client): {e}"))?;
        let errors = drain(child.stderr.take());
        let mut stdout = child.stdout.take().expect("piped");
        let written = write_sealed(&seal, &to, &mut stdout);
        let status = child.wait().map_err(|e| e.to_string())?;
        let errors = errors.join().unwrap_or_default();
        if !status.success() {
            return Err(format!("pg_dump failed ({status}): {}", errors.trim()));
        }
        written
            .map(drop)
            .map_err(|e| format!("cannot encrypt the dump: {e}"))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// `pg_restore` reading the decrypted dump from its standard input.
pub(super) async fn restore_sealed(
    mut command: std::process::Command,
    seal: Arc<Seal>,
    from: PathBuf,
) -> Result<(), String> {
    tokio::task::spawn_blocking(move || {
        use std::process::Stdio;
        let mut input = open_sealed(Some(&seal), &from)
            .map_err(|e| format!("cannot open the database dump: {e}"))?;
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run pg_restore (install postgresql-client): {e}"))?;
        let errors = drain(child.stderr.take());
        let mut stdin = child.stdin.take().expect("piped");
        let fed = std::io::copy(&mut input, &mut stdin);
        drop(stdin);
        let status = child.wait().map_err(|e| e.to_string())?;
        let errors = errors.join().unwrap_or_default();
        if !status.success() {
            return Err(format!("pg_restore failed ({status}): {}", errors.trim()));
        }
        fed.map(drop)
            .map_err(|e| format!("cannot decrypt the dump: {e}"))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Reads a child's error output on a thread of its own, so a full pipe never
/// stalls it.
pub(super) fn drain(stream: Option<std::process::ChildStderr>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut s) = stream {
            let _ = s.read_to_string(&mut text);
        }
        text
    })
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        assert_eq!(
            without_password(
                "postgres://khaosat:S3cr%40t@db.internal:5432/khaosat?sslmode=require"
            ),
            (
                "postgres://khaosat@db.internal:5432/khaosat?sslmode=require".to_string(),
                Some("S3cr@t".to_string())
            )
        );
        for plain in [
            "postgres://khaosat@db.internal/khaosat",
            "postgres:///khaosat?host=/run/postgresql",
            "postgresql://db.internal/k",
        ] {
            assert_eq!(without_password(plain), (plain.to_string(), None));
        }
    }
}
