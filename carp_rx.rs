// SPDX-License-Identifier: GPL-2.0

//! Receiving advertisements: the IP protocol 112 handlers for IPv4 and
//! IPv6. Each advertisement is validated (TTL, length, checksum), matched
//! to the carp device with its vhid on the carpdev it arrived on, and
//! handed to that device's protocol core, which authenticates it and runs
//! the state machine. Drops are counted and logged (rate-limited).

use crate::carp_net::{carp_net_of, log_rx};
use crate::carp_port::Port;
use crate::carp_proto::{Family, Header, RxError, Stat, HDR_LEN, IPPROTO_CARP};
use crate::carp_sys as sys;
use crate::carp_util::{now, KStatic, Rcu};
use core::ffi::c_int;
use kernel::error::to_result;
use kernel::prelude::*;

/// Validates and processes one advertisement received on `lower`; counts
/// and logs a drop: in the namespace before a device is found, in the
/// device (and namespace) after. `Err` is why it was dropped.
///
/// # Safety
///
/// Receive path (RCU read side, softirq); `lower` live.
unsafe fn input(
    rcu: &Rcu,
    lower: *mut sys::net_device,
    fam: Family,
    ttl: u8,
    payload: Option<&[u8]>,
    len: usize,
) -> Result<(), Dropped> {
    // SAFETY: the device's namespace lives while it receives.
    let net = unsafe { carp_net_of(lower) };
    let early = |e: RxError| {
        if let Some(s) = e.stat() {
            net.stats.count(s);
        }
        // SAFETY: `lower` is live.
        unsafe { log_rx(lower, e) };
        Err(Dropped::Rx(e))
    };
    if !net.allow() {
        return Err(Dropped::NotAllowed);
    }
    // SAFETY: `lower` is live.
    let Some(port) = (unsafe { Port::get_rcu(rcu, lower) }) else {
        return early(RxError::BadIf);
    };
    let Some(payload) = payload else {
        return early(RxError::BadLen(len));
    };
    let hdr = match Header::parse(ttl, payload) {
        Ok(h) => h,
        Err(e) => return early(e),
    };
    let Some(cd) = port.by_vhid(rcu, hdr.vhid) else {
        return early(RxError::BadVhid(hdr.vhid));
    };
    // The namespace counted it on arrival; the device counts what reaches it.
    cd.stats.count(match fam {
        Family::V4 => Stat::IPackets,
        Family::V6 => Stat::IPackets6,
    });
    let preempt = net.preempt();
    let t = now();
    let mut res = Ok(());
    cd.with_core(|carp, addrs, mut sink| {
        res = carp.input(t, fam, &hdr, preempt, addrs, &mut sink);
    });
    match res {
        Ok(()) => {
            cd.count(Stat::Accepted);
            Ok(())
        }
        Err(e) => {
            if let Some(s) = e.stat() {
                cd.count(s);
            }
            // SAFETY: the carp device is live (RCU).
            unsafe { log_rx(cd.dev, e) };
            Err(Dropped::Rx(e))
        }
    }
}

/// Why an advertisement was dropped.
enum Dropped {
    /// `net.inet.carp.allow` is 0.
    NotAllowed,
    /// Refused by validation or the protocol core (counted, logged).
    Rx(RxError),
}

impl Dropped {
    /// The kernel's drop reason, for drop monitors (`perf trace -e
    /// skb:kfree_skb`, dropwatch).
    fn reason(&self) -> sys::skb_drop_reason {
        match self {
            Self::Rx(RxError::BadLen(_)) => sys::skb_drop_reason_SKB_DROP_REASON_PKT_TOO_SMALL,
            Self::Rx(RxError::BadSum) => sys::skb_drop_reason_SKB_DROP_REASON_IP_CSUM,
            Self::Rx(RxError::BadTtl(_)) => sys::skb_drop_reason_SKB_DROP_REASON_IP_INHDR,
            _ => sys::skb_drop_reason_SKB_DROP_REASON_NOT_SPECIFIED,
        }
    }
}

