//! Reading untrusted text line by line within a length bound, hashing
//! every byte read so the import can record the file's SHA-256. Shared by
//! the manifest and hash-list readers.

use std::io::{BufRead, ErrorKind};

use sha2::{Digest, Sha256 as Hasher};

use crate::hash::Sha256;

/// Lines of at most `max` bytes (plus the line end) from `input`.
pub(crate) struct BoundedLines<R> {
    input: R,
    max: usize,
    line: u64,
    buf: Vec<u8>,
    hasher: Hasher,
}

impl<R: BufRead> BoundedLines<R> {
    pub(crate) fn new(input: R, max: usize) -> BoundedLines<R> {
        BoundedLines {
            input,
            max,
            line: 0,
            buf: Vec::new(),
            hasher: Hasher::new(),
        }
    }

    /// Number of the line last read (1-based).
    pub(crate) fn number(&self) -> u64 {
        self.line
    }

    /// The line last read, with its line end.
    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// SHA-256 of every byte read so far.
    pub(crate) fn sha256(&self) -> Sha256 {
        Sha256(self.hasher.clone().finalize().into())
    }

    /// Reads the next line into [`Self::buf`]; false at the end of the
    /// input. The error is the reason, for the caller to place in its own
    /// error with [`Self::number`].
    pub(crate) fn next(&mut self) -> Result<bool, String> {
        self.buf.clear();
        self.line += 1;
        let mut got_any = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("cannot read: {e}")),
            };
            if chunk.is_empty() {
                break;
            }
            got_any = true;
            let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if self.buf.len() + take > self.max + 1 {
                return Err(format!("line longer than the limit of {} bytes", self.max));
            }
            self.buf.extend_from_slice(&chunk[..take]);
            self.hasher.update(&chunk[..take]);
            self.input.consume(take);
            if end {
                break;
            }
        }
        Ok(got_any)
    }
}
