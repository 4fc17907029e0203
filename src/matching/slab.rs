//! The bytes an index is queried from in place: built in memory, or an
//! index file mapped into memory so that a command touches only the
//! pages its queries read, instead of reading the whole file first.
//!
//! Numbers are little-endian and read wherever they sit (no alignment),
//! so the same bytes serve on any machine.

use std::fs::File;
use std::io::Read;
use std::sync::Arc;

/// Shared, immutable bytes: cheap to clone.
#[derive(Clone)]
pub struct Slab(Arc<Backing>);

enum Backing {
    Heap(Vec<u8>),
    /// The mapping, and the file for reads that should not leave pages
    /// mapped ([`Slab::read_at`]).
    Mapped(memmap2::Mmap, File),
}

impl Slab {
    /// Bytes built in memory.
    pub fn heap(bytes: Vec<u8>) -> Slab {
        Slab(Arc::new(Backing::Heap(bytes)))
    }

    /// The whole of `file`, mapped read-only; read into memory where it
    /// cannot be mapped (some network file systems).
    ///
    /// # Errors
    /// I/O errors reading the file.
    pub fn of_file(mut file: File) -> std::io::Result<Slab> {
        if file.metadata()?.len() > 0
            && let Ok(map) = map(&file)
        {
            return Ok(Slab(Arc::new(Backing::Mapped(map, file))));
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(Slab::heap(bytes))
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match &*self.0 {
            Backing::Heap(v) => v,
            Backing::Mapped(m, _) => m,
        }
    }

    /// Copies the bytes at `at` into `out`: from a mapped file by a read
    /// of the file, so the pages read are not mapped into the process
    /// (a query reading thousands of scattered runs of a large file would
    /// otherwise map a neighbourhood of pages around each and hold them
    /// as resident memory). Callers check bounds against
    /// [`Slab::bytes`]'s length.
    ///
    /// # Errors
    /// I/O errors reading the file.
    pub fn read_at(&self, at: usize, out: &mut [u8]) -> std::io::Result<()> {
        match &*self.0 {
            Backing::Heap(v) => {
                out.copy_from_slice(&v[at..at + out.len()]);
                Ok(())
            }
            #[cfg(unix)]
            Backing::Mapped(_, f) => {
                use std::os::unix::fs::FileExt;
                f.read_exact_at(out, at as u64)
            }
            #[cfg(not(unix))]
            Backing::Mapped(m, _) => {
                out.copy_from_slice(&m[at..at + out.len()]);
                Ok(())
            }
        }
    }

    /// Tells the system that the mapped bytes will be read at random
    /// places, a few at a time: no read-ahead, and no neighbouring pages
    /// mapped along with each one read, so a query's resident memory is
    /// the pages it reads. Nothing for bytes in memory.
    pub fn expect_random_reads(&self) {
        #[cfg(unix)]
        if let Backing::Mapped(m, _) = &*self.0 {
            // Advice only: a system that ignores it reads more pages.
            let _ = m.advise(memmap2::Advice::Random);
        }
    }

    /// Whether the bytes are a mapped file.
    pub fn is_mapped(&self) -> bool {
        matches!(&*self.0, Backing::Mapped(..))
    }
}

impl std::fmt::Debug for Slab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Slab({} bytes{})",
            self.bytes().len(),
            if self.is_mapped() { ", mapped" } else { "" }
        )
    }
}

/// Maps `file` read-only.
#[allow(unsafe_code)]
fn map(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: a mapping is only sound while no one changes the file
    // under it. firstseen never writes an index file in place: a new one
    // is written to the archive's `tmp/` and renamed over the old, which
    // leaves an open mapping on the old file's unchanged bytes. Only a
    // program truncating or rewriting `index/hashes.idx` in place while a
    // command runs could change them (README, limitations). The bytes
    // are only ever read, as plain integers, with every position
    // bounds-checked, so any content is safe to read.
    unsafe { memmap2::Mmap::map(file) }
}

/// A little-endian `u32` at byte `at` (callers check bounds).
#[inline]
pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("four bytes"))
}

/// A little-endian `u64` at byte `at` (callers check bounds).
#[inline]
pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

/// Appends `values` little-endian.
pub fn put_u32s(out: &mut Vec<u8>, values: &[u32]) {
    out.reserve(values.len() * 4);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends `values` little-endian.
pub fn put_u64s(out: &mut Vec<u8>, values: &[u64]) {
    out.reserve(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Reads fields off the front of a byte range, checking each fits.
pub struct Cursor<'a> {
    bytes: &'a [u8],
    /// Position of the next field.
    pub at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at `at` in `bytes`.
    pub fn new(bytes: &'a [u8], at: usize) -> Cursor<'a> {
        Cursor { bytes, at }
    }

    /// The position of an array of `count` elements of `size` bytes, and
    /// moves past it.
    ///
    /// # Errors
    /// `UnexpectedEof` when it does not fit.
    pub fn skip(&mut self, count: usize, size: usize) -> std::io::Result<usize> {
        let start = self.at;
        let end = count
            .checked_mul(size)
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "index file cut short")
            })?;
        self.at = end;
        Ok(start)
    }

    /// The next `N` bytes.
    ///
    /// # Errors
    /// `UnexpectedEof` when they are not there.
    pub fn take<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let at = self.skip(N, 1)?;
        Ok(self.bytes[at..at + N].try_into().expect("N bytes"))
    }

    /// The next little-endian `u32`.
    ///
    /// # Errors
    /// `UnexpectedEof`.
    pub fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    /// The next little-endian `u64`.
    ///
    /// # Errors
    /// `UnexpectedEof`.
    pub fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_le_bytes(self.take()?))
    }
}
