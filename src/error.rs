//! The library's error type: every variant names the file or object it is
//! about, so a batch can print one clear line per failure and go on.

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in firstseen's library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a supported image or video.
    #[error("not a supported image or video (recognised: {supported})")]
    UnsupportedFormat {
        /// Formats firstseen recognises.
        supported: &'static str,
    },
    /// The decoder rejected the file.
    #[error("cannot decode {format}: {reason}")]
    Decode {
        /// Format the file claims to be.
        format: String,
        /// Decoder's message.
        reason: String,
    },
    /// The file exceeds a configured limit (pixels, bytes, duration).
    #[error("refused: {what} {actual} exceeds the limit of {limit}{hint}")]
    TooLarge {
        /// What was measured.
        what: &'static str,
        /// Measured value.
        actual: u64,
        /// The limit in force.
        limit: u64,
        /// How to raise the limit.
        hint: &'static str,
    },
    /// The file is empty.
    #[error("empty file")]
    Empty,
    /// The path is not a regular file (a FIFO, a device, a socket): it is
    /// never read, so an endless or blocking source cannot stall a batch.
    #[error("not a regular file ({kind}); only regular files are read")]
    NotRegular {
        /// What it is instead.
        kind: &'static str,
    },
    /// The SQLite catalog failed.
    #[error("catalog: {0}")]
    Catalog(#[from] rusqlite::Error),
    /// A stored object does not hash to its name, or is missing.
    #[error("object {sha256}: {problem}")]
    CorruptObject {
        /// Object name.
        sha256: String,
        /// What is wrong with it.
        problem: String,
    },
    /// No archived item matches the given id or prefix.
    #[error("no archived item matches {0:?}")]
    UnknownItem(String),
    /// A SHA-256 prefix matches more than one item.
    #[error("{prefix:?} is ambiguous: it matches {count} items; give more characters")]
    AmbiguousItem {
        /// The prefix given.
        prefix: String,
        /// How many items it matches.
        count: usize,
    },
    /// A value given by the user is malformed.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being parsed.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// Wraps another error with the file it concerns.
    #[error("{path}: {source}")]
    File {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Attaches the file path to an error that does not carry one yet.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Error {
        match self {
            e @ (Error::Io { .. } | Error::File { .. }) => e,
            other => Error::File {
                path: path.into(),
                source: Box::new(other),
            },
        }
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
