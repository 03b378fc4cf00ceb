//! The `khaosat` subcommands as an operator runs them, on the real binary:
//! `user create` bootstraps accounts, `units` and `forms` import and export,
//! `backup` and `restore` round-trip (plain and encrypted).
//!
//! One file (about 570 lines): each test drives the binary the same way and
//! reads its output; a folder would split one small harness across files.

use std::io::Write;
use std::process::{Command, Stdio};

fn create_user(data_dir: &std::path::Path, args: &[&str], password: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .args(["user", "create", "--password-stdin", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env_remove("KHAOSAT_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn user_create_makes_an_account_that_can_log_in_on_a_fresh_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = create_user(
        dir.path(),
        &[
            "--username",
            "Admin",
            "--role",
            "administrator",
            "--unit",
            "24",
        ],
        "mot-mat-khau-rat-dai\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let url = format!("sqlite://{}", dir.path().join("khaosat.db").display());
    let db = app::store::Db::connect(&url).await.unwrap();
    let user = app::store::users::authenticate(&db, "admin", "mot-mat-khau-rat-dai")
        .await
        .unwrap();
    assert_eq!(user.roles, vec![app::model::Role::Administrator]);
    assert_eq!(user.units, vec!["bac-giang-2020/24".to_string()]);
    // A fresh database without --demo has the units and the default form, no demo.
    assert_eq!(app::store::units::count(&db).await.unwrap(), 51);
    assert_eq!(app::store::users::count(&db).await.unwrap(), 1);
}

#[tokio::test]
async fn user_create_refuses_bad_input_with_a_reason_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str, &str); 3] = [
        (
            &["--username", "a", "--role", "inspector"],
            "short",
            "at least 10 characters",
        ),
        (
            &["--username", "b", "--role", "boss"],
            "mot-mat-khau-dai",
            "unknown role",
        ),
        (
            &["--username", "c", "--role", "inspector", "--unit", "999"],
            "mot-mat-khau-dai",
            "no administrative unit with code 999",
        ),
    ];
    for (args, password, reason) in cases {
        let out = create_user(dir.path(), args, password);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{stderr}");
    }
    let url = format!("sqlite://{}", dir.path().join("khaosat.db").display());
    let db = app::store::Db::connect(&url).await.unwrap();
    assert_eq!(app::store::users::count(&db).await.unwrap(), 0);
}

#[tokio::test]
async fn compact_removes_old_deletions_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("khaosat.db").display());
    let db = server::startup::open_database(dir.path(), &url)
        .await
        .unwrap();
    assert!(app::store::seed::demo(&db).await.unwrap());
    db.pool.close().await;
    let run = |days: &str| {
        Command::new(env!("CARGO_BIN_EXE_khaosat"))
            .args(["compact", "--retention-days", days, "--data-dir"])
            .arg(dir.path())
            .env_remove("KHAOSAT_DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = run("180");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed 0 visits"));
    let out = run("0");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least one day"));
    // "For ever", written as a huge number: the cutoff overflowed (a panic
    // here; in a release build it wrapped into the future and every
    // tombstone went).
    let out = run("999999999999");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed 0 visits"));
}

fn khaosat(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("KHAOSAT_DATABASE_URL")
        .env("LANG", "vi_VN.UTF-8")
        .output()
        .unwrap()
}

