use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = tidings::config::Cli::parse();
    tidings::cli::init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tidings::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the driver put in its message.
            let msg = format!("{e:#}");
            let one_line: Vec<&str> = msg
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("error: {}", one_line.join(" "));
            std::process::ExitCode::FAILURE
        }
    }
}
