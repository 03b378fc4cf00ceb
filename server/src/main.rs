//! The `khaosat` binary: parse the command line and hand over to the library.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    server::cli::run().await
}
