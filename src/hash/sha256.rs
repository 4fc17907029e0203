//! SHA-256 of exact bytes: the identity of an archived file and the name
//! of its object in the store.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256 as Hasher};

use crate::error::Error;

/// A SHA-256 digest. Displays as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// Hashes a byte slice.
    pub fn of(bytes: &[u8]) -> Sha256 {
        Sha256(Hasher::digest(bytes).into())
    }

    /// Hashes everything `reader` yields, 64 KiB at a time.
    ///
    /// # Errors
    /// Any read error.
    pub fn of_reader(mut reader: impl std::io::Read) -> std::io::Result<Sha256> {
        let mut h = Hasher::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            h.update(&buf[..n]);
        }
        Ok(Sha256(h.finalize().into()))
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        crate::hash::hex_encode(&self.0)
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl serde::Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for Sha256 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        crate::hash::hex_decode::<32>(s, "SHA-256").map(Sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_and_round_trip() {
        let d = Sha256::of(b"abc");
        assert_eq!(
            d.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.to_hex().parse::<Sha256>().unwrap(), d);
        assert_eq!(Sha256::of_reader(&b"abc"[..]).unwrap(), d);
        assert!("abc".parse::<Sha256>().is_err());
    }
}
