//! `firstseen completions SHELL` and `firstseen man`: shell completions
//! and manual pages generated from the command-line definition itself,
//! so they never drift from it.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::CommandFactory as _;

use super::EXIT_OK;

/// Print a shell completion script on standard output.
///
/// bash: `firstseen completions bash > ~/.local/share/bash-completion/completions/firstseen`;
/// zsh: into a folder on `$fpath` as `_firstseen`; fish:
/// `~/.config/fish/completions/firstseen.fish`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Print the manual page (roff) on standard output, or write one page per
/// command into a folder.
///
/// `firstseen man | man -l -` shows it; `firstseen man --dir DIR` writes
/// `firstseen.1`, `firstseen-archive.1`, … into DIR.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write every page into this folder instead.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<u8> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "firstseen", &mut std::io::stdout());
    Ok(EXIT_OK)
}

pub fn man(args: &ManArgs) -> anyhow::Result<u8> {
    let cmd = super::Cli::command();
    match &args.dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            std::io::Write::write_all(&mut std::io::stdout().lock(), &out)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("cannot write manual pages into {}", dir.display()))?;
        }
    }
    Ok(EXIT_OK)
}
