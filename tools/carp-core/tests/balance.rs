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

/// Who takes in, answers and sends, per mode: the rules the receive
/// steering, the neighbour replies and the transmit path read from the
/// snapshot word.
#[test]
fn snapshot_rules() {
    use Balancing::*;
    for (mode, ip) in [
        (None, false),
        (Ip, true),
        (IpStealth, true),
        (IpUnicast, true),
        (Arp, false),
    ] {
        assert_eq!(mode.is_ip(), ip, "{mode:?}");
        let snap = |mask, running| Snapshot {
            mask,
            count: 2,
            mode,
            running,
        };
        // MASTER of the leader entry: takes in, answers, sends.
        let leader = snap(0b01, true);
        assert!(leader.leader_master() && leader.answers_neighbours());
        assert!(leader.accepts_shared_mac() && leader.may_send(), "{mode:?}");
        // MASTER of the second entry only: in the ip modes it takes in
        // the shared MAC's frames (the filter picks); with balancing it
        // sends for its entry; it never answers for the leader.
        let second = snap(0b10, true);
        assert!(!second.leader_master() && !second.answers_neighbours());
        assert_eq!(second.accepts_shared_mac(), ip, "{mode:?}");
        assert_eq!(second.may_send(), mode != None, "{mode:?}");
        assert!(second.master_of(1) && !second.master_of(0));
        // Beyond the 32 entries a mask can hold: no, and no overflow.
        let all = snap(u32::MAX, true);
        assert!(all.master_of(31) && !all.master_of(32) && !all.master_of(40));
        // BACKUP of every entry: in the ip modes it still takes in (and
        // the filter drops what is not its own); never sends.
        let backup = snap(0, true);
        assert_eq!(backup.accepts_shared_mac(), ip, "{mode:?}");
        assert!(!backup.may_send() && !backup.answers_neighbours());
        // Not running: nothing, whatever the mask says.
        let stopped = snap(0b11, false);
        assert!(!stopped.accepts_shared_mac() && !stopped.may_send());
        assert!(!stopped.answers_neighbours() && !stopped.master_of(0));
        assert_eq!(Snapshot::decode(leader.encode()), leader);
        assert_eq!(Snapshot::decode(stopped.encode()), stopped);
        // The filter's entry for a fold: fold mod count (2 here).
        assert_eq!(leader.fold_index(7), Some(1));
        assert_eq!(leader.fold_index(6), Some(0));
        assert_eq!(Snapshot { count: 0, ..leader }.fold_index(7), Option::None);
    }
}

/// A fold or hash that maps past the 32 entries a mask holds (a count
/// above 32, which Carpnodes never makes) is nobody's: no accept, no
/// answer, and no shift overflow.
#[test]
fn indexes_past_the_mask() {
    assert_eq!(node_index(32, 33), Some(32));
    assert!(!ip_accept(32, false, 33, u32::MAX));
    assert!(ip_accept(31, false, 33, 1 << 31));
    let key = ArpHashKey::new(b"secret");
    let mut past = 0;
    for b in 0..=255u8 {
        let mac = [2, 0, 0, 0, 0, b];
        let i = node_index(arp_hash(&key, &mac), 64).unwrap();
        let got = arp_select(&key, &mac, 64, u32::MAX);
        if i < 32 {
            assert_eq!(got, Some(i));
        } else {
            past += 1;
            assert_eq!(got, None, "mac {mac:02x?} -> entry {i}");
        }
    }
    assert!(past > 0, "some MAC hashes past entry 31");
}

