//! `firstseen serve`: the web app's command line; the app itself is
//! `crate::serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{Context, EXIT_OK};

/// Serve the archive as a web app for a whole desk: check by drag and
/// drop, archive with source and caption, search, item pages with their
/// provenance reports, status. It calls the same library as these
/// commands; `docs/api.md` documents its JSON API.
///
/// It listens on loopback only unless given an access token: any other
/// address needs `--token-file`, and then every request must carry the
/// token (the browser asks for it: any user name, the token as the
/// password; scripts send `Authorization: Bearer TOKEN`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on (port 0: any free port; the address
    /// is printed on stdout as `listening on http://ADDR/`).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// A file whose first line is the access token (at least 16
    /// characters). Required for any address but loopback.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,

    /// Largest request body, in MiB (uploads are also held to the byte,
    /// pixel and video limits of every command).
    #[arg(long, value_name = "MiB", default_value_t = 2048,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    max_request_mib: u64,

    /// Most files in one upload.
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    max_files: u64,

    #[command(flatten)]
    pub decode: super::decode::DecodeArgs,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<u8> {
    let token = args
        .token_file
        .as_deref()
        .map(crate::serve::read_token)
        .transpose()?;
    crate::serve::run(crate::serve::Config {
        dir: ctx.archive_dir()?,
        limits: ctx.limits,
        listen: args.listen,
        token,
        max_request_bytes: args.max_request_mib << 20,
        max_files: usize::try_from(args.max_files).unwrap_or(usize::MAX),
    })?;
    Ok(EXIT_OK)
}
