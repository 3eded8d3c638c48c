// SPDX-License-Identifier: GPL-2.0
//! Balancing: hashes, masks, MAC selection.

use carp_core::carp_balance::*;
use proptest::prelude::*;

#[test]
fn macs() {
    assert_eq!(virtual_mac(7), [0, 0, 0x5e, 0, 1, 7]);
    assert_eq!(multicast_mac(7), [1, 0, 0x5e, 0, 1, 7]);
    assert_eq!(shared_mac(Balancing::Ip, 3), multicast_mac(3));
    for m in [
        Balancing::None,
        Balancing::IpStealth,
        Balancing::IpUnicast,
        Balancing::Arp,
    ] {
        assert_eq!(shared_mac(m, 3), virtual_mac(3));
    }
    let real = [2, 0, 0, 0, 0, 1];
    let own = virtual_mac(3);
    assert_eq!(source_mac(Balancing::Ip, multicast_mac(3), real), real);
    assert_eq!(
        source_mac(Balancing::IpStealth, own, real),
        real,
        "stealth never leaks"
    );
    assert_eq!(source_mac(Balancing::IpUnicast, own, real), own);
    assert_eq!(source_mac(Balancing::None, own, real), own);
    assert_eq!(source_mac(Balancing::Arp, own, real), own);
}

#[test]
fn ip_accept_rules() {
    // Broadcast/multicast always accepted, even with no mastership.
    assert!(ip_accept(123, true, 2, 0));
    // No nodes: drop.
    assert!(!ip_accept(123, false, 0, 0xffff_ffff));
    // fold 5 mod 2 = 1: only the master of node 1 accepts.
    assert!(ip_accept(5, false, 2, 0b10));
    assert!(!ip_accept(5, false, 2, 0b01));
}

#[test]
fn fold_known_values() {
    assert_eq!(fold_v4([192, 0, 2, 1], [192, 0, 2, 1]), 0);
    assert_eq!(fold_v4([192, 0, 2, 1], [192, 0, 2, 2]), 3);
    let mut a = [0u8; 16];
    a[15] = 1;
    let mut b = [0u8; 16];
    b[3] = 1;
    // Word 3 of a is 1, word 0 of b is 1: they cancel.
    assert_eq!(fold_v6(&a, &b), 0);
    b[2] = 1;
    assert_eq!(fold_v6(&a, &b), 0x100);
}

proptest! {
    #[test]
    fn fold_is_symmetric(a: [u8; 4], b: [u8; 4], c: [u8; 16], d: [u8; 16]) {
        prop_assert_eq!(fold_v4(a, b), fold_v4(b, a));
        prop_assert_eq!(fold_v6(&c, &d), fold_v6(&d, &c));
    }

    /// With every node mastered by exactly one host, every packet is
    /// accepted by exactly one host.
    #[test]
    fn exactly_one_host_accepts(fold: u32, n in 1usize..=32, owners in proptest::collection::vec(0usize..4, 32)) {
        let mut masks = [0u32; 4];
        for i in 0..n {
            masks[owners[i]] |= 1 << i;
        }
        let accepted = masks.iter().filter(|m| ip_accept(fold, false, n, **m)).count();
        prop_assert_eq!(accepted, 1);
    }

    #[test]
    fn arp_select_matches_mask(mac: [u8; 6], key in proptest::collection::vec(any::<u8>(), 0..20),
                               n in 1usize..=32, mask: u32) {
        let k = ArpHashKey::new(&key);
        match arp_select(&k, &mac, n, mask) {
            Some(i) => { prop_assert!(i < n); prop_assert!(mask & (1 << i) != 0); }
            None => {
                let i = node_index(arp_hash(&k, &mac), n).unwrap();
                prop_assert!(mask & (1 << i) == 0);
            }
        }
    }

    #[test]
    fn carpnodes_invariants(pairs in proptest::collection::vec((0u32..300, 0u32..300), 0..40)) {
        match Carpnodes::from_pairs(pairs.iter().copied()) {
            Ok(n) => {
                prop_assert!(!n.is_empty() && n.len() <= MAX_NODES);
                let s = n.as_slice();
                prop_assert!(s.windows(2).all(|w| w[0].vhid < w[1].vhid));
                prop_assert!(s.iter().all(|x| x.vhid >= 1 && x.advskew < 255));
                prop_assert_eq!(n.leader(), s[0]);
            }
            Err(_) => {
                let mut v: Vec<u32> = pairs.iter().map(|p| p.0).collect();
                v.sort();
                v.dedup();
                let bad = pairs.is_empty() || pairs.len() > MAX_NODES || v.len() != pairs.len()
                    || pairs.iter().any(|p| p.0 == 0 || p.0 > 255 || p.1 >= 255);
                prop_assert!(bad);
            }
        }
    }
}

#[test]
fn arp_hash_spreads() {
    let k = ArpHashKey::new(b"secret");
    let mut counts = [0u32; 4];
    for i in 0..4000u32 {
        let b = i.to_be_bytes();
        let mac = [2, 0, b[0], b[1], b[2], b[3]];
        counts[node_index(arp_hash(&k, &mac), 4).unwrap()] += 1;
    }
    for c in counts {
        assert!((700..1300).contains(&c), "uneven spread {counts:?}");
    }
    // Different passphrases give different assignments.
    let k2 = ArpHashKey::new(b"other");
    let differ = (0..256u32)
        .filter(|i| {
            let mac = [2, 0, 0, 0, 0, *i as u8];
            node_index(arp_hash(&k, &mac), 4) != node_index(arp_hash(&k2, &mac), 4)
        })
        .count();
    assert!(differ > 64);
}
