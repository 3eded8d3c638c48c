// SPDX-License-Identifier: GPL-2.0
//! SHA-1 and HMAC-SHA1 against RustCrypto's crates and RFC vectors.

use carp_core::carp_proto::Key;
use carp_core::carp_sha1::{ct_eq, HmacKey, HmacSha1, Sha1};
use hmac::Mac;
use proptest::prelude::*;
use sha1::Digest;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn rfc3174_vectors() {
    assert_eq!(
        hex(&Sha1::digest(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex(&Sha1::digest(b"")),
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    );
    assert_eq!(
        hex(&Sha1::digest(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    );
    let mut s = Sha1::new();
    for _ in 0..1_000_000 / 1000 {
        s.update(&[b'a'; 1000]);
    }
    assert_eq!(hex(&s.finish()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

#[test]
fn rfc2202_hmac_vectors() {
    let mut h = HmacSha1::new(&[0x0b; 20]);
    h.update(b"Hi There");
    assert_eq!(hex(&h.finish()), "b617318655057264e28bc0b6fb378c8ef146be00");
    let mut h = HmacSha1::new(b"Jefe");
    h.update(b"what do ya want for nothing?");
    assert_eq!(hex(&h.finish()), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    // Key longer than a block is hashed first.
    let mut h = HmacSha1::new(&[0xaa; 80]);
    h.update(b"Test Using Larger Than Block-Size Key - Hash Key First");
    assert_eq!(hex(&h.finish()), "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

#[test]
fn constant_time_compare() {
    assert!(ct_eq(b"abc", b"abc"));
    assert!(!ct_eq(b"abc", b"abd"));
    assert!(!ct_eq(b"abc", b"ab"));
    assert!(ct_eq(b"", b""));
}

#[test]
fn key_carries_its_hmac_state() {
    assert_eq!(*Key::default().hmac_key(), HmacKey::new(b""));
    assert_eq!(*Key::new(b"").unwrap().hmac_key(), HmacKey::new(b""));
    assert_eq!(
        *Key::new(b"secret").unwrap().hmac_key(),
        HmacKey::new(b"secret")
    );
    assert_ne!(HmacKey::new(b"secret"), HmacKey::new(b"secreu"));
    // The state is as secret as the key.
    assert_eq!(format!("{:?}", HmacKey::new(b"secret")), "HmacKey(..)");
    assert_eq!(format!("{:?}", HmacSha1::new(b"secret")), "HmacSha1(..)");
}

proptest! {
    /// A precomputed key gives the same MAC as the key itself, used many
    /// times (the state is copied, never consumed).
    #[test]
    fn keyed_hmac_matches(key in proptest::collection::vec(any::<u8>(), 0..100),
                          a in proptest::collection::vec(any::<u8>(), 0..200),
                          b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let k = HmacKey::new(&key);
        for data in [&a, &b, &a] {
            let mut h = HmacSha1::keyed(&k);
            h.update(data);
            let mut m = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
            m.update(data);
            prop_assert_eq!(&h.finish()[..], &m.finalize().into_bytes()[..]);
        }
    }

    #[test]
    fn sha1_matches_rustcrypto(data in proptest::collection::vec(any::<u8>(), 0..600),
                               split in 0usize..600) {
        let mut s = Sha1::new();
        let cut = split.min(data.len());
        s.update(&data[..cut]);
        s.update(&data[cut..]);
        let theirs = sha1::Sha1::digest(&data);
        prop_assert_eq!(&s.finish()[..], &theirs[..]);
    }

    #[test]
    fn hmac_matches_rustcrypto(key in proptest::collection::vec(any::<u8>(), 0..100),
                               data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut h = HmacSha1::new(&key);
        h.update(&data);
        let mut m = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
        m.update(&data);
        prop_assert_eq!(&h.finish()[..], &m.finalize().into_bytes()[..]);
    }
}
