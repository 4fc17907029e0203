//! Exact Hamming-radius search over fixed-width binary hashes by
//! multi-index hashing (Norouzi, Punjani and Fleet, 2012).
//!
//! A hash of `64·W` bits is cut into `m` disjoint chunks; each chunk has a
//! table from its value to the hashes holding that value. A query for
//! radius `r` gives chunk `i` a radius `rᵢ` with `Σ (rᵢ + 1) = r + 1`: a
//! hash whose chunks all differ by more than their `rᵢ` differs by at
//! least `r + 1` in all (the pigeonhole principle), so every hash within
//! `r` agrees with the query within `rᵢ` on some chunk `i`, and probing
//! each table for every value within `rᵢ` of the query's chunk finds it.
//! Each candidate is checked on its whole hash and reported only at the
//! first chunk where it qualifies, so results are exactly those of a
//! linear scan, each once. When a radius is so large that probing would
//! cost more than scanning, the index scans instead: same results.
//!
//! Chunks are about `log₂ n − 2` bits wide, so a table bucket holds a few
//! hashes; memory is the hashes plus four bytes per chunk per hash plus
//! the bucket offsets (92 bytes per 256-bit hash at ten million).
//!
//! The index is one run of little-endian bytes, the same in memory and in
//! its file ([`MultiIndex::encode`], [`MultiIndex::parse`]), queried in
//! place: an index file mapped into memory is searched without being
//! read whole, so a query touches only the buckets and hashes it probes.
//! Opening checks the layout and the tables' ends; each bucket bound and
//! id is checked when read, so a damaged file gives an error or wrong
//! answers (which `verify` finds), never a read out of bounds or a panic.

use std::io::{Read, Write};

use super::slab::{Cursor, Slab, put_u32s, put_u64s, u32_at, u64_at};

/// An exact Hamming-radius index over hashes of `64·W` bits.
#[derive(Clone)]
pub struct MultiIndex<const W: usize> {
    slab: Slab,
    /// This index's bytes in the slab.
    at: usize,
    end: usize,
    n: usize,
    /// Where the hashes (bits permuted by `to`) start.
    hashes_at: usize,
    /// Bit `b` of a hash is bit `to[b]` of its permuted form.
    to: Vec<u16>,
    /// The inverse of `to`.
    from: Vec<u16>,
    chunks: Vec<Chunk>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Chunk {
    start: u32,
    len: u32,
    /// Where `offsets` start: `offsets[v]..offsets[v + 1]` (`2^len + 1`
    /// little-endian `u32`) are the positions in `ids` of the hashes
    /// whose chunk value is `v`.
    offsets_at: usize,
    /// Where `ids` (`n` little-endian `u32`) start.
    ids_at: usize,
}

/// Largest chunk width: the offset tables stay at 16 MB a chunk.
const MAX_WIDTH: u32 = 22;
/// Below this many hashes an index has no tables and scans.
const MIN_INDEXED: usize = 256;

impl<const W: usize> Default for MultiIndex<W> {
    fn default() -> Self {
        MultiIndex::build(Vec::new())
    }
}

impl<const W: usize> PartialEq for MultiIndex<W> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl<const W: usize> std::fmt::Debug for MultiIndex<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiIndex")
            .field("hashes", &self.n)
            .field("chunks", &self.chunks)
            .field("slab", &self.slab)
            .finish()
    }
}

impl<const W: usize> MultiIndex<W> {
    const BITS: u32 = 64 * W as u32;

    /// Builds the index over `hashes` in memory; ids are positions in it.
    ///
    /// # Panics
    /// When there are 2³² hashes or more.
    pub fn build(hashes: Vec<[u64; W]>) -> MultiIndex<W> {
        let width = Self::width_for(hashes.len());
        MultiIndex::build_with_width(hashes, width)
    }

    /// Builds with chunks of about `width` bits (0: no tables, scan).
    ///
    /// # Panics
    /// When there are 2³² hashes or more, or `width` exceeds 22.
    pub fn build_with_width(hashes: Vec<[u64; W]>, width: u32) -> MultiIndex<W> {
        let mut bytes = Vec::new();
        Self::encode_with_width(hashes, width, &mut bytes);
        let (index, _) =
            MultiIndex::parse(&Slab::heap(bytes), 0).expect("an index just encoded parses");
        index
    }