/// The key as published for lock-free readers is the key.
#[test]
fn arp_key_words_round_trip() {
    let key = ArpHashKey::new(b"mekmitasdigoat");
    let w = key.words();
    assert_ne!(w, [0; 3]);
    assert_ne!(w, [1; 3]);
    assert_eq!(ArpHashKey::from_words(w), key);
    let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    assert_eq!(arp_hash(&ArpHashKey::from_words(w), &mac), 0xbe85_0b4c);
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

#[test]
fn arp_hash_known_answers() {
    // Vectors from an independent implementation (Python, written from
    // the description of OpenBSD's 2015 carp_hash and bridge_hash's mix in
    // Documentation/networking/carp-protocol.rst), not from this crate.
    let vectors: [(&[u8], [u8; 6], u32); 12] = [
        (b"", [0x02, 0x00, 0x00, 0x00, 0x00, 0x01], 0x9fb4ee2a),
        (b"", [0x52, 0x54, 0x00, 0x12, 0x34, 0x56], 0xcd22e899),
        (b"", [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01], 0xc9cada75),
        (b"", [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0x53fafb5f),
        (b"secret", [0x02, 0x00, 0x00, 0x00, 0x00, 0x01], 0x16793a4b),
        (b"secret", [0x52, 0x54, 0x00, 0x12, 0x34, 0x56], 0x9e7a1b31),
        (b"secret", [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01], 0x9411f34b),
        (b"secret", [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0x44c2c7f2),
        (
            b"mekmitasdigoat",
            [0x02, 0x00, 0x00, 0x00, 0x00, 0x01],
            0x93dbe511,
        ),
        (
            b"mekmitasdigoat",
            [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
            0xbe850b4c,
        ),
        (
            b"mekmitasdigoat",
            [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01],
            0xa3439875,
        ),
        (
            b"mekmitasdigoat",
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            0xa7d91e82,
        ),
    ];
    for (key, mac, want) in vectors {
        let k = ArpHashKey::new(key);
        assert_eq!(arp_hash(&k, &mac), want, "key {key:?} mac {mac:02x?}");
    }
}

fn ip4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(payload);
    h
}

fn ip6(src: [u8; 16], dst: [u8; 16], nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0, 0, payload.len() as u8, nh, 64];
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(payload);
    h
}

const C: [u8; 4] = [198, 51, 100, 7];
const VIP: [u8; 4] = [192, 0, 2, 10];
const R: [u8; 4] = [203, 0, 113, 9];

#[test]
fn filter_v4_folds_both_directions_alike() {
    let udp = [0u8; 8];
    let a = filter_v4(&ip4(C, VIP, 17, &udp));
    let b = filter_v4(&ip4(VIP, C, 17, &udp));
    assert_eq!(a, Filter::Fold(fold_v4(C, VIP)));
    assert_eq!(a, b);
    // OpenBSD: ntohl(src ^ dst) mod count.
    let want = (u32::from_be_bytes(C) ^ u32::from_be_bytes(VIP)) % 3;
    assert_eq!(node_index(fold_v4(C, VIP), 3), Some(want as usize));
}

#[test]
fn filter_v4_special_packets() {
    assert_eq!(filter_v4(&ip4(C, VIP, 112, &[0; 36])), Filter::Pass);
    // An ICMP error about our packet VIP -> R, from router C, is folded
    // like the flow it belongs to.
    let quoted = ip4(VIP, R, 6, &[0; 8]);
    let mut icmp = vec![3, 1, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&quoted);
    assert_eq!(
        filter_v4(&ip4(C, VIP, 1, &icmp)),
        Filter::Fold(fold_v4(VIP, R))
    );
    assert_eq!(
        filter_v4(&ip4(C, VIP, 1, &icmp)),
        filter_v4(&ip4(R, VIP, 6, &[0; 20]))
    );
    // Echo requests, and errors quoting garbage, use the outer pair.
    let echo = [8, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        filter_v4(&ip4(C, VIP, 1, &echo)),
        Filter::Fold(fold_v4(C, VIP))
    );
    // ... even when an echo's payload looks like a quoted packet.
    let mut echo_quote = echo.to_vec();
    echo_quote.extend_from_slice(&quoted);
    assert_eq!(
        filter_v4(&ip4(C, VIP, 1, &echo_quote)),
        Filter::Fold(fold_v4(C, VIP))
    );
    // Every ICMP error type that quotes its packet, and only those.
    for t in 0..=255u8 {
        let mut m = icmp.clone();
        m[0] = t;
        let want = if [3, 4, 5, 11, 12].contains(&t) {
            fold_v4(VIP, R)
        } else {
            fold_v4(C, VIP)
        };
        assert_eq!(
            filter_v4(&ip4(C, VIP, 1, &m)),
            Filter::Fold(want),
            "type {t}"
        );
    }
    let garbage = [3, 1, 0, 0, 0, 0, 0, 0, 0x99, 1, 2];
    assert_eq!(
        filter_v4(&ip4(C, VIP, 1, &garbage)),
        Filter::Fold(fold_v4(C, VIP))
    );
    // A later fragment of an ICMP packet is folded on its addresses.
    let mut frag = ip4(C, VIP, 1, &icmp);
    frag[6] = 0;
    frag[7] = 20;
    assert_eq!(filter_v4(&frag), Filter::Fold(fold_v4(C, VIP)));
    // IP options move the transport header, not the addresses.
    let mut opts = ip4(C, VIP, 17, &[1, 1, 1, 0, 0, 0, 0, 0]);
    opts[0] = 0x46;
    assert_eq!(filter_v4(&opts), Filter::Fold(fold_v4(C, VIP)));
    // Truncated or not IPv4: nobody accepts it.
    assert_eq!(filter_v4(&ip4(C, VIP, 17, &[])[..19]), Filter::Malformed);
    let mut v5 = ip4(C, VIP, 17, &[0; 8]);
    v5[0] = 0x55;
    assert_eq!(filter_v4(&v5), Filter::Malformed);
    let mut short_ihl = ip4(C, VIP, 17, &[0; 8]);
    short_ihl[0] = 0x44;
    assert_eq!(filter_v4(&short_ihl), Filter::Malformed);
    assert_eq!(filter_v4(&[]), Filter::Malformed);
    // A header longer than the packet (IHL 15: 60 bytes) is malformed; a
    // bare 20-byte header is not.
    let mut long_ihl = ip4(C, VIP, 17, &[0; 8]);
    long_ihl[0] = 0x4f;
    assert_eq!(filter_v4(&long_ihl), Filter::Malformed);
    long_ihl.resize(60, 0);
    assert_eq!(filter_v4(&long_ihl), Filter::Fold(fold_v4(C, VIP)));
    assert_eq!(
        filter_v4(&ip4(C, VIP, 17, &[])),
        Filter::Fold(fold_v4(C, VIP))
    );
}

#[test]
fn filter_v6_special_packets() {
    let c = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    let vip = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10];
    let r = [0x20, 1, 0xd, 0xb8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
    let a = filter_v6(&ip6(c, vip, 6, &[0; 20]));
    assert_eq!(a, Filter::Fold(fold_v6(&c, &vip)));
    assert_eq!(a, filter_v6(&ip6(vip, c, 6, &[0; 20])));
    for t in [133, 134, 135, 136, 137, 130, 131, 132, 143] {
        assert_eq!(
            filter_v6(&ip6(c, vip, 58, &[t, 0, 0, 0])),
            Filter::Pass,
            "type {t}"
        );
    }
    assert_eq!(filter_v6(&ip6(c, vip, 112, &[0; 36])), Filter::Pass);
    let quoted = ip6(vip, r, 17, &[0; 8]);
    let mut err = vec![1, 4, 0, 0, 0, 0, 0, 0];
    err.extend_from_slice(&quoted);
    assert_eq!(
        filter_v6(&ip6(c, vip, 58, &err)),
        Filter::Fold(fold_v6(&vip, &r))
    );
    assert_eq!(
        filter_v6(&ip6(c, vip, 58, &[128, 0, 0, 0])),
        Filter::Fold(fold_v6(&c, &vip))
    );
    assert_eq!(filter_v6(&ip6(c, vip, 6, &[])[..39]), Filter::Malformed);
}