#[test]
fn units_import_loads_trees_and_mappings_and_refuses_bad_files_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/units/");
    let out = khaosat(
        dir.path(),
        &[
            "units",
            "import",
            &format!("{data}vn-2025-bac-ninh.csv"),
            "--tree",
            "bac-ninh-2025",
            "--effective-from",
            "2025-07-01",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "loaded tree bac-ninh-2025: 100 rows"
    );
    // The full 2020 file extends the built-in 2020 tree (51 units) to 220.
    let out = khaosat(
        dir.path(),
        &[
            "units",
            "import",
            &format!("{data}vn-2020-bac-giang.csv"),
            "--tree",
            "bac-giang-2020",
            "--effective-from",
            "2020-01-01",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = khaosat(
        dir.path(),
        &[
            "units",
            "import",
            &format!("{data}bac-giang-2020-to-2025.csv"),
            "--from",
            "bac-giang-2020",
            "--to",
            "bac-ninh-2025",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("209 rows"));

    // A bad file: every problem on stderr by row and column, in the terminal's
    // language, a failing exit, and nothing stored.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "Mã,Tên,Loại,Cấp,Mã cấp trên\n90,Thử,tỉnh,province,\n90001,,xã,commune,90\n90002,Hai,xã,commune,99990\n",
    )
    .unwrap();
    let out = khaosat(
        dir.path(),
        &[
            "units",
            "import",
            bad.to_str().unwrap(),
            "--tree",
            "thu-nghiem",
            "--effective-from",
            "2026-01-01",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Dòng 3, cột “Tên”: Ô này không được để trống."),
        "{stderr}"
    );
    assert!(stderr.contains("Dòng 4, cột “Mã cấp trên”"), "{stderr}");
    assert!(stderr.contains("nothing was stored"), "{stderr}");
    let listed = khaosat(dir.path(), &["units", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "bac-giang-2020\t2020-01-01\t220 units\nbac-ninh-2025\t2025-07-01\t100 units\n"
    );
}

/// `khaosat forms import` checks a workbook (every problem printed, in
/// Vietnamese under a Vietnamese locale, nothing stored) or publishes it;
/// `khaosat forms export` writes a version back as an XLSForm of itself.
#[test]
fn forms_import_and_export_xlsform_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let kobo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../app/tests/xlsform/kobo_style.xlsx"
    );
    let bad = dir.path().join("bad.xlsx");
    std::fs::write(&bad, b"not a workbook").unwrap();
    let out = khaosat(dir.path(), &["forms", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Không đọc được tệp"), "{err}");
    assert!(err.contains("nothing was stored"), "{err}");

    let out = khaosat(dir.path(), &["forms", "import", kobo, "--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (printed["id"].as_str(), printed["version"].as_i64()),
        (Some("khuyen-cong"), Some(2))
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("note: survey!2 type (A)"));

    let out = khaosat(dir.path(), &["forms", "import", kobo]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("published khuyen-cong version 2"));

    let exported = dir.path().join("v2.xlsx");
    let out = khaosat(
        dir.path(),
        &[
            "forms",
            "export",
            "--form-id",
            "khuyen-cong",
            "--version",
            "2",
            "--out",
            exported.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again =
        app::office::admin::xlsform::import(&std::fs::read(&exported).unwrap(), |_| 99).unwrap();
    assert_eq!(serde_json::to_value(&again.definition).unwrap(), printed);
}

/// `khaosat` with `args` in `cwd`, none of the settings' variables set.
fn clean_run(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .args(args)
        .current_dir(cwd)
        .env_remove("KHAOSAT_DATABASE_URL")
        .env_remove("KHAOSAT_DATA_DIR")
        .env_remove("KHAOSAT_PHOTO_DIR")
        .env_remove("KHAOSAT_BACKUP_PASSPHRASE")
        .output()
        .unwrap()
}

/// A SQLite database of `proposals` synthetic proposals in `dir`.
fn bulk_demo(dir: &std::path::Path, proposals: usize) {
    let made = clean_run(
        dir.parent().unwrap(),
        &[
            "bulk-demo",
            "--proposals",
            &proposals.to_string(),
            "--data-dir",
            dir.to_str().unwrap(),
        ],
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
}

/// `khaosat backup` and `khaosat restore` from the command line (SQLite): the
/// restore says what it checked, and refuses a database that has data.
#[test]
fn backup_and_restore_commands_round_trip_and_refuse_a_used_database() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| clean_run(dir.path(), args);
    let source = dir.path().join("source");
    bulk_demo(&source, 20);
    let to = dir.path().join("backup");
    let out = run(&[
        "backup",
        "--to",
        to.to_str().unwrap(),
        "--data-dir",
        source.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("backed up"));
    let again = run(&[
        "backup",
        "--to",
        to.to_str().unwrap(),
        "--data-dir",
        source.to_str().unwrap(),
    ]);
    assert!(
        !again.status.success(),
        "a backup never writes into a used directory"
    );

    let target = dir.path().join("target");
    let out = run(&[
        "restore",
        "--from",
        to.to_str().unwrap(),
        "--data-dir",
        target.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("every hash and row count checked"));
    let out = run(&[
        "restore",
        "--from",
        to.to_str().unwrap(),
        "--data-dir",
        source.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("not empty"), "{message}");

    // Encrypted: the passphrase from a file; a restore needs the same one.
    let secret = dir.path().join("passphrase");
    std::fs::write(&secret, "một câu dài mà chỉ tỉnh biết\n").unwrap();
    let sealed = dir.path().join("sealed");
    let with_secret = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--passphrase-file", secret.to_str().unwrap()]);
        run(&all)
    };
    let out = with_secret(&[
        "backup",
        "--to",
        sealed.to_str().unwrap(),
        "--data-dir",
        source.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(", encrypted"));
    let opened = dir.path().join("opened");
    let restore = [
        "restore",
        "--from",
        sealed.to_str().unwrap(),
        "--data-dir",
        opened.to_str().unwrap(),
    ];
    let out = run(&restore);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("--passphrase-file"), "{message}");
    let out = with_secret(&restore);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let short = dir.path().join("short");
    std::fs::write(&short, "ngắn").unwrap();
    let out = run(&[
        "backup",
        "--to",
        dir.path().join("never").to_str().unwrap(),
        "--data-dir",
        source.to_str().unwrap(),
        "--passphrase-file",
        short.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"));
    assert!(!dir.path().join("never").exists());
}

/// `khaosat --data-dir /srv/khaosat backup --to …` took the flag at the top,
/// ignored it, created `./data-dir/khaosat.db` and backed that up, empty,
/// with success. A cron job without KHAOSAT_DATA_DIR did the same every night.
#[test]
fn a_flag_before_the_subcommand_or_a_missing_database_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let source = dir.path().join("source");
    let run = |args: &[&str]| clean_run(&cwd, args);
    bulk_demo(&source, 3);

    let to = dir.path().join("backup");
    let out = run(&[
        "--data-dir",
        source.to_str().unwrap(),
        "backup",
        "--to",
        to.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--data-dir before `backup` would be ignored"),
        "{said}"
    );
    let out = run(&["--data-dir", source.to_str().unwrap(), "units", "list"]);
    assert!(!out.status.success());
    // Named as it is written, not by the field behind it.
    let out = run(&["--trusted-proxy", "127.0.0.1", "units", "list"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("--trusted-proxy before `units`"), "{said}");

    // No data directory given at all: nothing to back up, said so.
    let out = run(&["backup", "--to", to.to_str().unwrap()]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("no khaosat database at"), "{said}");
    for args in [
        &["units", "list"][..],
        &["compact", "--retention-days", "30"][..],
    ] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?}");
    }
    assert!(!to.exists(), "no backup directory");
    assert!(
        !cwd.join("data-dir").exists(),
        "no database made in the working directory"
    );

    // Where the flags belong, and alone before nothing (serve's), as before.
    let out = run(&[
        "backup",
        "--to",
        to.to_str().unwrap(),
        "--data-dir",
        source.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "--log-format",
        "json",
        "units",
        "list",
        "--data-dir",
        source.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["--data-dir", source.to_str().unwrap(), "--help"]);
    assert!(out.status.success());
}

/// `--help` printed `[env: KHAOSAT_DATABASE_URL=postgres://…:password@…]`.
#[test]
fn help_keeps_the_database_password_to_itself() {
    let out = Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .args(["backup", "--help"])
        .env(
            "KHAOSAT_DATABASE_URL",
            "postgres://khaosat:S3cretPw@db.internal/khaosat",
        )
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--database-url"), "{help}");
    assert!(!help.contains("S3cretPw"), "{help}");
}

/// PostgreSQL down or at the wrong port: the command waited 30 s, then said
/// the database was "busy with other requests", which it was not.
#[test]
fn a_database_server_that_refuses_says_so() {
    let out = Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .args([
            "units",
            "list",
            "--database-url",
            "postgres://khaosat:pw@127.0.0.1:1/khaosat",
        ])
        // It waits for a database that starts late; not for this one.
        .env("KHAOSAT_DB_WAIT_SECS", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("cannot open the database"), "{said}");
    assert!(said.to_lowercase().contains("refused"), "{said}");
    assert!(!said.contains("busy"), "{said}");
    assert!(!said.contains(":pw@"), "{said}");
}