    fn width_for(n: usize) -> u32 {
        if n < MIN_INDEXED {
            0
        } else {
            (n.ilog2().saturating_sub(2)).clamp(4, MAX_WIDTH)
        }
    }

    /// Appends the index over `hashes` (the bytes [`MultiIndex::parse`]
    /// reads) to `out`.
    ///
    /// # Panics
    /// When there are 2³² hashes or more.
    pub fn encode(hashes: Vec<[u64; W]>, out: &mut Vec<u8>) {
        let width = Self::width_for(hashes.len());
        Self::encode_with_width(hashes, width, out);
    }

    fn encode_with_width(mut hashes: Vec<[u64; W]>, width: u32, out: &mut Vec<u8>) {
        assert!(u32::try_from(hashes.len()).is_ok(), "too many hashes");
        assert!(width <= MAX_WIDTH, "chunk width above {MAX_WIDTH}");
        let to = permutation(Self::BITS, PERMUTATION_SEED);
        for h in &mut hashes {
            *h = permute(h, &to);
        }
        let layout = if width == 0 {
            Vec::new()
        } else {
            layout(Self::BITS, width)
        };
        out.extend_from_slice(&(W as u32).to_le_bytes());
        out.extend_from_slice(&(hashes.len() as u64).to_le_bytes());
        out.extend_from_slice(&(layout.len() as u32).to_le_bytes());
        out.extend_from_slice(&PERMUTATION_SEED.to_le_bytes());
        put_u64s(out, bytemuck::cast_slice::<[u64; W], u64>(&hashes));
        for (start, len) in layout {
            let (offsets, ids) = bucket(&hashes, start, len);
            out.extend_from_slice(&start.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            put_u32s(out, &offsets);
            put_u32s(out, &ids);
        }
    }

    /// The index whose bytes start at `at` in `slab`, and where they end.
    /// Checks the header, the layout and that every table fits; the
    /// tables themselves are read only by queries.
    ///
    /// # Errors
    /// `InvalidData` (or `UnexpectedEof`) for bytes that are not such an
    /// index or are damaged.
    pub fn parse(slab: &Slab, at: usize) -> std::io::Result<(MultiIndex<W>, usize)> {
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let bytes = slab.bytes();
        let mut c = Cursor::new(bytes, at);
        if c.u32()? as usize != W {
            return Err(bad("hash width differs"));
        }
        let n = usize::try_from(c.u64()?).map_err(|_| bad("hash count"))?;
        if u32::try_from(n).is_err() {
            return Err(bad("hash count"));
        }
        let m = c.u32()?;
        if m > Self::BITS {
            return Err(bad("chunk count"));
        }
        let to = permutation(Self::BITS, c.u64()?);
        let hashes_at = c.skip(n, 8 * W)?;
        let mut chunks = Vec::with_capacity(m as usize);
        let mut next_start = 0;
        for _ in 0..m {
            let start = c.u32()?;
            let len = c.u32()?;
            if start != next_start || len == 0 || len > MAX_WIDTH || start + len > Self::BITS {
                return Err(bad("chunk layout"));
            }
            next_start = start + len;
            let slots = (1usize << len) + 1;
            let offsets_at = c.skip(slots, 4)?;
            let ids_at = c.skip(n, 4)?;
            if u32_at(bytes, offsets_at) != 0 || u32_at(bytes, ids_at - 4) as usize != n {
                return Err(bad("chunk table"));
            }
            chunks.push(Chunk {
                start,
                len,
                offsets_at,
                ids_at,
            });
        }
        if m > 0 && next_start != Self::BITS {
            return Err(bad("chunk layout"));
        }
        let from = inverse(&to);
        let index = MultiIndex {
            slab: slab.clone(),
            at,
            end: c.at,
            n,
            hashes_at,
            to,
            from,
            chunks,
        };
        Ok((index, c.at))
    }

    /// This index's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.slab.bytes()[self.at..self.end]
    }

