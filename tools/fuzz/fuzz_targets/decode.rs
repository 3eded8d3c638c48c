// SPDX-License-Identifier: GPL-2.0
//! Fuzzes the protocol core: the configuration path (any update applied to
//! any configuration) and a device fed a stream of advertisements and
//! timer ticks. Advertisements whose selector bit is set are signed with the
//! device's key and checksummed after mutation, so mutated fields (vhid,
//! advbase, advskew, demote, counter) reach the authenticated state machine
//! instead of stopping at the HMAC. Nothing may panic, and the invariants
//! checked below must hold.
#![no_main]

use carp_core::carp_balance::{Carpnodes, MAX_NODES};
use carp_core::carp_proto::*;
use libfuzzer_sys::fuzz_target;

/// A configuration update read from fuzz bytes.
fn update<'a>(b: &'a [u8], pairs: &'a mut [(u32, u32); MAX_NODES + 2]) -> ConfigUpdate<'a> {
    let g = |i: usize| u32::from(b.get(i).copied().unwrap_or(0));
    let f = g(0) | g(1) << 8;
    let mut u = ConfigUpdate::default();
    if f & 1 != 0 {
        u.vhid = Some(g(2) | g(3) << 8);
    }
    if f & 2 != 0 {
        u.advskew = Some(g(4) | g(5) << 8);
    }
    if f & 4 != 0 {
        u.advbase = Some(g(6) | g(7) << 8);
    }
    if f & 8 != 0 {
        u.balancing = Some(g(8));
    }
    if f & 16 != 0 {
        let n = (g(9) as usize) % 24;
        u.pass = b.get(10..10 + n).or(Some(&[]));
    }
    if f & 32 != 0 {
        let n = (g(34) as usize) % (MAX_NODES + 3);
        for (i, p) in pairs.iter_mut().enumerate() {
            *p = (g(35 + i) % 260, g(36 + i) % 260);
        }
        u.carpnodes = pairs.get(..n.min(MAX_NODES + 2));
    }
    if f & 64 != 0 {
        u.peer = Some((f & 128 != 0).then(|| [g(2) as u8, g(3) as u8, g(4) as u8, g(5) as u8]));
    }
    u
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (cfg_bytes, pkts) = rest.split_at(rest.len().min(72));
    if let Ok(s) = core::str::from_utf8(cfg_bytes) {
        let _ = Carpnodes::parse(s);
    }

    // The configuration path: an update either fails with a message, or
    // gives a configuration that passes its own checks.
    let base = Config::default()
        .apply(&ConfigUpdate {
            carpnodes: Some(&[(1, 0), (2, 100), (3, 7)]),
            pass: Some(b"fuzz"),
            ..Default::default()
        })
        .unwrap();
    let mut pairs = [(0u32, 0u32); MAX_NODES + 2];
    let upd = update(cfg_bytes, &mut pairs);
    let cfg = match base.apply(&upd) {
        Ok(c) => {
            assert!(c.check().is_ok());
            assert!(c.count() <= MAX_NODES);
            if let Some(n) = c.nodes {
                assert!(n.as_slice().windows(2).all(|w| w[0].vhid < w[1].vhid));
            }
            // Applying the same update again changes nothing more.
            assert_eq!(c.apply(&upd).ok(), Some(c));
            c
        }
        Err(e) => {
            assert!(!e.message.to_bytes().is_empty());
            base
        }
    };

    // A device running that configuration, fed advertisements.
    let mut carp = Carp::new(cfg, 42);
    let mut sink = |_a: Action| {};
    let v4 = [[192, 0, 2, 1]];
    let v6 = [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]];
    let ll = [[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]];
    let addrs = Addrs {
        v4: &v4,
        v6: if sel & 2 != 0 { &v6 } else { &[] },
        v6ll: if sel & 4 != 0 { &ll } else { &[] },
        lladdr: None,
    };
    carp.set_addresses(0, &addrs, &mut sink);
    carp.set_link(0, Link { up: true, carpdev_up: true }, &addrs, &mut sink);
    let mut now = 0u64;
    for chunk in pkts.chunks(HDR_LEN + 2) {
        let (&ctl, body) = chunk.split_first().unwrap();
        let Some((&ttl, hdr)) = body.split_first() else {
            break;
        };
        now += u64::from(ctl & 0x3f) * 50_000_000;
        let mut pkt = [0u8; HDR_LEN];
        pkt[..hdr.len().min(HDR_LEN)].copy_from_slice(&hdr[..hdr.len().min(HDR_LEN)]);
        let len = if ctl & 0x40 != 0 { HDR_LEN } else { hdr.len() };
        if ctl & 0x80 != 0 && sel & 1 != 0 {
            // Make it authentic: version 2, advertisement, authlen 7, the
            // HMAC of the device's key over its addresses, then the sum.
            pkt[0] = 0x21;
            pkt[3] = 7;
            let mut counter = [0u8; 8];
            counter.copy_from_slice(&pkt[8..16]);
            let leader = cfg.nodes.is_some_and(|n| n.leader().vhid == pkt[1]);
            let h = addrs.hmac(&cfg.key, pkt[1], leader, &counter, &[], HmacContext::NoV6Ll);
            pkt[16..36].copy_from_slice(&h);
            pkt[6] = 0;
            pkt[7] = 0;
            let c = cksum(&pkt);
            pkt[6..8].copy_from_slice(&c.to_be_bytes());
        }
        let ttl = if ctl & 0x80 != 0 { 255 } else { ttl };
        match Header::parse(ttl, &pkt[..len]) {
            Ok(h) => {
                let fam = if ctl & 1 != 0 { Family::V6 } else { Family::V4 };
                let _ = carp.input(now, fam, &h, sel & 8 != 0, &addrs, &mut sink);
            }
            Err(e) => assert!(e.stat().is_some()),
        }
        if let Some(t) = carp.next_deadline() {
            if t <= now + 4_000_000_000 {
                carp.on_timer(t, &addrs, &mut sink);
            }
        }
        // The state summary agrees with the entries.
        let snap = carp.snapshot();
        assert_eq!(snap.mask, carp.lsmask());
        assert_eq!(usize::from(snap.count), cfg.count());
    }
});
