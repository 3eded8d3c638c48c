// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks, registered in a network namespace while it has carp
//! devices (so other namespaces pay nothing):
//!
//! - `NF_ARP_OUT`: the host's own ARP requests never announce a virtual
//!   address with another MAC than the one clients must use for it. Linux
//!   picks the sender address of an ARP request from the packet that needs
//!   it (`arp_announce` 0), so a MASTER resolving a client from its virtual
//!   address on the carpdev would send "VIP is at <carpdev MAC>" and every
//!   client would learn the wrong MAC (the classic CLUSTERIP failure). Such
//!   requests get the carpdev's own address as sender instead (or 0.0.0.0,
//!   an ARP probe, when it has none); replies announcing a virtual address
//!   from the carpdev are dropped. A carp device's own ARP carries its
//!   shared MAC and is left alone, except in ARP balancing, where no single
//!   MAC is right for every client: its requests become ARP probes (sender
//!   0.0.0.0), which announce nothing.
//! - `NF_INET_PRE_ROUTING` (IPv4 and IPv6), before defragmentation and
//!   conntrack: the IP-balancing filter. A packet that arrived on a carp
//!   device in an `ip` mode as layer-2 unicast is accepted only by the
//!   MASTER of the entry its address pair folds to (`carp_balance`); every
//!   other host drops it before it creates any state. It reads the
//!   device's snapshot (one atomic load) and counts per entry and per CPU.

use crate::carp_addr::select_v4;
use crate::carp_balance::{self, Balancing, Filter};
use crate::carp_dev::{carp_dev, is_carp, CarpDev, Entry};
use crate::carp_net::carp_net;
use crate::carp_port::Port;
use crate::carp_sys as sys;
use crate::carp_util::{KStatic, Rcu, Rtnl};
use core::ffi::{c_uint, c_void};
use kernel::error::to_result;
use kernel::prelude::*;

/// Netfilter verdicts.
const NF_DROP: c_uint = 0;
const NF_ACCEPT: c_uint = 1;

/// `NF_ARP_OUT` on a carpdev: fixes requests whose sender is a virtual
/// address.
///
/// # Safety
///
/// Called by netfilter (RCU read side) with an ARP skb whose network header
/// is the ARP header and a valid hook state.
unsafe extern "C" fn carp_arp_out(
    _priv: *mut c_void,
    skb: *mut sys::sk_buff,
    state: *const sys::nf_hook_state,
) -> c_uint {
    // SAFETY: as documented.
    let rcu = unsafe { Rcu::assume() };
    // SAFETY: as documented.
    let out = unsafe { (*state).out };
    if out.is_null() {
        return NF_ACCEPT;
    }
    // SAFETY: the output device is live while it sends.
    if unsafe { is_carp(out) } {
        // SAFETY: a carp device, live while it sends.
        let cd = unsafe { carp_dev(out) };
        if cd.snapshot().mode == Balancing::Arp {
            // SAFETY: as below.
            unsafe { probe_instead(skb, cd) };
        }
        return NF_ACCEPT;
    }
    // SAFETY: as above.
    let Some(port) = (unsafe { Port::get_rcu(&rcu, out) }) else {
        return NF_ACCEPT;
    };
    // Ethernet/IPv4 ARP: the sender IP at 14, the target IP at 24.
    // SAFETY: the skb is ours for the hook's duration; the helper makes the
    // first 28 bytes of the ARP header linear and writable (or fails).
    let arp = unsafe { sys::carp_skb_arp_writable(skb, 28) };
    if arp.is_null() {
        return NF_ACCEPT;
    }
    // SAFETY: 28 writable bytes at `arp`.
    let a = unsafe { core::slice::from_raw_parts_mut(arp, 28) };
    if a[0..6] != [0, 1, 8, 0, 6, 4] {
        return NF_ACCEPT;
    }
    let spa = [a[14], a[15], a[16], a[17]];
    let tpa = [a[24], a[25], a[26], a[27]];
    let virtual_sender = port
        .find(&rcu, |cd| cd.state.lock().addrs.has_v4(&spa))
        .is_some();
    if !virtual_sender {
        return NF_ACCEPT;
    }
    if a[6..8] != [0, 1] {
        // A reply (or anything else) from the carpdev for a virtual
        // address: only the carp device answers for it.
        return NF_DROP;
    }
    // SAFETY: `out` is live.
    let own = unsafe { select_v4(out, tpa) }
        .filter(|own| {
            port.find(&rcu, |cd| cd.state.lock().addrs.has_v4(own))
                .is_none()
        })
        .unwrap_or([0; 4]);
    a[14..18].copy_from_slice(&own);
    NF_ACCEPT
}

/// ARP balancing: a request the carp device sends with one of its
/// addresses as sender becomes a probe (sender 0.0.0.0): its sender MAC
/// would be wrong for every client served by another entry.
///
/// # Safety
///
/// `skb` is an ARP packet owned by the hook, network header at the ARP
/// header.
unsafe fn probe_instead(skb: *mut sys::sk_buff, cd: &CarpDev) {
    // SAFETY: by the caller's guarantee.
    let arp = unsafe { sys::carp_skb_arp_writable(skb, 28) };
    if arp.is_null() {
        return;
    }
    // SAFETY: 28 writable bytes.
    let a = unsafe { core::slice::from_raw_parts_mut(arp, 28) };
    if a[0..8] != [0, 1, 8, 0, 6, 4, 0, 1] {
        return;
    }
    let spa = [a[14], a[15], a[16], a[17]];
    if cd.state.lock().addrs.has_v4(&spa) {
        a[14..18].copy_from_slice(&[0; 4]);
    }
}