    /// Number of hashes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The hash with id `id`.
    ///
    /// # Panics
    /// When `id` is not below [`MultiIndex::len`].
    pub fn hash(&self, id: u32) -> [u64; W] {
        assert!((id as usize) < self.n, "hash id out of range");
        permute(&self.permuted(id), &self.from)
    }

    /// The stored (permuted) form of hash `id` (< n).
    #[inline]
    fn permuted(&self, id: u32) -> [u64; W] {
        let b = self.slab.bytes();
        let at = self.hashes_at + id as usize * 8 * W;
        std::array::from_fn(|w| u64_at(b, at + 8 * w))
    }

    /// Bytes the index takes (in memory, or mapped from its file).
    pub fn memory_bytes(&self) -> usize {
        self.end - self.at
    }

    /// Calls `found(id, distance)` once for every hash within `radius` of
    /// `query`, in no particular order.
    pub fn within(&self, query: &[u64; W], radius: u32, found: &mut impl FnMut(u32, u32)) {
        let query = permute(query, &self.to);
        match self.plan(radius) {
            Some(radii) => self.probe(&query, radius, &radii, found),
            None => self.scan_permuted(&query, radius, found),
        }
    }

    /// [`MultiIndex::within`] by a linear scan (the reference the tables
    /// are tested against).
    pub fn scan(&self, query: &[u64; W], radius: u32, found: &mut impl FnMut(u32, u32)) {
        self.scan_permuted(&permute(query, &self.to), radius, found);
    }

    fn scan_permuted(&self, query: &[u64; W], radius: u32, found: &mut impl FnMut(u32, u32)) {
        for id in 0..self.n as u32 {
            let d = distance(&self.permuted(id), query);
            if d <= radius {
                found(id, d);
            }
        }
    }

    /// Per-chunk radii (−1: not probed), or `None` when scanning is
    /// cheaper.
    fn plan(&self, radius: u32) -> Option<Vec<i32>> {
        let m = self.chunks.len() as u32;
        if m == 0 || radius >= Self::BITS {
            return None;
        }
        let radii = split_radius(radius, m);
        let n = self.n as f64;
        let cost: f64 = self
            .chunks
            .iter()
            .zip(&radii)
            .filter(|&(_, &r)| r >= 0)
            .map(|(c, &r)| {
                let probes = ball_size(c.len, r as u32);
                probes * (1.0 + n / f64::from(1u32 << c.len))
            })
            .sum();
        (cost < n).then_some(radii)
    }

    /// Bucket `v` of `chunk` as a range of positions in its ids; empty
    /// when the stored bounds are damaged.
    #[inline]
    fn bucket(&self, chunk: &Chunk, v: usize) -> (usize, usize) {
        let b = self.slab.bytes();
        let lo = u32_at(b, chunk.offsets_at + 4 * v) as usize;
        let hi = u32_at(b, chunk.offsets_at + 4 * v + 4) as usize;
        if lo <= hi && hi <= self.n {
            (lo, hi)
        } else {
            (0, 0)
        }
    }

