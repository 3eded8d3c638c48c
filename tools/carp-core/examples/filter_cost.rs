// SPDX-License-Identifier: GPL-2.0
//! The IP-balancing filter's decision on the host: classify a packet
//! (fold of its addresses), map it to an entry and test the MASTER mask,
//! for a mix of IPv4 and IPv6 packets. Prints nanoseconds per packet (the
//! kernel adds the copy of the headers and the per-CPU counter).

use carp_core::carp_balance::{filter_v4, filter_v6, Balancing, Filter, Snapshot};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let snap = Snapshot {
        mask: 0b01,
        count: 2,
        mode: Balancing::Ip,
        running: true,
    };
    let mut v4 = vec![0x45u8, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
    v4.extend_from_slice(&[198, 51, 100, 0, 192, 0, 2, 10]);
    v4.extend_from_slice(&[0; 20]);
    let mut v6 = vec![0x60u8, 0, 0, 0, 0, 20, 6, 64];
    v6.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v6.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10]);
    v6.extend_from_slice(&[0; 20]);
    let n = 20_000_000u32;
    let mut accepted = 0u32;
    let t = Instant::now();
    for i in 0..n {
        let (p, six) = if i & 3 == 0 {
            (&mut v6, true)
        } else {
            (&mut v4, false)
        };
        // A different source per packet, as flows differ.
        if six {
            p[23] = i as u8;
        } else {
            p[15] = i as u8;
        }
        let f = if six {
            filter_v6(black_box(p))
        } else {
            filter_v4(black_box(p))
        };
        if let Filter::Fold(x) = f {
            if snap.fold_index(x).is_some_and(|e| snap.master_of(e)) {
                accepted += 1;
            }
        }
    }
    let ns = t.elapsed().as_nanos() as f64 / f64::from(n);
    println!(
        "IP filter decision on the host: {ns:.1} ns per packet ({} of {n} accepted, 3:1 IPv4:IPv6)",
        black_box(accepted)
    );
}
