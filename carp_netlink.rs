// SPDX-License-Identifier: GPL-2.0

//! The "carp" generic netlink family (`Documentation/netlink/specs/carp.yaml`).
//!
//! The policy and ops tables are generated from the spec into
//! `carp_nl_gen.c` by the kernel's ynl-gen-c.py; this file registers the
//! family and implements the handlers the tables name:
//! - `dev-get` (do and dump): configuration and state of carp devices; the
//!   pass only for readers with CAP_NET_ADMIN over the namespace;
//! - `dev-set`: a configuration change, validated as a whole by the core
//!   (the same path as `ip link set ... type carp`), nothing changes on error;
//!   CAP_NET_ADMIN (GENL_UNS_ADMIN_PERM in the tables);
//! - `stats-get`: the counters of the namespace or of one device;
//! - `group-get`, `group-set`: the group demotion counter and its parts;
//!   userspace sets its own part (OpenBSD's carpdemote) with CAP_NET_ADMIN
//!   (GENL_UNS_ADMIN_PERM);
//! - the `events` multicast group: one `state-ntf` per state change.

use crate::carp_balance::MAX_NODES;
use crate::carp_config::{apply_request, nla_payload, peer6_of, peer_of, Request};
use crate::carp_dev::{carp_dev, is_carp, CarpDev, Entry};
use crate::carp_events::{family, put_msg, Msg};
use crate::carp_net::carp_net;
use crate::carp_port::{demotion_parts, update_demotion};
use crate::carp_proto::{ConfigAttr, State};
use crate::carp_sys as sys;
use crate::carp_util::{dev_name, emsgsize, set_err_msg, set_err_msg_attr, Rtnl};
use core::ffi::c_int;
use core::ptr::null_mut;
use kernel::error::to_result;
use kernel::prelude::*;

/// The registered family, while the module is loaded.
pub(crate) struct Registration(());