    fn probe(
        &self,
        query: &[u64; W],
        radius: u32,
        radii: &[i32],
        found: &mut impl FnMut(u32, u32),
    ) {
        let keys: Vec<u32> = self
            .chunks
            .iter()
            .map(|c| extract(query, c.start, c.len))
            .collect();
        // The plan gives `low + 1` to some chunks and `low` to the rest;
        // which chunks get the larger radius is chosen for this query,
        // by the sizes of the buckets it would read (real hashes fill
        // some buckets far more than others). Any choice keeps
        // Σ (rᵢ + 1) = radius + 1, so the search stays exact.
        let low = radii.iter().copied().min().unwrap_or(0);
        let wide = radii.iter().filter(|&&r| r > low).count();
        // Per chunk: (key, its distance from the query's chunk) within
        // `low + 1`, with the bucket bounds, read in one independent pass
        // (memory reads that overlap instead of one chain per bucket).
        let mut probes: Vec<Vec<(usize, u32, usize, usize)>> = Vec::with_capacity(keys.len());
        let mut extra_cost: Vec<(usize, usize)> = Vec::with_capacity(keys.len());
        for (i, chunk) in self.chunks.iter().enumerate() {
            let mut p = Vec::new();
            if let Ok(r) = u32::try_from(low + 1) {
                each_within(keys[i], chunk.len, r, &mut |key, depth| {
                    p.push((key as usize, depth, 0, 0))
                });
            }
            for e in &mut p {
                (e.2, e.3) = self.bucket(chunk, e.0);
            }
            let extra: usize = p
                .iter()
                .filter(|e| e.1 as i32 > low)
                .map(|e| 1 + e.3 - e.2)
                .sum();
            extra_cost.push((extra, i));
            probes.push(p);
        }
        extra_cost.sort_unstable();
        let mut chosen = vec![low; keys.len()];
        for &(_, i) in &extra_cost[..wide] {
            chosen[i] = low + 1;
        }
        let b = self.slab.bytes();
        let mut candidates: Vec<u32> = Vec::new();
        for (i, chunk) in self.chunks.iter().enumerate() {
            candidates.clear();
            for e in probes[i].iter().filter(|e| e.1 as i32 <= chosen[i]) {
                let ids = &b[chunk.ids_at + 4 * e.2..chunk.ids_at + 4 * e.3];
                candidates.extend(
                    ids.chunks_exact(4)
                        .map(|w| u32::from_le_bytes(w.try_into().expect("four bytes"))),
                );
            }
            for &id in &candidates {
                if id as usize >= self.n {
                    continue; // a damaged table
                }
                let h = self.permuted(id);
                let d = distance(&h, query);
                if d > radius {
                    continue;
                }
                // Reported where it first qualifies, so once.
                let earlier = self.chunks[..i]
                    .iter()
                    .zip(&chosen[..i])
                    .zip(&keys[..i])
                    .any(|((c, &rj), &kj)| {
                        rj >= 0 && (extract(&h, c.start, c.len) ^ kj).count_ones() <= rj as u32
                    });
                if !earlier {
                    found(id, d);
                }
            }
        }
    }

    /// Writes the index to `out` (its bytes as they are).
    ///
    /// # Errors
    /// I/O errors of `out`.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(self.bytes())
    }

    /// Reads an index written by [`MultiIndex::write`] into memory; the
    /// input must hold it and nothing more.
    ///
    /// # Errors
    /// I/O errors; `InvalidData` for a file that is not such an index or
    /// is damaged.
    pub fn read(input: &mut impl Read) -> std::io::Result<MultiIndex<W>> {
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes)?;
        let (index, end) = MultiIndex::parse(&Slab::heap(bytes), 0)?;
        if end != index.slab.bytes().len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "bytes after the index",
            ));
        }
        Ok(index)
    }
}

/// A counting sort of the hashes by the chunk at `start..start + len`:
/// the bucket offsets (`2^len + 1`) and the ids in bucket order.
fn bucket<const W: usize>(hashes: &[[u64; W]], start: u32, len: u32) -> (Vec<u32>, Vec<u32>) {
    let keys: Vec<u32> = hashes.iter().map(|h| extract(h, start, len)).collect();
    let mut offsets = vec![0u32; (1usize << len) + 1];
    for &k in &keys {
        offsets[k as usize + 1] += 1;
    }
    for v in 1..offsets.len() {
        offsets[v] += offsets[v - 1];
    }
    let mut fill = offsets.clone();
    let mut ids = vec![0u32; hashes.len()];
    for (id, &k) in keys.iter().enumerate() {
        let slot = &mut fill[k as usize];
        ids[*slot as usize] = id as u32;
        *slot += 1;
    }
    (offsets, ids)
}

/// Cuts `bits` into chunks of about `width` bits: `(start, len)`, the
/// first ones a bit wider when `width` does not divide `bits`.
fn layout(bits: u32, width: u32) -> Vec<(u32, u32)> {
    let m = ((bits + width / 2) / width).max(bits.div_ceil(MAX_WIDTH));
    let (base, extra) = (bits / m, bits % m);
    let mut start = 0;
    (0..m)
        .map(|i| {
            let len = base + u32::from(i < extra);
            let c = (start, len);
            start += len;
            c
        })
        .collect()
}

