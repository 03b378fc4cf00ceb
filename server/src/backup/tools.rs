//! PostgreSQL's client tools: `pg_dump` and `pg_restore`, plain or streaming
//! through the backup's encryption.

use super::files::{open_sealed, write_sealed};
use super::seal::Seal;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

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