impl Registration {
    /// Registers the family.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: the family is complete static data, registered once.
        to_result(unsafe { sys::genl_register_family(family()) })?;
        Ok(Self(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered in `new`.
        unsafe { sys::genl_unregister_family(family()) };
    }
}

/// The request attribute `t`, or null.
///
/// # Safety
///
/// `info` is the request being handled; `t` is at most the op's maxattr.
unsafe fn attr(info: *const sys::genl_info, t: u32) -> *const sys::nlattr {
    // SAFETY: `attrs` has maxattr + 1 entries (caller).
    unsafe { *(*info).attrs.add(t as usize) }
}

/// A u32 request attribute.
///
/// # Safety
///
/// As [`attr`]; the policy makes `t` a u32.
unsafe fn attr_u32(info: *const sys::genl_info, t: u32) -> Option<u32> {
    // SAFETY: forwarded.
    let a = unsafe { attr(info, t) };
    // SAFETY: a validated u32 attribute.
    (!a.is_null()).then(|| unsafe { sys::carp_nla_get_u32(a) })
}

/// The carp device a request names by ifindex and/or ifname.
///
/// # Safety
///
/// RTNL held; `info` is the request; its policy has IFINDEX and IFNAME.
unsafe fn find_dev(info: *const sys::genl_info) -> Result<*mut sys::net_device> {
    // SAFETY: as documented.
    unsafe {
        let net = sys::carp_genl_info_net(info);
        let extack = (*info).extack;
        let by_index = attr_u32(info, sys::CARP_A_DEV_IFINDEX)
            .map(|i| sys::__dev_get_by_index(net, i as c_int));
        let name = attr(info, sys::CARP_A_DEV_IFNAME);
        let by_name = (!name.is_null()).then(|| sys::__dev_get_by_name(net, name.add(1).cast()));
        let dev = match (by_index, by_name) {
            (None, None) => {
                set_err_msg(extack, c"carp: give the carp device's ifindex or ifname");
                return Err(EINVAL);
            }
            (Some(a), Some(b)) if a != b => {
                set_err_msg(extack, c"carp: ifindex and ifname name different devices");
                return Err(EINVAL);
            }
            (Some(d), _) | (None, Some(d)) => d,
        };
        if dev.is_null() {
            set_err_msg(extack, c"carp: no such device");
            return Err(ENODEV);
        }
        if !is_carp(dev) {
            set_err_msg(extack, c"carp: not a carp device");
            return Err(EINVAL);
        }
        Ok(dev)
    }
}

/// Whether the sender of `skb` has CAP_NET_ADMIN over `net`.
///
/// # Safety
///
/// `skb` is a netlink request; `net` is live.
unsafe fn privileged(skb: *const sys::sk_buff, net: *const sys::net) -> bool {
    // SAFETY: as documented.
    unsafe { sys::netlink_ns_capable(skb, (*net).user_ns, sys::CAP_NET_ADMIN as c_int) }
}

/// `NLMSG_HDRLEN + GENL_HDRLEN` (macro expressions bindgen cannot evaluate).
const GENL_MSG_HDRLEN: usize = 16 + 4;

/// `NLA_TYPE_MASK`: the type bits of `nla_type`.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Puts a carp device's configuration and state (`dev-get`'s reply).
fn fill_dev(m: &Msg, cd: &CarpDev, with_pass: bool) -> Result {
    let (cfg, states, link, demote) = {
        let st = cd.state.lock();
        let mut states = [State::Init; MAX_NODES];
        for (s, v) in states.iter_mut().zip(st.carp.vhes()) {
            *s = v.state;
        }
        (
            *st.carp.config(),
            states,
            st.carp.link_state(),
            st.carp.demote(),
        )
    };
    // SAFETY: the device is live (RTNL held by the caller).
    unsafe {
        m.u32(sys::CARP_A_DEV_IFINDEX, (*cd.dev).ifindex as u32)?;
        m.string(sys::CARP_A_DEV_IFNAME, dev_name(cd.dev))?;
        let lower = cd.lower();
        if !lower.is_null() {
            m.u32(sys::CARP_A_DEV_CARPDEV, (*lower).ifindex as u32)?;
        }
    }
    if let Some(nodes) = cfg.nodes {
        let leader = nodes.leader();
        m.u32(sys::CARP_A_DEV_VHID, u32::from(leader.vhid))?;
        m.u32(sys::CARP_A_DEV_ADVSKEW, u32::from(leader.advskew))?;
        for (n, s) in nodes.as_slice().iter().zip(states) {
            m.nest(sys::CARP_A_DEV_NODE, |m| {
                m.u32(sys::CARP_A_NODE_VHID, u32::from(n.vhid))?;
                m.u32(sys::CARP_A_NODE_ADVSKEW, u32::from(n.advskew))?;
                m.u32(sys::CARP_A_NODE_STATE, s as u32)
            })?;
        }
    }
    m.u32(sys::CARP_A_DEV_ADVBASE, u32::from(cfg.advbase))?;
    let pass = cfg.key.as_bytes();
    if !pass.is_empty() {
        m.flag(sys::CARP_A_DEV_PASS_SET)?;
        if with_pass {
            m.put(sys::CARP_A_DEV_PASS, pass)?;
        }
    }
    m.u32(sys::CARP_A_DEV_BALANCING, cfg.balancing as u32)?;
    if let Some(p) = cfg.peer {
        m.u32(sys::CARP_A_DEV_PEER, u32::from_ne_bytes(p))?;
    }
    if let Some(p) = cfg.peer6 {
        m.put(sys::CARP_A_DEV_PEER6, &p)?;
    }
    m.u32(sys::CARP_A_DEV_STATE, link as u32)?;
    m.u32(sys::CARP_A_DEV_DEMOTE, u32::from(demote))
}

// The transitions' nest has one attribute per reason, attribute r + 1 for
// reason r (the names' order is checked against the uapi header by
// carpctl's tests).
const _: () = assert!(crate::carp_proto::Reason::COUNT == sys::CARP_A_TRANSITIONS_MAX as usize);

/// Puts one `node` nest per entry of `cd` with its vhid, state and
/// load-balancing counters (`stats-get`).
fn put_entry_counters(m: &Msg, cd: &CarpDev) -> Result {
    let mut vhes = [(0u8, State::Init); MAX_NODES];
    let n = {
        let st = cd.state.lock();
        for (d, e) in vhes.iter_mut().zip(st.carp.vhes()) {
            *d = (e.vhid, e.state);
        }
        st.carp.vhes().len()
    };
    for (i, (vhid, state)) in vhes.iter().take(n).enumerate() {
        let (c, transitions) = cd.entry_stats(i);
        m.nest(sys::CARP_A_DEV_NODE, |m| {
            m.u32(sys::CARP_A_NODE_VHID, u32::from(*vhid))?;
            m.u32(sys::CARP_A_NODE_STATE, *state as u32)?;
            for (attr, kind) in [
                (sys::CARP_A_NODE_ACCEPTED, Entry::Accepted),
                (sys::CARP_A_NODE_DROPPED, Entry::Dropped),
                (sys::CARP_A_NODE_ANSWERED, Entry::Answered),
                (sys::CARP_A_NODE_IGNORED, Entry::Ignored),
            ] {
                m.put(attr, &c[kind as usize].to_ne_bytes())?;
            }
            // One count per reason: attribute r + 1 for reason r.
            m.nest(sys::CARP_A_NODE_TRANSITIONS, |m| {
                for (r, count) in (sys::CARP_A_TRANSITIONS_START..).zip(transitions) {
                    m.put(r, &u64::from(count).to_ne_bytes())?;
                }
                Ok(())
            })
        })?;
    }
    Ok(())
}

/// Runs a doit handler body and converts its result for the kernel.
fn doit(f: impl FnOnce() -> Result) -> c_int {
    match f() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// NLMSG_GOODSIZE: dev-get's reply for a device with 32 nodes fits, as
/// group-get's and the namespace's stats-get's.
const REPLY_SIZE: usize = 3800;

/// stats-get's reply for a device: 16 counters (196 bytes) and per node
/// a nest of vhid, state, 4 counters and the transitions' nest of 10
/// (192 bytes): 6368 bytes of attributes for 32 nodes, with room to spare
/// (the buffer stays within an order-1 allocation).
const STATS_REPLY_SIZE: usize = 6656;

/// Allocates a reply of `size` bytes, fills it with `f` and sends it.
///
/// # Safety
///
/// `info` is the request being handled.
unsafe fn reply(info: *mut sys::genl_info, size: usize, f: impl FnOnce(&Msg) -> Result) -> Result {
    // SAFETY: process context.
    let skb = unsafe { sys::carp_genlmsg_new(size, kernel::bindings::GFP_KERNEL) };
    if skb.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `info` is the request (caller); `skb` is new.
    unsafe {
        let cmd = u32::from((*(*info).genlhdr).cmd);
        if let Err(e) = put_msg(skb, (*info).snd_portid, (*info).snd_seq, 0, cmd, f) {
            sys::carp_kfree_skb(skb);
            return Err(e);
        }
        to_result(sys::carp_genlmsg_reply(skb, info))
    }
}

/// `dev-get` (do).
///
/// # Safety
///
/// Called by genetlink with a validated request.
#[no_mangle]
pub(crate) unsafe extern "C" fn carp_nl_dev_get_doit(
    skb: *mut sys::sk_buff,
    info: *mut sys::genl_info,
) -> c_int {
    doit(|| {
        let rtnl = Rtnl::lock();
        // SAFETY: RTNL held; `info` is the request.
        unsafe {
            let dev = find_dev(info)?;
            let with_pass = privileged(skb, sys::carp_genl_info_net(info));
            let r = reply(info, REPLY_SIZE, |m| fill_dev(m, carp_dev(dev), with_pass));
            drop(rtnl);
            r
        }
    })
}

/// `dev-get` (dump): every carp device of the namespace, in ifindex order;
/// `cb->args[0]` is the ifindex to resume from, so devices created or
/// deleted between two parts of a dump are neither repeated nor skipped.
///
/// # Safety
///
/// Called by genetlink for a dump request.
#[no_mangle]
pub(crate) unsafe extern "C" fn carp_nl_dev_get_dumpit(
    skb: *mut sys::sk_buff,
    cb: *mut sys::netlink_callback,
) -> c_int {
    // SAFETY: as documented; genetlink filled the dump's info at start.
    unsafe {
        let info = sys::carp_genl_info_dump(cb);
        let net = sys::carp_sock_net_of_skb(skb);
        let with_pass = privileged((*cb).skb, net);
        let mut next = (*cb).__bindgen_anon_1.args[0] as core::ffi::c_ulong;
        let mut sent = 0;
        let mut full = false;
        let rtnl = Rtnl::lock();
        loop {
            // Devices found under RTNL are live while it is held.
            let dev = sys::carp_netdev_from_index(net, &mut next);
            if dev.is_null() {
                break;
            }
            if is_carp(dev) {
                let r = put_msg(
                    skb,
                    (*info).snd_portid,
                    (*info).snd_seq,
                    sys::NLM_F_MULTI as c_int,
                    sys::CARP_CMD_DEV_GET,
                    |m| fill_dev(m, carp_dev(dev), with_pass),
                );
                if r.is_err() {
                    full = true;
                    break;
                }
                sent += 1;
            }
            next += 1;
        }
        drop(rtnl);
        (*cb).__bindgen_anon_1.args[0] = next as _;
        if full && sent == 0 {
            return emsgsize().to_errno();
        }
        (*skb).len as c_int
    }
}

/// Reads the `node` attributes of a `dev-set` request into `pairs`.
///
/// # Safety
///
/// `info` is a validated request (each `node` checked by its policy).
unsafe fn parse_nodes<'a>(
    info: *const sys::genl_info,
    pairs: &'a mut [(u32, u32); MAX_NODES],
) -> Result<Option<&'a [(u32, u32)]>> {
    // SAFETY: the message holds the genetlink header then the attributes.
    let all = unsafe {
        let len = ((*(*info).nlhdr).nlmsg_len as usize).saturating_sub(GENL_MSG_HDRLEN);
        core::slice::from_raw_parts((*info).genlhdr.cast::<u8>().add(4), len)
    };
    // SAFETY: as documented.
    let extack = unsafe { (*info).extack };
    let mut n = 0;
    for (t, payload, a) in Attrs(all) {
        if t != sys::CARP_A_DEV_NODE {
            continue;
        }
        let Some(slot) = pairs.get_mut(n) else {
            set_err_msg_attr(extack, c"carp: too many carpnodes (at most 32)", a);
            return Err(EINVAL);
        };
        let mut vhid = None;
        let mut skew = 0;
        for (t, p, inner) in Attrs(payload) {
            let v = p
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes)
                .unwrap_or(0);
            match t {
                sys::CARP_A_NODE_VHID => vhid = Some(v),
                sys::CARP_A_NODE_ADVSKEW => skew = v,
                _ => {
                    set_err_msg_attr(extack, c"carp: a node's state is read-only", inner);
                    return Err(EINVAL);
                }
            }
        }
        let Some(vhid) = vhid else {
            set_err_msg_attr(extack, c"carp: a node needs a vhid", a);
            return Err(EINVAL);
        };
        *slot = (vhid, skew);
        n += 1;
    }
    Ok((n > 0).then(|| pairs.get(..n).unwrap_or(&[])))
}

