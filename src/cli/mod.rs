//! Command-line front end: argument parsing (clap derive), one module per
//! subcommand, human or `--json` output. No hashing or storage logic
//! lives here; it all comes from the library.

mod archive;
mod check;
mod correct;
mod decode;
mod export;
mod generate;
mod hash;
mod import;
mod log;
mod output;
mod progress;
mod report;
mod search;
mod serve;
mod show;
mod sight;
mod status;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use decode::DecodeArgs;
use firstseen::decode::Limits;

/// Exit code: success / everything found.
pub const EXIT_OK: u8 = 0;
/// Exit code: something was not found (`check`, `show`).
pub const EXIT_NOT_FOUND: u8 = 1;
/// Exit code: an error (a file failed, bad arguments, catalog error).
pub const EXIT_ERROR: u8 = 2;
/// Exit code: interrupted by Ctrl-C (work done so far is kept).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Have we seen this image before, where, and when first?
///
/// firstseen archives photos with where they came from and when they were
/// first seen, and tells whether a circulating copy (resized,
/// recompressed, cropped, mirrored, rotated) is already known.
///
/// Exit codes: 0 success (for `check`: every file is known), 1 not found
/// (`check`: some file is unknown; `show`: no such item), 2 error (some
/// file failed, or bad arguments), 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "firstseen", version, max_term_width = 100)]
pub struct Cli {
    /// Archive directory [default: the per-user data directory, e.g.
    /// ~/.local/share/firstseen].
    #[arg(
        long,
        global = true,
        env = "FIRSTSEEN_ARCHIVE",
        value_name = "DIR",
        help_heading = "Global options"
    )]
    archive: Option<PathBuf>,

    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,

    /// Print on stderr, at the end, where the time went: each stage's
    /// time summed over files and threads, and the wall-clock total.
    #[arg(long, global = true, help_heading = "Global options")]
    timings: bool,

    /// Print only results and errors: no progress bar, no summary line,
    /// no warnings.
    #[arg(long, short = 'q', global = true, help_heading = "Global options")]
    quiet: bool,

    /// Colour in text output: `auto` (only on a terminal, and not when
    /// NO_COLOR is set), `always` or `never`.
    #[arg(long, global = true, value_enum, default_value_t = output::ColorChoice::Auto,
          value_name = "WHEN", help_heading = "Global options")]
    color: output::ColorChoice,

    /// Limits and sampling for the commands that decode, here or after
    /// the command.
    #[command(flatten)]
    decode: DecodeArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Archive(archive::Args),
    Check(check::Args),
    Hash(hash::Args),
    Search(search::Args),
    Show(show::Args),
    Amend(correct::AmendArgs),
    Retract(correct::RetractArgs),
    Redact(correct::RedactArgs),
    Sight(sight::Args),
    Log(log::Args),
    Export(export::Args),
    Import(import::Args),
    Status(status::Args),
    Verify(verify::Args),
    Report(report::Args),
    Serve(serve::Args),
    Completions(generate::CompletionsArgs),
    Man(generate::ManArgs),
}

/// What every subcommand gets besides its own arguments.
pub struct Context {
    archive_dir: Option<PathBuf>,
    json: bool,
    limits: Limits,
    stop: Arc<AtomicBool>,
}

