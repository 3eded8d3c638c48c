// SPDX-License-Identifier: GPL-2.0

//! The "carp" link type (`rtnl_link_ops`): `ip link add carp0 link eth0
//! type carp`, its IFLA_INFO_DATA attributes (`include/uapi/linux/carp.h`)
//! on creation, change and dump, and deletion.

use crate::carp_balance::{self, Carpnodes};
use crate::carp_config::{apply_request, nla_payload, peer6_of, peer_of, Request};
use crate::carp_dev::{self, carp_dev, CarpDev};
use crate::carp_port::{attach, check_lower, detach, vhid_clash, VHID_CLASH};
use crate::carp_proto::{Config, ConfigAttr};
use crate::carp_sys as sys;
use crate::carp_util::{emsgsize, set_err_msg, KStatic, Rtnl};
use core::ffi::c_int;
use core::mem::size_of;
use core::ptr::{addr_of, addr_of_mut, null_mut};
use kernel::error::{from_result, to_result};
use kernel::prelude::*;

/// Reads the IFLA_CARP_* attributes of a request into a [`Request`].
///
/// # Safety
///
/// `data` is null or holds `IFLA_CARP_MAX + 1` attributes validated by
/// [`POLICY`]; `pairs` receives carpnodes and must outlive the result.
unsafe fn parse<'a>(
    data: *mut *mut sys::nlattr,
    pairs: &'a mut [(u32, u32); carp_balance::MAX_NODES],
) -> core::result::Result<Request<'a>, &'static core::ffi::CStr> {
    let mut r = Request::default();
    if data.is_null() {
        return Ok(r);
    }
    // SAFETY: `data` has IFLA_CARP_MAX + 1 entries (caller).
    let attr = |i: u32| unsafe { *data.add(i as usize) };
    let u32_of = |i: u32| {
        let a = attr(i);
        // SAFETY: the policy checked the length of u32 attributes.
        (!a.is_null()).then(|| unsafe { sys::carp_nla_get_u32(a) })
    };
    let u = &mut r.upd;
    u.vhid = u32_of(sys::IFLA_CARP_VHID);
    u.advskew = u32_of(sys::IFLA_CARP_ADVSKEW);
    u.advbase = u32_of(sys::IFLA_CARP_ADVBASE);
    u.balancing = u32_of(sys::IFLA_CARP_BALANCING);
    u.peer = u32_of(sys::IFLA_CARP_PEER).map(peer_of);
    // SAFETY: a validated binary attribute.
    if let Some(b) = unsafe { nla_payload(attr(sys::IFLA_CARP_PEER6)) } {
        u.peer6 = Some(peer6_of(b)?);
    }
    // SAFETY: validated binary attributes.
    u.pass = unsafe { nla_payload(attr(sys::IFLA_CARP_PASS)) };
    // SAFETY: as above.
    if let Some(n) = unsafe { nla_payload(attr(sys::IFLA_CARP_CARPNODES)) } {
        if n.len() % 2 != 0 || n.is_empty() {
            return Err(c"carp: carpnodes must be vhid/advskew byte pairs");
        }
        let count = n.len() / 2;
        if count > carp_balance::MAX_NODES {
            return Err(c"carp: too many carpnodes (at most 32)");
        }
        for (slot, c) in pairs.iter_mut().zip(n.chunks_exact(2)) {
            *slot = (u32::from(c[0]), u32::from(c[1]));
        }
        u.carpnodes = pairs.get(..count);
    }
    r.state = u32_of(sys::IFLA_CARP_STATE);
    Ok(r)
}

/// The attribute of `data` a configuration attribute comes from.
///
/// # Safety
///
/// `data` is null or holds `IFLA_CARP_MAX + 1` attributes.
unsafe fn attr_of(data: *mut *mut sys::nlattr, a: ConfigAttr) -> *const sys::nlattr {
    if data.is_null() {
        return null_mut();
    }
    let i = match a {
        ConfigAttr::Vhid => sys::IFLA_CARP_VHID,
        ConfigAttr::Advskew => sys::IFLA_CARP_ADVSKEW,
        ConfigAttr::Advbase => sys::IFLA_CARP_ADVBASE,
        ConfigAttr::Pass => sys::IFLA_CARP_PASS,
        ConfigAttr::Balancing => sys::IFLA_CARP_BALANCING,
        ConfigAttr::Peer => sys::IFLA_CARP_PEER,
        ConfigAttr::Peer6 => sys::IFLA_CARP_PEER6,
        ConfigAttr::State => sys::IFLA_CARP_STATE,
        ConfigAttr::Carpnodes => sys::IFLA_CARP_CARPNODES,
    };
    // SAFETY: `data` has IFLA_CARP_MAX + 1 entries (caller).
    unsafe { *data.add(i as usize) }
}