/// Seed of the bit permutation hashes are indexed under (written in the
/// file, so a file stays readable if it ever changes).
const PERMUTATION_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// A pseudo-random permutation of `bits` positions (Fisher–Yates over
/// xorshift64*), the same for the same seed. Real hashes are skewed:
/// PDQ's neighbouring bits are correlated and some patterns are common,
/// so contiguous chunks of them fill a few table buckets; chunks of bits
/// drawn from across the hash spread evenly (as multi-index hashing's
/// authors advise). Distances do not change under a permutation.
fn permutation(bits: u32, seed: u64) -> Vec<u16> {
    let mut to: Vec<u16> = (0..bits as u16).collect();
    let mut x = seed | 1;
    for i in (1..to.len()).rev() {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let j = (x.wrapping_mul(0x2545_f491_4f6c_dd1d) % (i as u64 + 1)) as usize;
        to.swap(i, j);
    }
    to
}

fn inverse(to: &[u16]) -> Vec<u16> {
    let mut from = vec![0u16; to.len()];
    for (b, &t) in to.iter().enumerate() {
        from[t as usize] = b as u16;
    }
    from
}

/// `h` with bit `b` moved to bit `to[b]`.
fn permute<const W: usize>(h: &[u64; W], to: &[u16]) -> [u64; W] {
    let mut out = [0u64; W];
    for (w, &word) in h.iter().enumerate() {
        let mut x = word;
        while x != 0 {
            let t = to[w * 64 + x.trailing_zeros() as usize] as usize;
            out[t / 64] |= 1 << (t % 64);
            x &= x - 1;
        }
    }
    out
}

