// SPDX-License-Identifier: GPL-2.0
//! Fuzzes the receive path: any bytes as an advertisement (TTL, payload)
//! through parsing, authentication and the state machine, plus the
//! carpnodes text parser. Nothing may panic.
#![no_main]

use carp_core::carp_balance::Carpnodes;
use carp_core::carp_proto::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&ttl, rest)) = data.split_first() else {
        return;
    };
    if let Ok(s) = core::str::from_utf8(rest) {
        let _ = Carpnodes::parse(s);
    }
    let cfg = Config::default()
        .apply(&ConfigUpdate {
            carpnodes: Some(&[(1, 0), (2, 100), (u32::from(ttl).max(3), 7)]),
            pass: Some(b"fuzz"),
            ..Default::default()
        })
        .unwrap_or_default();
    let mut carp = Carp::new(cfg, 42);
    let mut sink = |_a: Action| {};
    let addrs = Addrs { v4: &[[192, 0, 2, 1]], v6: &[], lladdr: None };
    carp.set_addresses(0, &addrs, &mut sink);
    let link = Link { up: true, carpdev_up: true };
    carp.set_link(0, link, &addrs, &mut sink);
    if let Ok(h) = Header::parse(ttl, rest) {
        let _ = carp.input(1, Family::V4, &h, ttl & 1 == 1, &addrs, &mut sink);
        carp.on_timer(u64::from(ttl) << 30, &addrs, &mut sink);
    }
});