/// Validates and applies IFLA_CARP_* attributes (and a new carpdev):
/// all or nothing.
///
/// # Safety
///
/// `cd` is an initialised carp device; `data` as in [`parse`].
unsafe fn apply_data(
    rtnl: &Rtnl,
    cd: &CarpDev,
    data: *mut *mut sys::nlattr,
    carpdev: Option<u32>,
    extack: *mut sys::netlink_ext_ack,
) -> Result {
    let mut pairs = [(0u32, 0u32); carp_balance::MAX_NODES];
    // SAFETY: forwarded.
    let mut req = match unsafe { parse(data, &mut pairs) } {
        Ok(r) => r,
        Err(msg) => {
            set_err_msg(extack, msg);
            return Err(EINVAL);
        }
    };
    req.carpdev = carpdev;
    // SAFETY: forwarded.
    unsafe { apply_request(rtnl, cd, &req, extack, |a| attr_of(data, a)) }
}

/// `rtnl_link_ops.setup`.
///
/// # Safety
///
/// Called by rtnl_create_link on a freshly allocated, unregistered device.
unsafe extern "C" fn carp_setup(dev: *mut sys::net_device) {
    // SAFETY: as documented.
    unsafe { carp_dev::setup(dev) };
}

/// `rtnl_link_ops.newlink`: a new carp device, on the lower device given
/// with `link` or, without one, waiting for a carpdev (given later, or
/// found by the subnet of its first address).
///
/// # Safety
///
/// Called by rtnetlink under RTNL with `tb` holding `IFLA_MAX + 1`
/// validated attributes, `data` null or holding ours, and `dev` allocated by
/// [`carp_setup`].
unsafe extern "C" fn carp_newlink(
    src_net: *mut sys::net,
    dev: *mut sys::net_device,
    tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: as documented.
    let rtnl = unsafe { Rtnl::assume() };
    from_result(|| {
        // SAFETY: rtnetlink passes `tb` with IFLA_MAX + 1 entries.
        let link = unsafe { *tb.add(sys::IFLA_LINK as usize) };
        let mut lower = null_mut();
        if !link.is_null() {
            // SAFETY: `link` is a validated u32 attribute.
            lower = unsafe { sys::__dev_get_by_index(src_net, sys::carp_nla_get_u32(link) as i32) };
            if lower.is_null() {
                set_err_msg(extack, c"carp: lower device not found");
                return Err(ENODEV);
            }
            // SAFETY: `lower` is live under RTNL; `dev` is ours.
            unsafe {
                if (*tb.add(sys::IFLA_MTU as usize)).is_null() {
                    (*dev).mtu = (*lower).mtu;
                }
                check_lower(&rtnl, dev, lower).map_err(|f| f.report(extack))?;
            }
        }
        let mut seed = 0u64;
        // SAFETY: fills 8 bytes of `seed`.
        unsafe { sys::get_random_bytes(addr_of_mut!(seed).cast(), 8) };
        // SAFETY: `dev` is ours and not yet registered; its priv area is
        // zeroed and sized for a `CarpDev`.
        let cd = unsafe {
            CarpDev::init(dev, Config::default(), seed)?;
            let cd = carp_dev(dev);
            crate::carp_timer::init(cd);
            cd
        };
        // The configuration is validated and applied before registration;
        // the vhid check against the carpdev comes before attaching.
        // SAFETY: `cd` is initialised; `data` as rtnetlink validated it.
        let r = unsafe { apply_data(&rtnl, cd, data, None, extack) }.and_then(|()| {
            let nodes = cd.state.lock().carp.config().nodes;
            // SAFETY: `lower` null or live.
            if nodes.is_some_and(|n| unsafe { vhid_clash(&rtnl, cd, lower, &n) }) {
                return Err(VHID_CLASH.report(extack));
            }
            Ok(())
        });
        if let Err(e) = r {
            // Not registered: nothing else saw the state.
            // SAFETY: no timer armed (the core never ran), no work queued.
            unsafe { cd.drop_state() };
            return Err(e);
        }
        // SAFETY: RTNL held.
        if let Err(e) = to_result(unsafe { sys::register_netdevice(dev) }) {
            // A registration that failed after ndo_init ran uninit and the
            // destructor (which dropped the state); one that failed before
            // did not: `drop_state` drops it once either way.
            // SAFETY: the device never ran.
            unsafe { cd.drop_state() };
            return Err(e);
        }
        // SAFETY: registered.
        unsafe {
            sys::netif_carrier_off(dev);
            sys::linkwatch_fire_event(dev);
        }
        // SAFETY: `lower` is live and checked; `cd` has no carpdev; the
        // namespace is live.
        let r = unsafe {
            let attached = if lower.is_null() {
                Ok(())
            } else {
                attach(&rtnl, cd, lower, extack)
            };
            attached
                .and_then(|()| crate::carp_netfilter::device_added(&rtnl, sys::carp_dev_net(dev)))
        };
        if let Err(e) = r {
            detach(&rtnl, cd);
            // Uninit and the destructor take the device down.
            // SAFETY: RTNL held; registered.
            unsafe { sys::unregister_netdevice_queue(dev, null_mut()) };
            return Err(e);
        }
        Ok(0)
    })
}