impl Context {
    fn archive_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.archive_dir {
            return Ok(dir.clone());
        }
        let dirs = directories::ProjectDirs::from("", "", "firstseen")
            .context("cannot find a home directory for the default archive; pass --archive DIR")?;
        Ok(dirs.data_dir().to_path_buf())
    }

    fn open_archive(&self) -> anyhow::Result<firstseen::Archive> {
        Ok(firstseen::Archive::open(&self.archive_dir()?)?)
    }

    fn interrupted(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Runs the parsed command line.
///
/// # Errors
/// Errors that stop the whole command (per-file errors are printed and
/// reflected in the exit code instead).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    if cli.timings {
        firstseen::timings::enable();
    }
    let decode = match &cli.command {
        Command::Archive(a) => a.decode.or(&cli.decode),
        Command::Check(a) => a.decode.or(&cli.decode),
        Command::Hash(a) => a.decode.or(&cli.decode),
        Command::Report(a) => a.decode.or(&cli.decode),
        Command::Serve(a) => a.decode.or(&cli.decode),
        _ => cli.decode.clone(),
    };
    firstseen::decode::budget::set_budget(decode.max_memory());
    output::set_color(cli.color);
    output::set_quiet(cli.quiet);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // Finish the file being stored, then stop: nothing half-written.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::Relaxed) {
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        });
    }
    let ctx = Context {
        archive_dir: cli.archive,
        json: cli.json,
        limits: decode.limits(),
        stop,
    };
    let code = match cli.command {
        Command::Archive(a) => archive::run(a, &ctx)?,
        Command::Check(a) => check::run(a, &ctx)?,
        Command::Hash(a) => hash::run(a, &ctx)?,
        Command::Search(a) => search::run(a, &ctx)?,
        Command::Show(a) => show::run(a, &ctx)?,
        Command::Amend(a) => correct::amend(a, &ctx)?,
        Command::Retract(a) => correct::retract(a, &ctx)?,
        Command::Redact(a) => correct::redact(a, &ctx)?,
        Command::Sight(a) => sight::run(a, &ctx)?,
        Command::Log(a) => log::run(a, &ctx)?,
        Command::Export(a) => export::run(a, &ctx)?,
        Command::Import(a) => import::run(a, &ctx)?,
        Command::Status(a) => status::run(a, &ctx)?,
        Command::Verify(a) => verify::run(a, &ctx)?,
        Command::Report(a) => report::run(a, &ctx)?,
        Command::Serve(a) => serve::run(a, &ctx)?,
        Command::Completions(a) => generate::completions(&a)?,
        Command::Man(a) => generate::man(&a)?,
    };
    if cli.timings {
        print_timings(started.elapsed());
    }
    Ok(ExitCode::from(if ctx.interrupted() {
        EXIT_INTERRUPTED
    } else {
        code
    }))
}

/// The `--timings` table, on stderr.
fn print_timings(wall: std::time::Duration) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    eprintln!("timings (each stage summed over files and threads):");
    for t in firstseen::timings::totals() {
        eprintln!("  {:<24} {:>10.1} ms  ({}×)", t.stage, ms(t.time), t.count);
    }
    eprintln!(
        "  {:<24} {:>10.1} ms",
        "wall clock, whole command",
        ms(wall)
    );
    let mb = |b: u64| b as f64 / f64::from(1 << 20);
    let (_, peak) = firstseen::decode::budget::usage();
    eprintln!(
        "memory: pictures in hand at most {:.0} MB (budget {:.0} MB)",
        mb(peak),
        mb(firstseen::decode::budget::budget())
    );
    if let Some(kb) = peak_resident_kb() {
        eprintln!("memory: peak resident {:.0} MB", kb as f64 / 1024.0);
    }
}

/// The process's peak resident memory, where the system tells it
/// (Linux: `VmHWM` in /proc/self/status).
fn peak_resident_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A byte count with an optional K, M or G suffix (powers of 1024).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("unknown unit '{unit}' (use K, M or G)")),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("not a byte count: '{s}'"))?;
    n.checked_mul(1 << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("out of range: '{s}'"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn byte_counts_take_suffixes() {
        assert_eq!(super::parse_bytes("512"), Ok(512));
        assert_eq!(super::parse_bytes("400M"), Ok(400 << 20));
        assert_eq!(super::parse_bytes("2g"), Ok(2 << 30));
        assert!(super::parse_bytes("0").is_err());
        assert!(super::parse_bytes("12X").is_err());
        assert!(super::parse_bytes("M").is_err());
        assert!(super::parse_bytes("99999999999G").is_err());
    }
}