/// Receives an advertisement of family `fam`: `ttl_at` is the offset of
/// the TTL / hop limit in the network header.
///
/// # Safety
///
/// Called by the IP stack (RCU read side) with an skb we now own, data at
/// the transport header.
unsafe fn rcv(skb: *mut sys::sk_buff, fam: Family, ttl_at: usize) -> c_int {
    // SAFETY: as documented.
    unsafe {
        let rcu = Rcu::assume();
        let lower = sys::carp_skb_dev(skb);
        carp_net_of(lower).stats.count(match fam {
            Family::V4 => Stat::IPackets,
            Family::V6 => Stat::IPackets6,
        });
        let ttl = *sys::carp_skb_network(skb).add(ttl_at);
        let len = sys::carp_skb_len(skb) as usize;
        let payload = if sys::carp_skb_may_pull(skb, HDR_LEN as u32) {
            Some(core::slice::from_raw_parts(
                sys::carp_skb_data(skb),
                HDR_LEN,
            ))
        } else {
            None
        };
        match input(&rcu, lower, fam, ttl, payload, len) {
            Ok(()) => sys::carp_consume_skb(skb),
            Err(d) => sys::carp_kfree_skb_reason(skb, d.reason()),
        }
    }
    0
}

/// IPv4 advertisements.
///
/// # Safety
///
/// As [`rcv`].
unsafe extern "C" fn carp4_rcv(skb: *mut sys::sk_buff) -> c_int {
    // SAFETY: forwarded; the TTL is byte 8 of the IPv4 header.
    unsafe { rcv(skb, Family::V4, 8) }
}

/// IPv6 advertisements.
///
/// # Safety
///
/// As [`rcv`].
unsafe extern "C" fn carp6_rcv(skb: *mut sys::sk_buff) -> c_int {
    // SAFETY: forwarded; the hop limit is byte 7 of the IPv6 header.
    unsafe { rcv(skb, Family::V6, 7) }
}

static CARP4_PROTOCOL: KStatic<sys::net_protocol> = KStatic::new(sys::net_protocol {
    handler: Some(carp4_rcv),
    // SAFETY: all-zero is a valid `net_protocol`.
    ..unsafe { core::mem::zeroed() }
});

static CARP6_PROTOCOL: KStatic<sys::inet6_protocol> = KStatic::new(sys::inet6_protocol {
    handler: Some(carp6_rcv),
    flags: 0x1 | 0x2, // INET6_PROTO_NOPOLICY | INET6_PROTO_FINAL
    // SAFETY: all-zero is a valid `inet6_protocol`.
    ..unsafe { core::mem::zeroed() }
});

/// The IPPROTO_CARP handlers, registered while the module is loaded.
pub(crate) struct ProtoRegistration(());

impl ProtoRegistration {
    /// Registers the IPv4 and IPv6 handlers.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: the protocol structs are statics outliving registration.
        unsafe {
            if sys::inet_add_protocol(CARP4_PROTOCOL.get(), IPPROTO_CARP) < 0 {
                pr_err!("IP protocol 112 is already taken\n");
                return Err(EBUSY);
            }
            if let Err(e) = to_result(sys::inet6_add_protocol(CARP6_PROTOCOL.get(), IPPROTO_CARP)) {
                sys::inet_del_protocol(CARP4_PROTOCOL.get(), IPPROTO_CARP);
                return Err(e);
            }
        }
        Ok(Self(()))
    }
}

impl Drop for ProtoRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in `new`; both wait for in-flight receivers.
        unsafe {
            sys::inet6_del_protocol(CARP6_PROTOCOL.get(), IPPROTO_CARP);
            sys::inet_del_protocol(CARP4_PROTOCOL.get(), IPPROTO_CARP);
        }
    }
}