/// `rtnl_link_ops.changelink`: `ip link set carp0 [link DEV] type carp ...`.
///
/// # Safety
///
/// Called by rtnetlink under RTNL with a carp device and validated
/// attributes.
unsafe extern "C" fn carp_changelink(
    dev: *mut sys::net_device,
    tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: as documented.
    let (rtnl, cd) = unsafe { (Rtnl::assume(), carp_dev(dev)) };
    // SAFETY: `tb` is null or has IFLA_MAX + 1 entries; IFLA_LINK is a u32.
    let carpdev = unsafe {
        let link = if tb.is_null() {
            null_mut()
        } else {
            *tb.add(sys::IFLA_LINK as usize)
        };
        (!link.is_null()).then(|| sys::carp_nla_get_u32(link))
    };
    // SAFETY: as documented.
    from_result(|| unsafe { apply_data(&rtnl, cd, data, carpdev, extack) }.map(|()| 0))
}

/// `rtnl_link_ops.dellink`: leaves the carpdev at once (so the carpdev has
/// no upper device left however the batch is ordered) and queues the
/// device for unregistration.
///
/// # Safety
///
/// Called by rtnetlink under RTNL with a carp device and a kill list.
unsafe extern "C" fn carp_dellink(dev: *mut sys::net_device, head: *mut sys::list_head) {
    // SAFETY: as documented.
    let (rtnl, cd) = unsafe { (Rtnl::assume(), carp_dev(dev)) };
    detach(&rtnl, cd);
    // SAFETY: as documented (newlink counted the device in); the rest of
    // the teardown is in `ndo_uninit`.
    unsafe {
        crate::carp_netfilter::device_removed(&rtnl, sys::carp_dev_net(dev));
        sys::unregister_netdevice_queue(dev, head);
    }
}

/// `rtnl_link_ops.get_size`.
///
/// # Safety
///
/// Called by rtnetlink with a carp device.
unsafe extern "C" fn carp_get_size(_dev: *const sys::net_device) -> usize {
    // Seven u32 attributes, carpnodes and node states (64 + 32 bytes),
    // the IPv6 peer.
    let a = |payload: usize| (4 + payload + 3) & !3;
    7 * a(4) + a(64) + a(32) + a(16)
}

