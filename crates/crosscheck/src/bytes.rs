//! A reader of fuzz bytes that never fails, and the extreme values the checks draw from it.

/// A little reader of fuzz bytes: every read succeeds, returning zeros once the bytes run out,
/// so any input decodes to something.
#[derive(Debug, Clone)]
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// Reads from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    /// The next byte (0 at the end).
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A little-endian `u64` from the next 8 bytes (zeros past the end).
    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |acc, i| acc | (u64::from(self.byte()) << (8 * i)))
    }

    /// An integer in `lo..=hi` from the next two bytes.
    pub fn int_in(&mut self, lo: usize, hi: usize) -> usize {
        let raw = usize::from(self.byte()) | (usize::from(self.byte()) << 8);
        lo + raw % (hi - lo + 1)
    }

    /// A boolean from the next byte's low bit.
    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// k/16 for k in −`max_k`..=`max_k`.
    pub fn sixteenths(&mut self, max_k: usize) -> f64 {
        (self.int_in(0, 2 * max_k) as f64 - max_k as f64) / 16.0
    }
}

/// Values that stress a chain: zeros of both signs, the edges of `f64`, where `exp` overflows,
/// σ′'s steep tails, and plain numbers; index 0 reads 8 raw bytes as an `f64` (any bits,
/// including NaN and ±∞, which must be refused).
pub const EXTREMES: [f64; 31] = [
    0.0,
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    2.0,
    4.0,
    -4.0,
    8.0,
    40.0,
    -40.0,
    100.0,
    710.0,
    -745.0,
    1e10,
    -1e10,
    1e150,
    -1e150,
    1e300,
    -1e300,
    f64::MAX,
    f64::MIN,
    1e-300,
    -1e-300,
    f64::MIN_POSITIVE,
    5e-324,
    0.01,
    0.25,
    -0.25,
];

/// One of [`EXTREMES`], raw bits (any `f64`, NaN and ±∞ included) or a quarter in −2..2.
pub fn extreme(bytes: &mut Bytes<'_>) -> f64 {
    match usize::from(bytes.byte()) % (EXTREMES.len() + 16) {
        0 => f64::from_bits(bytes.u64()),
        i if i < EXTREMES.len() => EXTREMES[i],
        i => (i - EXTREMES.len()) as f64 / 4.0 - 2.0,
    }
}
