// SPDX-License-Identifier: GPL-2.0
//! What a device's address count costs, on the host, at 10, 1 000 and
//! 10 000 IPv4 and IPv6 addresses:
//! - per change (an address added or removed): the sort the kernel does
//!   when its lists change, and the one HMAC the change sends;
//! - per advertisement sent: the HMAC is cached per entry, so nothing
//!   (shown: the cost without the cache, and OpenBSD's selection order);
//! - per advertisement received from a peer with a fixed counter (this
//!   implementation): the remembered pair, compared in constant time.
//!
//! Each figure is the median of 7 runs with its spread (min-max).

use carp_core::carp_proto::{
    hmac_finish, hmac_prefix, sort_addrs, Addrs, Carp, Config, ConfigUpdate, Family, Header,
    HmacContext, Key, Link,
};
use std::hint::black_box;
use std::time::Instant;

fn stats(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.total_cmp(b));
    let (m, lo, hi) = (v[v.len() / 2], v[0], v[v.len() - 1]);
    if m < 1.0 {
        format!("{:>8.0} ns ({:.0}-{:.0})", m * 1e3, lo * 1e3, hi * 1e3)
    } else {
        format!("{m:>8.1} us ({lo:.1}-{hi:.1})")
    }
}

/// Median and spread of `f`'s time in microseconds over 7 runs of `reps`.
fn time(reps: u32, mut f: impl FnMut()) -> String {
    let runs = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / f64::from(reps)
        })
        .collect();
    stats(runs)
}

fn lcg(x: &mut u64) -> u64 {
    *x = x
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *x >> 16
}

fn main() {
    let key = Key::new(b"secret").expect("a valid key");
    println!(
        "addresses  family  per change (sort + 1 HMAC)   uncached HMAC, sorted lists   \
              uncached HMAC, unsorted (selection)   per advertisement received (remembered)"
    );
    for n in [10usize, 1000, 10_000] {
        let mut x = 7u64;
        let v4: Vec<[u8; 4]> = (0..n).map(|_| (lcg(&mut x) as u32).to_be_bytes()).collect();
        let v6: Vec<[u8; 16]> = (0..n)
            .map(|_| {
                let mut a = [0u8; 16];
                a[..8].copy_from_slice(&lcg(&mut x).to_be_bytes());
                a[8..].copy_from_slice(&lcg(&mut x).to_be_bytes());
                a[0] = 0x20;
                a
            })
            .collect();
        let reps = (20_000 / n).max(2) as u32;
        for fam in ["IPv4", "IPv6"] {
            let (l4, l6): (&[[u8; 4]], &[[u8; 16]]) = if fam == "IPv4" {
                (&v4, &[])
            } else {
                (&[], &v6)
            };
            let change = time(reps, || {
                let mut s4 = l4.to_vec();
                let k4 = sort_addrs(&mut s4);
                let mut s6 = l6.to_vec();
                let k6 = sort_addrs(&mut s6);
                let p = hmac_prefix(
                    &key,
                    1,
                    None,
                    &s4[..k4],
                    &s6[..k6],
                    &[],
                    HmacContext::NoV6Ll,
                );
                black_box(hmac_finish(&p, &[1; 8]));
            });
            let mut s4 = l4.to_vec();
            let k4 = sort_addrs(&mut s4);
            s4.truncate(k4);
            let mut s6 = l6.to_vec();
            let k6 = sort_addrs(&mut s6);
            s6.truncate(k6);
            let sorted = time(reps, || {
                let p = hmac_prefix(&key, 1, None, &s4, &s6, &[], HmacContext::NoV6Ll);
                black_box(hmac_finish(&p, &[1; 8]));
            });
            // OpenBSD's selection loop: quadratic; at 10 000 one run.
            let sel_reps = if n >= 10_000 { 1 } else { reps };
            let unsorted = time(sel_reps, || {
                let p = hmac_prefix(&key, 1, None, l4, l6, &[], HmacContext::NoV6Ll);
                black_box(hmac_finish(&p, &[1; 8]));
            });
            // A backup that heard this advertisement before.
            let cfg = |skew| {
                Config::default()
                    .apply(&ConfigUpdate {
                        vhid: Some(1),
                        advskew: Some(skew),
                        pass: Some(b"secret"),
                        ..Default::default()
                    })
                    .expect("a valid configuration")
            };
            let addrs = Addrs {
                v4: &s4,
                v6: &s6,
                v6ll: &[],
                lladdr: None,
            };
            let mut a = Carp::new(cfg(0), 1);
            let mut b = Carp::new(cfg(100), 2);
            let up = Link {
                up: true,
                carpdev_up: true,
            };
            for c in [&mut a, &mut b] {
                c.set_addresses(0, &addrs, &mut |_| {});
                c.set_link(0, up, &addrs, &mut |_| {});
            }
            let pkt = a.advert(0, false, &addrs).expect("an advertisement");
            let hdr = Header::parse(255, &pkt).expect("a valid advertisement");
            let f = if fam == "IPv4" {
                Family::V4
            } else {
                Family::V6
            };
            let _ = b.input(1, f, &hdr, false, &addrs, &mut |_| {});
            let heard = time(100_000, || {
                black_box(b.input(1, f, &hdr, false, &addrs, &mut |_| {})).ok();
            });
            println!("{n:>9}  {fam}  {change}  {sorted}  {unsorted}  {heard}");
        }
    }
}
