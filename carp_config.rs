// SPDX-License-Identifier: GPL-2.0

//! Configuration requests: one path for both interfaces, rtnetlink's
//! IFLA_INFO_DATA (`carp_link`) and the carp generic netlink family
//! (`carp_netlink`). A request is validated as a whole by the protocol core
//! and the carpdev checks before anything changes; on error nothing
//! changes and the extack message says why, pointing at the attribute.

use crate::carp_dev::CarpDev;
use crate::carp_port::{attach, check_lower, detach, vhid_clash, Port, BUSY, VHID_CLASH};
use crate::carp_proto::{ConfigAttr, ConfigUpdate, State};
use crate::carp_sys as sys;
use crate::carp_util::{now, set_err_msg, set_err_msg_attr, Rtnl};
use core::ffi::{c_int, CStr};
use core::ptr::null_mut;
use kernel::prelude::*;

/// A configuration change; applied as a whole by [`apply_request`].
#[derive(Default)]
pub(crate) struct Request<'a> {
    /// The core's part: vhid, advskew, carpnodes, advbase, pass, balancing,
    /// carppeer.
    pub(crate) upd: ConfigUpdate<'a>,
    /// `state master|backup`: force a state.
    pub(crate) state: Option<u32>,
    /// `carpdev`: the lower device's ifindex.
    pub(crate) carpdev: Option<u32>,
}

/// A carppeer attribute (an IPv4 address in network order; 0 removes it).
pub(crate) fn peer_of(p: u32) -> Option<[u8; 4]> {
    let a = p.to_ne_bytes();
    (a != [0; 4]).then_some(a)
}

/// An IPv6 carppeer attribute: 16 bytes, all zero (`::`) removes it.
pub(crate) fn peer6_of(b: &[u8]) -> core::result::Result<Option<[u8; 16]>, &'static CStr> {
    let a = <[u8; 16]>::try_from(b).map_err(|_| c"carp: an IPv6 carppeer is 16 bytes")?;
    Ok((a != [0; 16]).then_some(a))
}

/// The payload of an attribute, `None` for a null one.
///
/// # Safety
///
/// `a` is null or a validated attribute (header, then `nla_len - 4` bytes)
/// that outlives `'a`.
pub(crate) unsafe fn nla_payload<'a>(a: *const sys::nlattr) -> Option<&'a [u8]> {
    if a.is_null() {
        return None;
    }
    // SAFETY: by the caller's guarantee.
    unsafe {
        let len = usize::from((*a).nla_len).saturating_sub(4);
        Some(core::slice::from_raw_parts(a.cast::<u8>().add(4), len))
    }
}