/// `NF_INET_PRE_ROUTING`: the IP-balancing filter (IPv4 and IPv6).
///
/// # Safety
///
/// Called by netfilter (RCU read side) with a received skb, data at its
/// network header, and a valid hook state.
unsafe extern "C" fn carp_ip_filter(
    priv_: *mut c_void,
    skb: *mut sys::sk_buff,
    state: *const sys::nf_hook_state,
) -> c_uint {
    // SAFETY: as documented.
    let dev = unsafe { (*state).in_ };
    // SAFETY: the input device is live while it receives.
    if dev.is_null() || !unsafe { is_carp(dev) } {
        return NF_ACCEPT;
    }
    // SAFETY: a carp device, live while it receives.
    let cd = unsafe { carp_dev(dev) };
    let snap = cd.snapshot();
    // Layer-2 multicast and broadcast are never dropped (advertisements,
    // ARP, neighbour discovery): only frames to the shared MAC, which the
    // rx_handler marked PACKET_HOST, are filtered.
    // SAFETY: the skb is live.
    if !snap.mode.is_ip() || !unsafe { sys::carp_skb_is_host(skb) } {
        return NF_ACCEPT;
    }
    // The IP header and what an ICMP error quotes; fragments keep their
    // addresses, so this runs before reassembly.
    let mut buf = [0u8; 40 + 8 + 40];
    let mut n = buf.len() as u32;
    // SAFETY: the helper returns null or `n` readable bytes: in the skb
    // (alive for the hook) when linear, else copied into `buf`.
    let p = unsafe {
        let p = sys::carp_skb_net_bytes(skb, buf.as_mut_ptr(), &mut n);
        if p.is_null() {
            &[]
        } else {
            core::slice::from_raw_parts(p, n as usize)
        }
    };
    let f = if priv_.is_null() {
        carp_balance::filter_v4(p)
    } else {
        carp_balance::filter_v6(p)
    };
    match f {
        Filter::Pass => NF_ACCEPT,
        Filter::Malformed => NF_DROP,
        Filter::Fold(fold) => match snap.fold_index(fold) {
            Some(i) if snap.master_of(i) => {
                cd.count_entry(i, Entry::Accepted);
                NF_ACCEPT
            }
            Some(i) => {
                cd.count_entry(i, Entry::Dropped);
                NF_DROP
            }
            None => NF_DROP,
        },
    }
}

/// `NFPROTO_ARP` (include/uapi/linux/netfilter.h).
const NFPROTO_ARP: u8 = 3;
/// `NF_ARP_OUT`.
const NF_ARP_OUT: c_uint = 1;

/// `NFPROTO_IPV4`, `NFPROTO_IPV6`.
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
/// `NF_INET_PRE_ROUTING`.
const NF_INET_PRE_ROUTING: c_uint = 0;
/// `NF_IP_PRI_RAW_BEFORE_DEFRAG`: before defragmentation and conntrack.
const PRI_BEFORE_DEFRAG: i32 = -450;

const NHOOKS: usize = 3;

/// The IPv6 hook's `priv` (non-null tells the family).
static V6: KStatic<u8> = KStatic::new(6);

static HOOKS: KStatic<[sys::nf_hook_ops; NHOOKS]> = KStatic::new([
    sys::nf_hook_ops {
        hook: Some(carp_arp_out),
        pf: NFPROTO_ARP,
        hooknum: NF_ARP_OUT,
        priority: 0,
        // SAFETY: all-zero is valid for the remaining fields.
        ..unsafe { core::mem::zeroed() }
    },
    sys::nf_hook_ops {
        hook: Some(carp_ip_filter),
        pf: NFPROTO_IPV4,
        hooknum: NF_INET_PRE_ROUTING,
        priority: PRI_BEFORE_DEFRAG,
        // SAFETY: all-zero is valid for the remaining fields.
        ..unsafe { core::mem::zeroed() }
    },
    sys::nf_hook_ops {
        hook: Some(carp_ip_filter),
        pf: NFPROTO_IPV6,
        hooknum: NF_INET_PRE_ROUTING,
        priority: PRI_BEFORE_DEFRAG,
        priv_: V6.get().cast(),
        // SAFETY: all-zero is valid for the remaining fields.
        ..unsafe { core::mem::zeroed() }
    },
]);

/// A carp device was created in `net`: the first one registers the hooks
/// there.
///
/// # Safety
///
/// `net` is live.
pub(crate) unsafe fn device_added(_rtnl: &Rtnl, net: *mut sys::net) -> Result {
    // SAFETY: `net` is live.
    let cn = unsafe { carp_net(net) };
    if cn.hook_users_inc() == 0 {
        // SAFETY: RTNL held; HOOKS is a static that outlives the
        // registration, undone by `device_removed` or on error here.
        if let Err(e) = to_result(unsafe {
            sys::nf_register_net_hooks(net, HOOKS.get().cast(), NHOOKS as c_uint)
        }) {
            cn.hook_users_dec();
            return Err(e);
        }
    }
    Ok(())
}

/// A carp device of `net` is being deleted: the last one unregisters the
/// hooks.
///
/// # Safety
///
/// `net` is live; [`device_added`] succeeded for this device.
pub(crate) unsafe fn device_removed(_rtnl: &Rtnl, net: *mut sys::net) {
    // SAFETY: `net` is live.
    let cn = unsafe { carp_net(net) };
    if cn.hook_users_dec() == 1 {
        // SAFETY: registered by the first `device_added`; waits for hooks
        // still running.
        unsafe { sys::nf_unregister_net_hooks(net, HOOKS.get().cast(), NHOOKS as c_uint) };
    }
}
