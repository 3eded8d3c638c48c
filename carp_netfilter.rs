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
//!   shared MAC and is left alone.

use crate::carp_addr::select_v4;
use crate::carp_dev::is_carp;
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
    // SAFETY: the output device is live while it sends.
    if out.is_null() || unsafe { is_carp(out) } {
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
        .find(&rcu, |cd| {
            cd.state.lock().addrs.v4.as_slice().contains(&spa)
        })
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
            port.find(&rcu, |cd| cd.state.lock().addrs.v4.as_slice().contains(own))
                .is_none()
        })
        .unwrap_or([0; 4]);
    a[14..18].copy_from_slice(&own);
    NF_ACCEPT
}

/// `NFPROTO_ARP` (include/uapi/linux/netfilter.h).
const NFPROTO_ARP: u8 = 3;
/// `NF_ARP_OUT`.
const NF_ARP_OUT: c_uint = 1;

const NHOOKS: usize = 1;

static HOOKS: KStatic<[sys::nf_hook_ops; NHOOKS]> = KStatic::new([sys::nf_hook_ops {
    hook: Some(carp_arp_out),
    pf: NFPROTO_ARP,
    hooknum: NF_ARP_OUT,
    priority: 0,
    // SAFETY: all-zero is valid for the remaining fields.
    ..unsafe { core::mem::zeroed() }
}]);

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