/// Validates and applies a configuration request: all or nothing. On error
/// the extack message says why, pointing at the attribute `attr_of` names.
///
/// # Safety
///
/// `cd` is a registered carp device; `attr_of` returns null or an
/// attribute of the request being processed.
pub(crate) unsafe fn apply_request(
    rtnl: &Rtnl,
    cd: &CarpDev,
    req: &Request<'_>,
    extack: *mut sys::netlink_ext_ack,
    attr_of: impl Fn(ConfigAttr) -> *const sys::nlattr,
) -> Result {
    let dev = cd.dev;
    let force = match req.state {
        None => None,
        Some(s) => match State::from_u32(s) {
            Some(State::Init) | None => {
                set_err_msg_attr(
                    extack,
                    c"carp: state must be backup or master",
                    attr_of(ConfigAttr::State),
                );
                return Err(EINVAL);
            }
            Some(s) => Some(s),
        },
    };
    let old = *cd.state.lock().carp.config();
    let new = match old.apply(&req.upd) {
        Ok(c) => c,
        Err(e) => {
            set_err_msg_attr(extack, e.message, attr_of(e.attr));
            return Err(EINVAL);
        }
    };
    // advbase 0 (an advertisement every 1/256 s per vhid, sent and
    // verified in softirq, which no cgroup accounts) is for the host's
    // administrator: a namespace of an unprivileged user's own keeps at
    // least one advertisement per second and vhid.
    if new.advbase == 0 && old.advbase != 0 {
        // SAFETY: the device is registered, its namespace live.
        if !unsafe { crate::carp_net::carp_net_of(dev) }.trusted() {
            set_err_msg_attr(
                extack,
                c"carp: advbase 0 needs the initial user namespace's CAP_NET_ADMIN",
                attr_of(ConfigAttr::Advbase),
            );
            return Err(EPERM);
        }
    }
    // The carpdev: the current one, or one given now.
    let cur = cd.lower();
    let mut lower = cur;
    if let Some(idx) = req.carpdev {
        // SAFETY: devices found in the namespace under RTNL are live.
        let want = unsafe { sys::__dev_get_by_index(sys::carp_dev_net(dev), idx as c_int) };
        if want.is_null() {
            set_err_msg(extack, c"carp: carpdev not found");
            return Err(ENODEV);
        }
        if want != cur {
            // SAFETY: both live.
            unsafe { check_lower(rtnl, dev, want) }.map_err(|f| f.report(extack))?;
            // Another rx_handler (bridge, bond, macvlan) on it: refused now,
            // before the current carpdev is left.
            // SAFETY: `want` is live.
            let busy =
                unsafe { sys::netdev_is_rx_handler_busy(want) && Port::get(rtnl, want).is_none() };
            if busy {
                return Err(BUSY.report(extack));
            }
            lower = want;
        }
    }
    // A vhid may be used by only one carp device on a lower device.
    if let Some(nodes) = new.nodes {
        // SAFETY: `lower` is null or live.
        if unsafe { vhid_clash(rtnl, cd, lower, &nodes) } {
            let attr = if req.upd.carpnodes.is_some() {
                ConfigAttr::Carpnodes
            } else {
                ConfigAttr::Vhid
            };
            set_err_msg_attr(extack, VHID_CLASH.msg, attr_of(attr));
            return Err(VHID_CLASH.err);
        }
    }
    let t = now();
    if lower != cur {
        // Moving to another carpdev: addresses and configuration stay, the
        // device restarts in INIT on the new one. If the new carpdev cannot
        // be attached after all, the old configuration and carpdev are
        // taken back.
        detach(rtnl, cd);
        // A receive path may still be walking the old port's list at this
        // device: re-linked into another list now, its next pointer would
        // lead that walker into the new list and on to a head it would
        // take for a device. Wait until every such walker is done.
        if !cur.is_null() {
            // SAFETY: RTNL held, process context (synchronize_net
            // expedites under RTNL).
            unsafe { sys::synchronize_net() };
        }
        if new != old {
            cd.with_core(|carp, addrs, mut sink| carp.set_config(t, new, addrs, &mut sink));
        }
        // SAFETY: `lower` is live and was checked above.
        if let Err(e) = unsafe { attach(rtnl, cd, lower, extack) } {
            if new != old {
                cd.with_core(|carp, addrs, mut sink| carp.set_config(t, old, addrs, &mut sink));
            }
            if !cur.is_null() {
                // SAFETY: the old carpdev is live (RTNL) and was fine.
                let _ = unsafe { attach(rtnl, cd, cur, null_mut()) };
            }
            return Err(e);
        }
    } else if new != old {
        cd.with_core(|carp, addrs, mut sink| carp.set_config(t, new, addrs, &mut sink));
    }
    if new.nodes != old.nodes {
        cd.reset_entry_counters();
        // The receive path's vhid table. (An advertisement of a vhid added
        // just now that arrives before this is dropped as for an unknown
        // vhid, as it would have been a moment earlier.)
        let lower = cd.lower();
        if !lower.is_null() {
            // SAFETY: the carpdev of a registered carp device is live (RTNL).
            if let Some(port) = unsafe { Port::get(rtnl, lower) } {
                port.reindex(rtnl);
            }
        }
    }
    cd.set_mac(rtnl);
    if let Some(s) = force {
        cd.with_core(|carp, addrs, mut sink| carp.force_state(t, s, addrs, &mut sink));
    }
    Ok(())
}
