//! One file (about 565 lines): one clap tree and one short function per
//! subcommand, which share its parsing and its database arguments.
//!
//! The command line.

use crate::config::{DatabaseArgs, ServeConfig};
use app::model::Role;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "khaosat",
    version,
    about = "Offline-first field surveys for industrial-extension funding"
)]
struct Cli {
    /// `text` for people, `json` (one object per line) for log collectors.
    #[arg(long, global = true, env = "KHAOSAT_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeConfig,
}

/// Parses the command line. The serve flags may stand alone (`khaosat
/// --demo` serves), but before a subcommand they would be taken and then
/// ignored: `khaosat --data-dir /srv/khaosat backup --to …` backed up a new,
/// empty database in `./data-dir`, and said so with success. Refused instead,
/// with where the flag goes.
fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::{parser::ValueSource, CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(args)?;
    if let Some((name, _)) = matches.subcommand() {
        let misplaced = matches.ids().map(|id| id.as_str()).find(|id| {
            *id != "log_format" && matches.value_source(id) == Some(ValueSource::CommandLine)
        });
        if let Some(id) = misplaced {
            let flag = command
                .get_arguments()
                .find(|a| a.get_id().as_str() == id)
                .and_then(|a| a.get_long())
                .map_or_else(|| id.replace('_', "-"), str::to_string);
            let flag = format!("--{flag}");
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "{flag} before `{name}` would be ignored: put it after the subcommand (khaosat {name} … {flag} …)"
                ),
            ));
        }
    }
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app and the API (the default).
    Serve(Box<ServeConfig>),
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Load administrative units: a tree, or a mapping between two trees.
    Units {
        #[command(subcommand)]
        action: UnitsAction,
    },
    /// Survey forms as XLSForm spreadsheets (ODK, KoboToolbox).
    Forms {
        #[command(subcommand)]
        action: FormsAction,
    },
    /// Add N synthetic facilities with one proposal each to a district, for
    /// load tests and benchmarks (never on a production database).
    BulkDemo {
        #[arg(long, default_value_t = 10_000)]
        proposals: usize,
        /// Official district code (default: TP Bắc Giang, inspector ksv1's).
        #[arg(long, default_value = "213")]
        district: String,
        #[arg(long, default_value_t = 2020)]
        year: i32,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Write a consistent backup into a new directory: a snapshot of the
    /// database (taken while phones keep syncing), every photo, and a manifest
    /// with each photo's SHA-256 and each table's rows.
    Backup {
        /// A new (or empty) directory.
        #[arg(long)]
        to: std::path::PathBuf,
        /// The photo store (default: photos in the data directory).
        #[arg(long, env = "KHAOSAT_PHOTO_DIR")]
        photo_dir: Option<std::path::PathBuf>,
        /// Photos in S3-compatible storage, `s3://bucket/prefix` (see `serve`).
        #[arg(long, env = "KHAOSAT_PHOTO_STORE", conflicts_with = "photo_dir")]
        photo_store: Option<String>,
        #[command(flatten)]
        secret: crate::config::PassphraseArgs,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Restore a backup into an empty database (same engine) and an empty
    /// photo directory, checking every photo's hash and every table's rows.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        #[arg(long, env = "KHAOSAT_PHOTO_DIR")]
        photo_dir: Option<std::path::PathBuf>,
        /// Photos in S3-compatible storage, `s3://bucket/prefix` (see `serve`).
        #[arg(long, env = "KHAOSAT_PHOTO_STORE", conflicts_with = "photo_dir")]
        photo_store: Option<String>,
        #[command(flatten)]
        secret: crate::config::PassphraseArgs,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Remove deletions older than the retention now (the server also does it
    /// every six hours).
    Compact {
        #[arg(long, env = "KHAOSAT_TOMBSTONE_RETENTION_DAYS", default_value_t = app::store::compact::DEFAULT_RETENTION_DAYS)]
        retention_days: i64,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum UnitsAction {
    /// Load a unit tree (`code,name,kind,level,parent_code`, CSV or XLSX) with
    /// --tree and --effective-from, or a mapping between two loaded trees
    /// (`old_code,new_code`) with --from and --to. A file with any problem is
    /// refused whole, every problem listed.
    Import {
        file: std::path::PathBuf,
        /// Name of the tree, e.g. bac-ninh-2025.
        #[arg(long, requires = "effective_from", conflicts_with_all = ["from", "to"])]
        tree: Option<String>,
        /// The day the tree took effect, YYYY-MM-DD.
        #[arg(long)]
        effective_from: Option<String>,
        /// The tree the mapping's old codes belong to.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// The tree the mapping's new codes belong to.
        #[arg(long, requires = "from")]
        to: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List the loaded trees.
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum FormsAction {
    /// Convert an XLSForm workbook and publish it as a new version (the same
    /// checks as the administrator's screen). A file with any problem is
    /// refused whole, every problem listed; nothing is stored.
    Import {
        file: std::path::PathBuf,
        /// Only check and print the definition as JSON; publish nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Write a published version as an XLSForm workbook.
    Export {
        #[arg(long)]
        form_id: String,
        #[arg(long)]
        version: i64,
        /// Where to write the .xlsx.
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create an account; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// inspector, supervisor or administrator (repeat for several).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Official code of an administrative unit the user covers (repeatable).
        #[arg(long = "unit")]
        units: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (required: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

pub async fn run() -> ExitCode {
    let cli = match parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    if cli.log_format == "json" {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let result = match cli.command {
        None => crate::startup::serve(cli.serve).await,
        Some(Command::Serve(config)) => crate::startup::serve(*config).await,
        Some(Command::Compact { retention_days, db }) => compact(retention_days, db).await,
        Some(Command::Backup {
            to,
            photo_dir,
            photo_store,
            secret,
            db,
        }) => backup(to, photo_dir, photo_store, secret, db).await,
        Some(Command::Restore {
            from,
            photo_dir,
            photo_store,
            secret,
            db,
        }) => restore(from, photo_dir, photo_store, secret, db).await,
        Some(Command::Units { action }) => units(action).await,
        Some(Command::Forms { action }) => forms(action).await,
        Some(Command::BulkDemo {
            proposals,
            district,
            year,
            db,
        }) => bulk_demo(proposals, &district, year, db).await,
        Some(Command::User {
            action:
                UserAction::Create {
                    username,
                    roles,
                    units,
                    display_name,
                    db,
                    ..
                },
        }) => create_user(username, roles, units, display_name, db).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("khaosat: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn create_user(
    username: String,
    roles: Vec<String>,
    units: Vec<String>,
    display_name: Option<String>,
    db: DatabaseArgs,
) -> Result<(), String> {
    let roles: Vec<Role> = roles
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                format!("unknown role \"{r}\"; use inspector, supervisor or administrator")
            })
        })
        .collect::<Result<_, _>>()?;
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .map_err(|e| format!("could not read the password: {e}"))?;
    let password = password.trim_end_matches(['\n', '\r']);
    let db = crate::startup::open_database(&db.data_dir, &db.database_url()).await?;
    let id = app::store::users::create(
        &db,
        app::store::users::NewUser {
            username: &username,
            display_name: display_name.as_deref().unwrap_or(&username),
            password,
            roles: &roles,
            units: &units,
        },
    )
    .await
    .map_err(|e| e.body().message)?;
    println!("created user {username} ({id})");
    Ok(())
}

async fn backup(
    to: std::path::PathBuf,
    photo_dir: Option<std::path::PathBuf>,
    photo_store: Option<String>,
    secret: crate::config::PassphraseArgs,
    args: DatabaseArgs,
) -> Result<(), String> {
    args.require_existing()?;
    let passphrase = secret.passphrase()?;
    let storage =
        crate::config::open_photo_store(photo_dir, photo_store.as_deref(), &args.data_dir)?;
    let url = args.database_url();
    let db = crate::startup::open_database(&args.data_dir, &url).await?;
    let started = std::time::Instant::now();
    let manifest = crate::backup::backup(&db, &url, storage, &to, passphrase.as_ref()).await?;
    println!(
        "backed up {} visits and {} photo files into {}{} in {:.1} s",
        manifest.records.get("visits").copied().unwrap_or(0),
        manifest.photos.len(),
        to.display(),
        if manifest.encrypted {
            ", encrypted"
        } else {
            ""
        },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn restore(
    from: std::path::PathBuf,
    photo_dir: Option<std::path::PathBuf>,
    photo_store: Option<String>,
    secret: crate::config::PassphraseArgs,
    args: DatabaseArgs,
) -> Result<(), String> {
    let passphrase = secret.passphrase()?;
    let storage =
        crate::config::open_photo_store(photo_dir, photo_store.as_deref(), &args.data_dir)?;
    let started = std::time::Instant::now();
    let manifest = crate::backup::restore(
        &from,
        &args.database_url(),
        &args.data_dir,
        storage,
        passphrase.as_ref(),
    )
    .await?;
    println!(
        "restored {} visits and {} photo files from {} in {:.1} s; every hash and row count checked",
        manifest.records.get("visits").copied().unwrap_or(0),
        manifest.photos.len(),
        from.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn compact(retention_days: i64, db: DatabaseArgs) -> Result<(), String> {
    if retention_days < 1 {
        return Err("the retention must be at least one day".into());
    }
    db.require_existing()?;
    let db = crate::startup::open_database(&db.data_dir, &db.database_url()).await?;
    let report = crate::startup::compact_once(&db, retention_days).await?;
    println!(
        "removed {} visits, {} rows and {} facilities deleted more than {retention_days} days ago; cursors below {} must resync",
        report.visits, report.rows, report.facilities, report.horizon
    );
    Ok(())
}

async fn bulk_demo(n: usize, district: &str, year: i32, db: DatabaseArgs) -> Result<(), String> {
    let db = crate::startup::open_database(&db.data_dir, &db.database_url()).await?;
    app::store::seed::demo(&db)
        .await
        .map_err(|e| format!("loading the demo failed: {e}"))?;
    let added = app::store::seed::bulk(&db, district, n, year)
        .await
        .map_err(|e| e.body().message)?;
    println!("added {added} facilities and proposals to district {district}");
    Ok(())
}

/// Problems print in Vietnamese when the terminal's locale is Vietnamese.
fn cli_lang() -> app::i18n::Lang {
    let locale = std::env::var("LC_ALL")
        .or_else(|_| std::env::var("LANG"))
        .unwrap_or_default();
    if locale.starts_with("vi") {
        app::i18n::Lang::Vi
    } else {
        app::i18n::Lang::En
    }
}

async fn units(action: UnitsAction) -> Result<(), String> {
    use app::office::describe_problem as describe;
    use app::office::units::import::{import_mapping, import_tree, ImportError};
    match action {
        UnitsAction::List { db } => {
            db.require_existing()?;
            let db = crate::startup::open_database(&db.data_dir, &db.database_url()).await?;
            for tree in app::store::units::trees(&db)
                .await
                .map_err(|e| e.to_string())?
            {
                println!(
                    "{}\t{}\t{} units",
                    tree.name, tree.effective_from, tree.units
                );
            }
            Ok(())
        }
        UnitsAction::Import {
            file,
            tree,
            effective_from,
            from,
            to,
            db,
        } => {
            let bytes = read_bounded(&file)?;
            let db = crate::startup::open_database(&db.data_dir, &db.database_url()).await?;
            let (done, what) =
                match (tree, from, to) {
                    (Some(tree), _, _) => (
                        import_tree(
                            &db,
                            &tree,
                            effective_from.as_deref().unwrap_or_default(),
                            &bytes,
                        )
                        .await,
                        format!("tree {tree}"),
                    ),
                    (None, Some(from), Some(to)) => (
                        import_mapping(&db, &from, &to, &bytes).await,
                        format!("mapping {from} -> {to}"),
                    ),
                    _ => return Err(
                        "give --tree NAME --effective-from YYYY-MM-DD, or --from TREE --to TREE"
                            .into(),
                    ),
                };
            match done {
                Ok(loaded) => {
                    println!("loaded {what}: {} rows", loaded.rows);
                    Ok(())
                }
                Err(ImportError::Refused(problems)) => {
                    let lang = cli_lang();
                    for p in &problems {
                        eprintln!("{}", describe(lang, p));
                    }
                    Err(format!(
                        "{} refused: {} problem(s); nothing was stored",
                        file.display(),
                        problems.len()
                    ))
                }
                Err(ImportError::Failed(e)) => Err(e.to_string()),
            }
        }
    }
}

async fn forms(action: FormsAction) -> Result<(), String> {
    use app::office::admin::xlsform;
    match action {
        FormsAction::Import { file, dry_run, db } => {
            let bytes = read_limited(&file, xlsform::MAX_XLSFORM_BYTES as u64)?;
            let db = crate::startup::open_database(&db.data_dir, &db.database_url()).await?;
            let published = app::store::forms::list(&db)
                .await
                .map_err(|e| e.to_string())?;
            let next = |id: &str| app::store::forms::next_version(&published, id);
            let imported = match xlsform::import(&bytes, next) {
                Ok(imported) => imported,
                Err(problems) => {
                    for line in xlsform::lines(&problems, cli_lang()) {
                        eprintln!("{line}");
                    }
                    return Err(format!(
                        "{} refused: {} problem(s); nothing was stored",
                        file.display(),
                        problems.len()
                    ));
                }
            };
            for line in xlsform::lines(&imported.notes, cli_lang()) {
                eprintln!("note: {line}");
            }
            let form = imported.definition;
            if dry_run {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&form).map_err(|e| e.to_string())?
                );
                return Ok(());
            }
            app::store::forms::publish(&db, &form)
                .await
                .map_err(|e| e.body().message)?;
            println!(
                "published {} version {} ({} questions)",
                form.id,
                form.version,
                form.fields().count()
            );
            Ok(())
        }
        FormsAction::Export {
            form_id,
            version,
            out,
            db,
        } => {
            let db = crate::startup::open_database(&db.data_dir, &db.database_url()).await?;
            let form = app::store::forms::get(&db.pool, &form_id, version)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no form {form_id} version {version}"))?;
            let bytes = xlsform::export(&form)?;
            std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}

/// The file's bytes, refused before reading when it is larger than any unit
/// file may be.
fn read_bounded(path: &std::path::Path) -> Result<Vec<u8>, String> {
    read_limited(path, app::office::units::file::MAX_UNIT_FILE_BYTES as u64)
}

/// The file's bytes, refused before reading when larger than `limit`.
fn read_limited(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    if size > limit {
        return Err(format!(
            "{}: {size} bytes; this file may be at most {limit} bytes",
            path.display()
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}
