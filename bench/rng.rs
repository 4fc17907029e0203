//! xorshift64*: reproducible data for the benchmarks.

pub struct Rng(pub u64);

#[allow(dead_code)]
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `h` with up to `max_bits` random bits flipped.
    pub fn flip(&mut self, h: &[u64; 4], max_bits: usize) -> [u64; 4] {
        let mut out = *h;
        for _ in 0..=self.below(max_bits + 1).saturating_sub(1) {
            let b = self.below(256);
            out[b / 64] ^= 1 << (b % 64);
        }
        out
    }
}
