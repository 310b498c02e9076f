use std::process::ExitCode;

use local_gateway::cli::{self, Command, USAGE};

#[tokio::main]
async fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1), |name| std::env::var(name).ok()) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("local-gateway: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("local-gateway {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Run(config) => {
            local_gateway::init_logging();
            match local_gateway::app::run(config).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("local-gateway: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
