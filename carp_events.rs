// SPDX-License-Identifier: GPL-2.0

//! The `events` multicast group of the "carp" generic netlink family: one
//! `state-ntf` per state change of a virtual host entry, for ifstated-like
//! tools (`carpctl monitor`). The family itself (`carp_nl.c`, tables
//! generated from the YNL spec) is registered by `carp_netlink`.

use crate::carp_proto::{Reason, State};
use crate::carp_sys as sys;
use crate::carp_util::{dev_name, emsgsize};
use core::ffi::{c_int, CStr};
use core::ptr::addr_of_mut;
use kernel::error::to_result;
use kernel::prelude::*;

/// The family (`carp_nl.c`).
pub(crate) fn family() -> *mut sys::genl_family {
    addr_of_mut!(sys::carp_nl_family)
}

/// Builds attributes into a message, failing with EMSGSIZE when it is full.
pub(crate) struct Msg(pub(crate) *mut sys::sk_buff);

impl Msg {
    /// Puts an attribute.
    pub(crate) fn put(&self, t: u32, payload: &[u8]) -> Result {
        // SAFETY: `self.0` is a message being built; `payload` is readable.
        to_result(unsafe {
            sys::nla_put(
                self.0,
                t as c_int,
                payload.len() as c_int,
                payload.as_ptr().cast(),
            )
        })
    }

    /// Puts a u32 attribute.
    pub(crate) fn u32(&self, t: u32, v: u32) -> Result {
        self.put(t, &v.to_ne_bytes())
    }

    /// Puts a flag attribute.
    pub(crate) fn flag(&self, t: u32) -> Result {
        self.put(t, &[])
    }

    /// Puts a string attribute.
    pub(crate) fn string(&self, t: u32, s: &CStr) -> Result {
        self.put(t, s.to_bytes_with_nul())
    }

    /// Puts a nest holding what `f` puts.
    pub(crate) fn nest(&self, t: u32, f: impl FnOnce(&Self) -> Result) -> Result {
        // SAFETY: as in `put`.
        let start = unsafe { sys::carp_nla_nest_start(self.0, t as c_int) };
        if start.is_null() {
            return Err(emsgsize());
        }
        f(self)?;
        // SAFETY: `start` was returned by nest_start on this message.
        unsafe { sys::carp_nla_nest_end(self.0, start) };
        Ok(())
    }
}

/// Puts a genetlink header, runs `f` and ends the message; cancels it on
/// error.
///
/// # Safety
///
/// `skb` is a message being built; the family is registered.
pub(crate) unsafe fn put_msg(
    skb: *mut sys::sk_buff,
    portid: u32,
    seq: u32,
    flags: c_int,
    cmd: u32,
    f: impl FnOnce(&Msg) -> Result,
) -> Result {
    // SAFETY: as documented.
    let hdr = unsafe { sys::genlmsg_put(skb, portid, seq, family(), flags, cmd as u8) };
    if hdr.is_null() {
        return Err(emsgsize());
    }
    match f(&Msg(skb)) {
        Ok(()) => {
            // SAFETY: `hdr` was put on `skb` above.
            unsafe { sys::carp_genlmsg_end(skb, hdr) };
            Ok(())
        }
        Err(e) => {
            // SAFETY: as above.
            unsafe { sys::carp_genlmsg_cancel(skb, hdr) };
            Err(e)
        }
    }
}

/// Sends a `state-ntf` to the `events` group of the device's namespace.
/// Callable in atomic context; nothing is sent without listeners. A
/// message that cannot be built is not lost in silence: the listeners'
/// next receive fails with `ENOBUFS` (an overrun), and they read the
/// states again (carpctl hooks replays them).
///
/// # Safety
///
/// `dev` is live; the family is registered (while any carp device exists).
pub(crate) unsafe fn notify_state(
    dev: *mut sys::net_device,
    vhid: u8,
    old: State,
    new: State,
    why: Reason,
) {
    // SAFETY: the device is live (caller).
    unsafe {
        let net = sys::carp_dev_net(dev);
        if !sys::carp_genl_has_listeners(family(), net, 0) {
            return;
        }
        let skb = sys::carp_genlmsg_new(256, kernel::bindings::GFP_ATOMIC);
        if skb.is_null() {
            sys::carp_genl_set_err_nobufs(family(), net, 0);
            return;
        }
        let r = put_msg(skb, 0, 0, 0, sys::CARP_CMD_STATE_NTF, |m| {
            m.u32(sys::CARP_A_DEV_IFINDEX, (*dev).ifindex as u32)?;
            m.string(sys::CARP_A_DEV_IFNAME, dev_name(dev))?;
            m.u32(sys::CARP_A_DEV_VHID, u32::from(vhid))?;
            m.u32(sys::CARP_A_DEV_OLD_STATE, old as u32)?;
            m.u32(sys::CARP_A_DEV_STATE, new as u32)?;
            m.u32(sys::CARP_A_DEV_REASON, why as u32)
        });
        if r.is_err() {
            sys::carp_kfree_skb(skb);
            sys::carp_genl_set_err_nobufs(family(), net, 0);
            return;
        }
        // Consumes the skb; no listener left is not an error here (a
        // listener whose buffer is full gets its overrun from
        // netlink_broadcast).
        sys::carp_genlmsg_multicast_netns(family(), net, skb, 0, kernel::bindings::GFP_ATOMIC);
    }
}
