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
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeConfig,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app and the API (the default).
    Serve(ServeConfig),
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        None => crate::startup::serve(cli.serve).await,
        Some(Command::Serve(config)) => crate::startup::serve(config).await,
        Some(Command::Compact { retention_days, db }) => compact(retention_days, db).await,
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

async fn compact(retention_days: i64, db: DatabaseArgs) -> Result<(), String> {
    if retention_days < 1 {
        return Err("the retention must be at least one day".into());
    }
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