/// Hamming distance.
#[inline]
pub fn distance<const W: usize>(a: &[u64; W], b: &[u64; W]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Bits `start..start + len` of a hash (bit k is bit k % 64 of word
/// k / 64), `len` ≤ 32.
#[inline]
fn extract<const W: usize>(h: &[u64; W], start: u32, len: u32) -> u32 {
    let (word, bit) = ((start / 64) as usize, start % 64);
    let low = u128::from(h[word]);
    let high = h.get(word + 1).map_or(0, |&w| u128::from(w) << 64);
    (((low | high) >> bit) & ((1u128 << len) - 1)) as u32
}

/// Radii for `m` chunks adding up, one more each, to `radius + 1`: the
/// first chunks take the remainder (−1: the chunk is not probed).
fn split_radius(radius: u32, m: u32) -> Vec<i32> {
    let total = radius + 1;
    (0..m)
        .map(|i| (total / m) as i32 - 1 + i32::from(i < total % m))
        .collect()
}

/// Number of values within `r` bits of a `len`-bit value.
fn ball_size(len: u32, r: u32) -> f64 {
    let mut total = 0.0;
    let mut term = 1.0;
    for k in 0..=r.min(len) {
        if k > 0 {
            term *= f64::from(len - k + 1) / f64::from(k);
        }
        total += term;
    }
    total
}

/// Calls `f(value, distance)` on every `len`-bit value within `r` bits
/// of `v`, once each.
fn each_within(v: u32, len: u32, r: u32, f: &mut impl FnMut(u32, u32)) {
    fn flips(v: u32, from: u32, len: u32, depth: u32, left: u32, f: &mut impl FnMut(u32, u32)) {
        f(v, depth);
        if left == 0 {
            return;
        }
        for b in from..len {
            flips(v ^ (1 << b), b + 1, len, depth + 1, left - 1, f);
        }
    }
    flips(v, 0, len, 0, r, f);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: reproducible test hashes.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn hash(&mut self) -> [u64; 4] {
            [self.next(), self.next(), self.next(), self.next()]
        }
        /// `h` with `k` distinct random bits flipped.
        fn near(&mut self, h: &[u64; 4], k: u32) -> [u64; 4] {
            let mut out = *h;
            let mut flipped = 0;
            while flipped < k {
                let b = (self.next() % 256) as usize;
                let before = out;
                out[b / 64] ^= 1 << (b % 64);
                if distance(&before, h) < distance(&out, h) {
                    flipped += 1;
                } else {
                    out = before;
                }
            }
            out
        }
    }

    fn sorted<const W: usize>(
        idx: &MultiIndex<W>,
        q: &[u64; W],
        r: u32,
        linear: bool,
    ) -> Vec<(u32, u32)> {
        let mut v = Vec::new();
        if linear {
            idx.scan(q, r, &mut |id, d| v.push((id, d)));
        } else {
            idx.within(q, r, &mut |id, d| v.push((id, d)));
        }
        v.sort_unstable();
        v
    }

    #[test]
    fn same_results_as_a_linear_scan_on_random_and_clustered_hashes() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Random hashes, and clusters of near copies around a few centres
        // (as real archives hold: versions of one picture), at every
        // distance from 0 to 64.
        let mut hashes: Vec<[u64; 4]> = (0..3000).map(|_| rng.hash()).collect();
        let centres: Vec<[u64; 4]> = (0..20).map(|_| rng.hash()).collect();
        for (i, c) in centres.iter().enumerate() {
            for k in 0..=64 {
                hashes.push(rng.near(c, (k + i as u32) % 65));
            }
        }
        for width in [0, 4, 8, 11, 16] {
            let idx = MultiIndex::build_with_width(hashes.clone(), width);
            assert_eq!(idx.plan(31).is_some(), width >= 8, "width {width}");
            for (qi, q) in centres.iter().chain(&hashes[..20]).enumerate() {
                for r in [0, 1, 7, 15, 16, 31, 32, 47, 64, 100] {
                    let got = sorted(&idx, q, r, false);
                    assert_eq!(
                        got,
                        sorted(&idx, q, r, true),
                        "width {width}, query {qi}, radius {r}"
                    );
                }
            }
        }
    }

    fn read_hashes(path: &std::path::Path) -> Vec<[u64; 4]> {
        let text = std::fs::read_to_string(path).expect("hash file");
        text.lines()
            .filter_map(|l| {
                // A bare hash per line, or vPDQ's `frame,quality,hash,time`.
                let hex = l.split(',').find(|f| f.len() == 64)?;
                let h: crate::hash::Hash256 = hex.parse().ok()?;
                Some(h.words())
            })
            .collect()
    }

    fn assert_exact_on(hashes: Vec<[u64; 4]>, queries: &[[u64; 4]], what: &str) {
        for width in [
            8,
            10,
            MultiIndex::<4>::build(hashes.clone())
                .chunks
                .first()
                .map_or(0, |c| c.len),
        ] {
            let idx = MultiIndex::build_with_width(hashes.clone(), width);
            for r in [0, 8, 16, 31, 40, 63] {
                let (mut found, mut probed) = (0, false);
                for q in queries {
                    let got = sorted(&idx, q, r, false);
                    assert_eq!(
                        got,
                        sorted(&idx, q, r, true),
                        "{what}: width {width}, radius {r}"
                    );
                    found += got.len();
                    probed |= idx.plan(r).is_some();
                }
                if r == 31 {
                    assert!(probed || width == 0, "{what}: width {width} never probed");
                    assert!(
                        found > queries.len() / 4,
                        "{what}: too few near copies ({found})"
                    );
                }
            }
        }
    }

    /// Real PDQ hashes: ThreatExchange's index test haystack (clusters of
    /// near copies) queried with its needles and with its own hashes.
    #[test]
    fn same_results_as_a_linear_scan_on_real_hashes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pdq");
        let haystack = read_hashes(&dir.join("haystack.txt"));
        let mut queries = read_hashes(&dir.join("needles.txt"));
        assert_eq!((haystack.len(), queries.len()), (1350, 100));
        queries.extend(haystack.iter().step_by(9));
        assert_exact_on(haystack, &queries, "haystack");
    }

    /// Every vPDQ sample hash in the shared reference data (real video
    /// frames, runs of near-identical hashes), when present.
    #[test]
    fn same_results_as_a_linear_scan_on_video_frame_hashes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/pdq-reference/ThreatExchange/vpdq/sample-hashes");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("SKIPPED: {} not present", dir.display());
            return;
        };
        let mut hashes = Vec::new();
        for e in entries.flatten() {
            hashes.extend(read_hashes(&e.path()));
        }
        assert!(hashes.len() > 10_000, "{} hashes", hashes.len());
        let queries: Vec<[u64; 4]> = hashes.iter().step_by(97).copied().collect();
        assert_exact_on(hashes, &queries, "vpdq samples");
    }

    #[test]
    fn a_hash_is_reported_once_even_when_several_chunks_agree() {
        let mut rng = Rng(7);
        let mut hashes: Vec<[u64; 4]> = (0..1000).map(|_| rng.hash()).collect();
        let q = hashes[10];
        hashes.push(q); // identical: every chunk agrees
        let idx = MultiIndex::build_with_width(hashes, 8);
        let got = sorted(&idx, &q, 31, false);
        assert_eq!(got, vec![(10, 0), (1000, 0)]);
    }

    #[test]
    fn sixty_four_bit_hashes() {
        let mut rng = Rng(3);
        let mut hashes: Vec<[u64; 1]> = (0..5000).map(|_| [rng.next()]).collect();
        hashes.push([hashes[0][0] ^ 0b10_1101]);
        let idx = MultiIndex::build(hashes);
        assert!(!idx.chunks.is_empty());
        for id in 0..50 {
            let q = idx.hash(id);
            for r in [0, 4, 6, 12] {
                assert_eq!(sorted(&idx, &q, r, false), sorted(&idx, &q, r, true));
            }
        }
        assert_eq!(idx.hash(5000), [idx.hash(0)[0] ^ 0b10_1101]);
        assert!(sorted(&idx, &idx.hash(0), 6, false).contains(&(5000, 4)));
    }

    #[test]
    fn round_trips_and_rejects_damage() {
        let mut rng = Rng(11);
        let hashes: Vec<[u64; 4]> = (0..2000).map(|_| rng.hash()).collect();
        let idx = MultiIndex::build(hashes);
        let mut bytes = Vec::new();
        idx.write(&mut bytes).expect("write to memory");
        let back = MultiIndex::<4>::read(&mut bytes.as_slice()).expect("read back");
        assert_eq!(back, idx);
        // Truncated anywhere, or with a flipped byte in its structure: an
        // error, never a panic.
        for cut in [0, 3, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                MultiIndex::<4>::read(&mut &bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        // The first chunk's start, its first offset, the last chunk's
        // last offset (just before its ids).
        let tables = 24 + 2000 * 32;
        let last_offset = bytes.len() - 2000 * 4 - 2;
        for pos in [tables + 2, tables + 9, last_offset] {
            let mut bad = bytes.clone();
            bad[pos] ^= 0x40;
            assert!(
                MultiIndex::<4>::read(&mut bad.as_slice()).is_err(),
                "byte {pos}"
            );
        }
        assert!(MultiIndex::<1>::read(&mut bytes.as_slice()).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(MultiIndex::<4>::read(&mut longer.as_slice()).is_err());
        // Any flipped byte: an error, or an index whose queries run (a
        // wrong answer from a damaged file is `verify`'s to find).
        let mut rng = Rng(5);
        for _ in 0..300 {
            let mut bad = bytes.clone();
            let pos = rng.next() as usize % bad.len();
            bad[pos] ^= 1 << (rng.next() % 8);
            if let Ok(idx) = MultiIndex::<4>::read(&mut bad.as_slice()) {
                let q = rng.hash();
                for r in [0, 31, 90] {
                    idx.within(&q, r, &mut |_, _| {});
                }
            }
        }
    }

    #[test]
    fn plan_covers_the_radius_and_balls_are_counted() {
        assert_eq!(ball_size(16, 1), 17.0);
        assert_eq!(ball_size(21, 2), 232.0);
        let mut n = 0;
        each_within(0b1010, 6, 2, &mut |_, _| n += 1);
        assert_eq!(n, 22);
        let radii = split_radius(31, 12);
        assert_eq!(radii.iter().map(|r| r + 1).sum::<i32>(), 32);
        assert_eq!(split_radius(0, 12).iter().filter(|&&r| r >= 0).count(), 1);
        // Probing all twelve tables of a tiny index costs more than a scan.
        let idx = MultiIndex::build_with_width(vec![[0u64; 4]; 300], 21);
        assert!(idx.plan(31).is_none());
        assert_eq!(layout(64, 22), vec![(0, 22), (22, 21), (43, 21)]);
        assert_eq!(layout(256, 21).len(), 12);
        assert_eq!(layout(256, 21).iter().map(|c| c.1).sum::<u32>(), 256);
    }
}
