//! The `jieneng` binary: parses the command line and runs `cli::run`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = jieneng::cli::Cli::parse();
    // Benchmarks print figures; their simulated faults would only drown them in warnings.
    let level = if matches!(cli.command, jieneng::cli::Command::Bench(_)) {
        "error"
    } else {
        "info"
    };
    jieneng::cli::init_logging(cli.log_json, level);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(jieneng::cli::run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