/// Iterates netlink attributes: (type, payload, attribute pointer).
struct Attrs<'a>(&'a [u8]);

impl<'a> Iterator for Attrs<'a> {
    type Item = (u32, &'a [u8], *const sys::nlattr);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.0;
        let len = usize::from(u16::from_ne_bytes([*b.first()?, *b.get(1)?]));
        let t = u16::from_ne_bytes([*b.get(2)?, *b.get(3)?]) & NLA_TYPE_MASK;
        let payload = b.get(4..len)?;
        self.0 = b.get((len + 3) & !3..).unwrap_or(&[]);
        Some((u32::from(t), payload, b.as_ptr().cast()))
    }
}

/// `dev-set`.
///
/// # Safety
///
/// Called by genetlink with a validated request from a sender with
/// CAP_NET_ADMIN over the namespace.
#[no_mangle]
pub(crate) unsafe extern "C" fn carp_nl_dev_set_doit(
    _skb: *mut sys::sk_buff,
    info: *mut sys::genl_info,
) -> c_int {
    doit(|| {
        let mut pairs = [(0u32, 0u32); MAX_NODES];
        // SAFETY: `info` is the validated request.
        let mut req = unsafe {
            Request {
                carpdev: attr_u32(info, sys::CARP_A_DEV_CARPDEV),
                state: attr_u32(info, sys::CARP_A_DEV_STATE),
                ..Request::default()
            }
        };
        // SAFETY: as above.
        unsafe {
            let u = &mut req.upd;
            u.vhid = attr_u32(info, sys::CARP_A_DEV_VHID);
            u.advskew = attr_u32(info, sys::CARP_A_DEV_ADVSKEW);
            u.advbase = attr_u32(info, sys::CARP_A_DEV_ADVBASE);
            u.balancing = attr_u32(info, sys::CARP_A_DEV_BALANCING);
            u.peer = attr_u32(info, sys::CARP_A_DEV_PEER).map(peer_of);
            let p6 = attr(info, sys::CARP_A_DEV_PEER6);
            if let Some(b) = nla_payload(p6) {
                u.peer6 = Some(peer6_of(b).map_err(|m| {
                    set_err_msg_attr((*info).extack, m, p6);
                    EINVAL
                })?);
            }
            u.pass = nla_payload(attr(info, sys::CARP_A_DEV_PASS));
            u.carpnodes = parse_nodes(info, &mut pairs)?;
        }
        let attr_of = |a: ConfigAttr| {
            let t = match a {
                ConfigAttr::Vhid => sys::CARP_A_DEV_VHID,
                ConfigAttr::Advskew => sys::CARP_A_DEV_ADVSKEW,
                ConfigAttr::Advbase => sys::CARP_A_DEV_ADVBASE,
                ConfigAttr::Pass => sys::CARP_A_DEV_PASS,
                ConfigAttr::Balancing => sys::CARP_A_DEV_BALANCING,
                ConfigAttr::Peer => sys::CARP_A_DEV_PEER,
                ConfigAttr::Peer6 => sys::CARP_A_DEV_PEER6,
                ConfigAttr::State => sys::CARP_A_DEV_STATE,
                ConfigAttr::Carpnodes => sys::CARP_A_DEV_NODE,
            };
            // SAFETY: `t` is within dev-set's maxattr (CARP_A_DEV_PEER6).
            unsafe { attr(info, t) }
        };
        let rtnl = Rtnl::lock();
        // SAFETY: RTNL held; the device is a live carp device.
        unsafe {
            let dev = find_dev(info)?;
            apply_request(&rtnl, carp_dev(dev), &req, (*info).extack, attr_of)
        }
    })
}