/// `rtnl_link_ops.fill_info`: the configuration and state, never the pass.
///
/// # Safety
///
/// Called by rtnetlink with a carp device and a message being built.
unsafe extern "C" fn carp_fill_info(skb: *mut sys::sk_buff, dev: *const sys::net_device) -> c_int {
    // SAFETY: as documented.
    let cd = unsafe { carp_dev(dev) };
    let (cfg, states, link, demote) = {
        let st = cd.state.lock();
        let mut states = [0u8; 32];
        for (s, v) in states.iter_mut().zip(st.carp.vhes()) {
            *s = v.state as u8;
        }
        (
            *st.carp.config(),
            states,
            st.carp.link_state(),
            st.carp.demote(),
        )
    };
    let n = cfg.count();
    let mut nodes = [0u8; 64];
    if let Some(list) = cfg.nodes {
        for (c, node) in nodes.chunks_exact_mut(2).zip(list.as_slice()) {
            c[0] = node.vhid;
            c[1] = node.advskew;
        }
    }
    let leader = cfg.nodes.map(|l: Carpnodes| l.leader());
    let put32 = |t: u32, v: u32| {
        // SAFETY: `skb` is the message being built.
        to_result(unsafe { sys::nla_put(skb, t as c_int, 4, addr_of!(v).cast()) })
    };
    let putb = |t: u32, b: &[u8]| {
        // SAFETY: as above.
        to_result(unsafe { sys::nla_put(skb, t as c_int, b.len() as c_int, b.as_ptr().cast()) })
    };
    let r = (|| -> Result {
        if let Some(l) = leader {
            put32(sys::IFLA_CARP_VHID, u32::from(l.vhid))?;
            put32(sys::IFLA_CARP_ADVSKEW, u32::from(l.advskew))?;
            putb(
                sys::IFLA_CARP_CARPNODES,
                nodes.get(..n.saturating_mul(2)).unwrap_or(&[]),
            )?;
            putb(sys::IFLA_CARP_NODE_STATES, states.get(..n).unwrap_or(&[]))?;
        }
        put32(sys::IFLA_CARP_ADVBASE, u32::from(cfg.advbase))?;
        put32(sys::IFLA_CARP_STATE, link as u32)?;
        put32(sys::IFLA_CARP_BALANCING, cfg.balancing as u32)?;
        put32(sys::IFLA_CARP_DEMOTE, u32::from(demote))?;
        if let Some(p) = cfg.peer {
            put32(sys::IFLA_CARP_PEER, u32::from_ne_bytes(p))?;
        }
        if let Some(p) = cfg.peer6 {
            putb(sys::IFLA_CARP_PEER6, &p)?;
        }
        Ok(())
    })();
    match r {
        Ok(()) => 0,
        Err(_) => emsgsize().to_errno(),
    }
}

/// Attribute policy for IFLA_INFO_DATA.
static POLICY: KStatic<[sys::nla_policy; sys::IFLA_CARP_MAX as usize + 1]> = KStatic::new({
    // SAFETY: all-zero is a valid (NLA_UNSPEC, accept anything) policy.
    let mut p: [sys::nla_policy; sys::IFLA_CARP_MAX as usize + 1] = unsafe { core::mem::zeroed() };
    let u32_t = sys::NLA_U32 as u8;
    let bin_t = sys::NLA_BINARY as u8;
    p[sys::IFLA_CARP_VHID as usize].type_ = u32_t;
    p[sys::IFLA_CARP_ADVSKEW as usize].type_ = u32_t;
    p[sys::IFLA_CARP_ADVBASE as usize].type_ = u32_t;
    p[sys::IFLA_CARP_STATE as usize].type_ = u32_t;
    p[sys::IFLA_CARP_BALANCING as usize].type_ = u32_t;
    p[sys::IFLA_CARP_PEER as usize].type_ = u32_t;
    p[sys::IFLA_CARP_DEMOTE as usize].type_ = sys::NLA_REJECT as u8;
    p[sys::IFLA_CARP_NODE_STATES as usize].type_ = sys::NLA_REJECT as u8;
    p[sys::IFLA_CARP_PASS as usize].type_ = bin_t;
    // Longer than allowed, so that the core's clearer message reports it.
    p[sys::IFLA_CARP_PASS as usize].len = 64;
    p[sys::IFLA_CARP_CARPNODES as usize].type_ = bin_t;
    p[sys::IFLA_CARP_CARPNODES as usize].len = 512;
    // Exactly 16 bytes, checked with a clear message by `peer6_of`.
    p[sys::IFLA_CARP_PEER6 as usize].type_ = bin_t;
    p[sys::IFLA_CARP_PEER6 as usize].len = 64;
    p
});

/// The "carp" link type.
static LINK_OPS: KStatic<sys::rtnl_link_ops> = KStatic::new(sys::rtnl_link_ops {
    kind: c"carp".as_ptr(),
    priv_size: size_of::<CarpDev>(),
    setup: Some(carp_setup),
    newlink: Some(carp_newlink),
    changelink: Some(carp_changelink),
    dellink: Some(carp_dellink),
    get_size: Some(carp_get_size),
    fill_info: Some(carp_fill_info),
    maxtype: sys::IFLA_CARP_MAX,
    policy: POLICY.get().cast(),
    // SAFETY: all-zero is a valid `rtnl_link_ops` (null pointers, None).
    ..unsafe { core::mem::zeroed() }
});

/// The "carp" link type, registered while the module is loaded.
pub(crate) struct Registration(());

impl Registration {
    /// Registers the link type.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: LINK_OPS is a static that outlives the registration.
        to_result(unsafe { sys::rtnl_link_register(LINK_OPS.get()) })?;
        Ok(Self(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Deletes every carp device in every namespace (dellink), then the
        // type.
        // SAFETY: registered in `new`.
        unsafe { sys::rtnl_link_unregister(LINK_OPS.get()) };
    }
}
