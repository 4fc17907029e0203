//! The `firstseen` command: parse arguments, run, map the outcome to an
//! exit code (0 found / all good, 1 not found, 2 error, 130 interrupted).

mod cli;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("firstseen: {}", one_line(&e));
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}

/// The error and its causes on one line, each cause once: a cause whose
/// text its parent already shows is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut previous = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        // A cause that only adds a code to its parent's words ("Error
        // code 14: unable to open database file") is not repeated either.
        let restated = !previous.is_empty() && text.ends_with(&previous);
        if !out.contains(&text) && !restated {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        previous = text;
    }
    out
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