/// `stats-get`: the namespace's counters, or one device's.
///
/// # Safety
///
/// Called by genetlink with a validated request.
#[no_mangle]
pub(crate) unsafe extern "C" fn carp_nl_stats_get_doit(
    _skb: *mut sys::sk_buff,
    info: *mut sys::genl_info,
) -> c_int {
    doit(|| {
        let _rtnl = Rtnl::lock();
        // SAFETY: RTNL held; `info` is the request; the namespace and the
        // device (if any) are live.
        unsafe {
            let named = !attr(info, sys::CARP_A_DEV_IFINDEX).is_null()
                || !attr(info, sys::CARP_A_DEV_IFNAME).is_null();
            let dev = if named { find_dev(info)? } else { null_mut() };
            let counters = if dev.is_null() {
                carp_net(sys::carp_genl_info_net(info)).stats.values()
            } else {
                carp_dev(dev).stats.values()
            };
            let size = if dev.is_null() {
                REPLY_SIZE
            } else {
                STATS_REPLY_SIZE
            };
            reply(info, size, |m| {
                if !dev.is_null() {
                    m.u32(sys::CARP_A_DEV_IFINDEX, (*dev).ifindex as u32)?;
                    m.string(sys::CARP_A_DEV_IFNAME, dev_name(dev))?;
                }
                m.nest(sys::CARP_A_DEV_STATS, |m| {
                    for (i, v) in counters.iter().enumerate() {
                        m.put(i as u32 + 1, &v.to_ne_bytes())?;
                    }
                    Ok(())
                })?;
                if !dev.is_null() {
                    put_entry_counters(m, carp_dev(dev))?;
                }
                Ok(())
            })
        }
    })
}

