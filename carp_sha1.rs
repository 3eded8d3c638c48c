// SPDX-License-Identifier: GPL-2.0

//! SHA-1 and HMAC-SHA1 (RFC 3174, RFC 2104), pure `no_std` Rust.
//!
//! CARP authenticates advertisements with HMAC-SHA1. One implementation serves
//! the kernel module and the host tests, so what the tests check is exactly
//! what runs in the kernel. It does not allocate, cannot fail and never
//! panics: it can run in softirq context on the receive path. The host test
//! crate checks it against the RustCrypto `sha1`/`hmac` crates and Python's
//! `hashlib`/`hmac`.
//!
//! SHA-1 is used here only because the CARP wire format fixes it.

/// Length of a SHA-1 digest in bytes.
pub const DIGEST_LEN: usize = 20;
/// SHA-1 block length in bytes.
pub const BLOCK_LEN: usize = 64;

const H0: [u32; 5] = [
    0x6745_2301,
    0xefcd_ab89,
    0x98ba_dcfe,
    0x1032_5476,
    0xc3d2_e1f0,
];

/// An incremental SHA-1 computation.
///
/// # Invariants
///
/// `buf_len < BLOCK_LEN`; `buf[..buf_len]` holds the bytes not yet compressed;
/// `total` counts every byte passed to [`Sha1::update`].
#[derive(Clone, Debug)]
pub struct Sha1 {
    h: [u32; 5],
    buf: [u8; BLOCK_LEN],
    buf_len: usize,
    total: u64,
}

impl Default for Sha1 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha1 {
    /// Starts a new digest.
    pub const fn new() -> Self {
        // INVARIANT: empty buffer, nothing absorbed.
        Self {
            h: H0,
            buf: [0; BLOCK_LEN],
            buf_len: 0,
            total: 0,
        }
    }

    fn compress(h: &mut [u32; 5], block: &[u8; BLOCK_LEN]) {
        let mut w = [0u32; 80];
        for (wi, chunk) in w.iter_mut().zip(block.chunks_exact(4)) {
            *wi = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = *h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5a82_7999),
                20..=39 => (b ^ c ^ d, 0x6ed9_eba1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc),
                _ => (b ^ c ^ d, 0xca62_c1d6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
        h[4] = h[4].wrapping_add(e);
    }

    /// Absorbs `data`.
    ///
    /// Byte by byte into the block buffer: CARP hashes a few hundred bytes
    /// per packet, and this form has no panic path at all.
    pub fn update(&mut self, data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        for &b in data {
            if let Some(slot) = self.buf.get_mut(self.buf_len) {
                *slot = b;
            }
            self.buf_len = self.buf_len.wrapping_add(1);
            if self.buf_len >= BLOCK_LEN {
                Self::compress(&mut self.h, &self.buf);
                // INVARIANT: the buffer was compressed and is empty again.
                self.buf_len = 0;
            }
        }
    }

    /// Finishes the digest.
    pub fn finish(mut self) -> [u8; DIGEST_LEN] {
        let bits = self.total.wrapping_mul(8);
        self.update(&[0x80]);
        let zeros = [0u8; BLOCK_LEN];
        // buf_len < BLOCK_LEN by the invariant, so this cannot wrap.
        let pad = (BLOCK_LEN + 56).wrapping_sub(self.buf_len) % BLOCK_LEN;
        self.update(zeros.get(..pad).unwrap_or(&[]));
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; DIGEST_LEN];
        for (o, h) in out.chunks_exact_mut(4).zip(self.h.iter()) {
            o.copy_from_slice(&h.to_be_bytes());
        }
        out
    }

    /// A digest that has absorbed one whole block, with chaining value `h`
    /// after it.
    const fn resumed(h: [u32; 5]) -> Self {
        // INVARIANT: empty buffer; `total` counts the absorbed block.
        Self {
            h,
            buf: [0; BLOCK_LEN],
            buf_len: 0,
            total: BLOCK_LEN as u64,
        }
    }

    /// One-shot digest of `data`.
    pub fn digest(data: &[u8]) -> [u8; DIGEST_LEN] {
        let mut s = Self::new();
        s.update(data);
        s.finish()
    }
}

/// An HMAC-SHA1 key folded into the SHA-1 chaining values after the inner
/// and outer pad blocks (RFC 2104's `K ^ ipad` and `K ^ opad`).
///
/// Computed once when a key is set, it saves two of the four SHA-1
/// compressions of every advertisement's MAC (OpenBSD keeps the same
/// precomputed contexts). It is as secret as the key: `Debug` prints
/// nothing of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HmacKey {
    inner: [u32; 5],
    outer: [u32; 5],
}

impl core::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HmacKey(..)")
    }
}

impl HmacKey {
    /// Folds `key` into the pad blocks. Keys longer than a block are hashed
    /// first (RFC 2104); CARP never uses such keys.
    pub fn new(key: &[u8]) -> Self {
        let mut k = [0u8; BLOCK_LEN];
        if key.len() > BLOCK_LEN {
            let d = Sha1::digest(key);
            k[..DIGEST_LEN].copy_from_slice(&d);
        } else if let Some(dst) = k.get_mut(..key.len()) {
            dst.copy_from_slice(key);
        }
        let mut ipad = [0x36u8; BLOCK_LEN];
        let mut opad = [0x5cu8; BLOCK_LEN];
        for ((i, o), kb) in ipad.iter_mut().zip(opad.iter_mut()).zip(k.iter()) {
            *i ^= kb;
            *o ^= kb;
        }
        let (mut inner, mut outer) = (H0, H0);
        Sha1::compress(&mut inner, &ipad);
        Sha1::compress(&mut outer, &opad);
        Self { inner, outer }
    }
}

/// HMAC-SHA1 with the key already folded into the inner and outer states
/// (see [`HmacKey`]). Its state is as secret as the key: `Debug` prints
/// nothing of it.
#[derive(Clone)]
pub struct HmacSha1 {
    inner: Sha1,
    outer: Sha1,
}

impl core::fmt::Debug for HmacSha1 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HmacSha1(..)")
    }
}

impl HmacSha1 {
    /// Starts an HMAC with `key` (see [`HmacKey::new`]).
    pub fn new(key: &[u8]) -> Self {
        Self::keyed(&HmacKey::new(key))
    }

    /// Starts an HMAC from a precomputed key: no compression.
    pub const fn keyed(key: &HmacKey) -> Self {
        Self {
            inner: Sha1::resumed(key.inner),
            outer: Sha1::resumed(key.outer),
        }
    }

    /// Absorbs message bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// Finishes the MAC.
    pub fn finish(self) -> [u8; DIGEST_LEN] {
        let inner = self.inner.finish();
        let mut outer = self.outer;
        outer.update(&inner);
        outer.finish()
    }
}

/// Compares two byte strings in time independent of their contents.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    // Keep the compiler from turning the loop into an early exit.
    core::hint::black_box(diff) == 0
}