/// The group a `group-*` request names, if it names one: "carp" is the
/// only group (every carp device is in it); another name is refused.
///
/// # Safety
///
/// `info` is the request; its policy has GROUP_NAME.
unsafe fn check_group(info: *const sys::genl_info) -> Result {
    // SAFETY: as documented.
    let a = unsafe { attr(info, sys::CARP_A_GROUP_NAME) };
    // SAFETY: a validated attribute of the request, or null.
    match unsafe { nla_payload(a) } {
        None => Ok(()),
        Some(p) if p.split(|&b| b == 0).next() == Some(&b"carp"[..]) => Ok(()),
        Some(_) => {
            // SAFETY: `info` is the request.
            set_err_msg_attr(
                unsafe { (*info).extack },
                c"carp: no such group: every carp device is in group carp, the only one",
                a,
            );
            Err(ENOENT)
        }
    }
}

/// `group-get`: the group demotion counter and its parts.
///
/// # Safety
///
/// Called by genetlink with a validated request.
#[no_mangle]
pub(crate) unsafe extern "C" fn carp_nl_group_get_doit(
    _skb: *mut sys::sk_buff,
    info: *mut sys::genl_info,
) -> c_int {
    doit(|| {
        let rtnl = Rtnl::lock();
        // SAFETY: RTNL held; `info` is the request; its namespace is live.
        unsafe {
            check_group(info)?;
            let net = sys::carp_genl_info_net(info);
            let (down, senderr) = demotion_parts(&rtnl, net);
            let cn = carp_net(net);
            reply(info, REPLY_SIZE, |m| {
                m.string(sys::CARP_A_GROUP_NAME, c"carp")?;
                m.u32(sys::CARP_A_GROUP_DEMOTE, u32::from(cn.demote()))?;
                m.u32(sys::CARP_A_GROUP_DEMOTE_USER, u32::from(cn.demote_user()))?;
                m.u32(sys::CARP_A_GROUP_DEMOTE_DOWN, down)?;
                m.u32(sys::CARP_A_GROUP_DEMOTE_SENDERR, senderr)
            })
        }
    })
}

/// `group-set`: sets (demote-user) or changes (demote-adjust) the part of
/// the group demotion counter userspace sets; the result must be 0..255.
/// Every carp device of the namespace takes the new counter at once.
///
/// # Safety
///
/// Called by genetlink with a validated request (GENL_UNS_ADMIN_PERM).
#[no_mangle]
pub(crate) unsafe extern "C" fn carp_nl_group_set_doit(
    _skb: *mut sys::sk_buff,
    info: *mut sys::genl_info,
) -> c_int {
    doit(|| {
        let rtnl = Rtnl::lock();
        // SAFETY: RTNL held; `info` is the request; its namespace is live.
        unsafe {
            check_group(info)?;
            let extack = (*info).extack;
            let net = sys::carp_genl_info_net(info);
            let cn = carp_net(net);
            let set = attr_u32(info, sys::CARP_A_GROUP_DEMOTE_USER);
            let adj = attr(info, sys::CARP_A_GROUP_DEMOTE_ADJUST);
            let new = match (set, adj.is_null()) {
                (Some(_), false) => {
                    set_err_msg(extack, c"carp: give demote-user or demote-adjust, not both");
                    return Err(EINVAL);
                }
                (None, true) => {
                    set_err_msg(extack, c"carp: give demote-user or demote-adjust");
                    return Err(EINVAL);
                }
                // (The policy's max keeps it at 255.)
                (Some(v), true) => i64::from(v),
                (None, false) => {
                    // (The policy makes it an s32: four bytes.)
                    let p = nla_payload(adj).and_then(|p| p.first_chunk::<4>());
                    let Some(&b) = p else { return Err(EINVAL) };
                    i64::from(cn.demote_user()) + i64::from(i32::from_ne_bytes(b))
                }
            };
            let Ok(new) = u8::try_from(new) else {
                set_err_msg_attr(
                    extack,
                    c"carp: the demotion set by userspace would leave 0..255",
                    adj,
                );
                return Err(EINVAL);
            };
            cn.set_demote_user(new);
            update_demotion(&rtnl, net);
            Ok(())
        }
    })
}
