// SPDX-License-Identifier: GPL-2.0

//! The port: what carp keeps on a lower device (carpdev). All carp devices
//! on one lower device share a [`Port`], which the lower device's single
//! rx_handler slot points at; its RCU list of carp devices is what the
//! receive paths search. This file also attaches carp devices to a carpdev
//! and detaches them, and keeps the namespace's group demotion in step with
//! the carpdevs' link state.
//!
//! # Locking
//!
//! The list changes under RTNL (attach, detach) and is read under RCU (the
//! rx_handler, the IPPROTO_CARP handlers, netfilter hooks). So does the
//! vhid table, rebuilt from the list under RTNL whenever the list or a
//! device's vhids change: the receive path finds an advertisement's device
//! in O(1), whatever the number of vhids on the carpdev. A port is freed
//! after `netdev_rx_handler_unregister`, which waits for receivers.

use crate::carp_balance::{self, Balancing, Carpnodes};
use crate::carp_dev::{for_each_in_net, is_carp, CarpDev, Entry};
use crate::carp_net::{carp_net, log_demote};
use crate::carp_proto::{GROUP_V4, GROUP_V6};
use crate::carp_sys as sys;
use crate::carp_util::{now, ConfigFault, Protected, Rcu, Rtnl};
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use kernel::alloc::flags::__GFP_ZERO;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;

/// The carp devices stacked on one lower device.
///
/// # Invariants
///
/// `devs` is a list of [`CarpDev::list`] entries of carp devices whose
/// carpdev is the lower device the port belongs to, modified only under RTNL (RCU readers may walk it).
/// Every non-null entry of `vhids` points at a device whose configuration
/// had that vhid when [`Port::reindex`] last ran, and which is on `devs` or
/// left it in the current RTNL section: a device leaves `vhids` in the RTNL
/// section in which it leaves `devs`, before any grace period that could
/// free it.
/// The port is `lower`'s `rx_handler_data` from [`Port::get_or_create`]
/// until [`Port::release_if_unused`].
/// `joined` has the bit of a family ([`JOINED_V4`], [`JOINED_V6`]) exactly
/// while the port holds one reference on that family's CARP group on
/// `lower` (written under RTNL).
pub(crate) struct Port {
    devs: Opaque<sys::list_head>,
    /// The carp device of each vhid (the index), null where none; written
    /// under RTNL by [`Port::reindex`], read under RCU.
    vhids: [AtomicPtr<CarpDev>; 256],
    /// The CARP groups the port joined on the lower device.
    joined: AtomicU8,
}

/// [`Port::joined`]: the port holds 224.0.0.18 on the lower device.
const JOINED_V4: u8 = 1;
/// [`Port::joined`]: the port holds ff02::12 on the lower device.
const JOINED_V6: u8 = 2;
/// The least MTU of IPv6 (`IPV6_MIN_MTU`): below it the kernel tears the
/// device's IPv6 state down, memberships included.
const IPV6_MIN_MTU: u32 = 1280;

// SAFETY: the list is only changed under RTNL and read under RCU.
unsafe impl Sync for Port {}

impl Port {
    /// The port of `lower`, if carp runs on it.
    ///
    /// # Safety
    ///
    /// `lower` is live.
    pub(crate) unsafe fn get<'a>(_rtnl: &'a Rtnl, lower: *mut sys::net_device) -> Option<&'a Port> {
        // SAFETY: RTNL held, `lower` live.
        unsafe {
            if sys::carp_rx_handler_is(lower, Some(carp_handle_frame)) {
                // Our handler means our data is a `Port`, alive while RTNL
                // is held (only released under RTNL).
                Some(&*sys::carp_rx_handler_data_rtnl(lower).cast::<Port>())
            } else {
                None
            }
        }
    }

    /// The port of `lower` seen from a receive path.
    ///
    /// # Safety
    ///
    /// `lower` is live.
    pub(crate) unsafe fn get_rcu<'a>(
        _rcu: &'a Rcu,
        lower: *const sys::net_device,
    ) -> Option<&'a Port> {
        // SAFETY: the RCU read side is held (token).
        unsafe {
            if sys::carp_rx_handler_is(lower, Some(carp_handle_frame)) {
                // Our handler's data is a `Port`, alive until the handler is
                // unregistered, which waits for RCU readers.
                Some(&*sys::carp_rx_handler_data_rcu(lower).cast::<Port>())
            } else {
                None
            }
        }
    }

    /// The port of `lower`, created (and the rx_handler registered) if
    /// needed.
    ///
    /// # Safety
    ///
    /// `lower` is live.
    unsafe fn get_or_create<'a>(rtnl: &'a Rtnl, lower: *mut sys::net_device) -> Result<&'a Port> {
        // SAFETY: forwarded.
        if let Some(p) = unsafe { Self::get(rtnl, lower) } {
            return Ok(p);
        }
        // Zeroed in place (the table is 2 KB: not built on the stack).
        let port = KBox::<Port>::new_uninit(GFP_KERNEL | __GFP_ZERO)?;
        // SAFETY: all zeroes is a valid `Port`: an `Opaque` may hold any
        // bytes (the list head is initialised below, before use), a zero
        // `AtomicPtr` is null and a zero `joined` holds no group.
        let port = KBox::into_raw(unsafe { port.assume_init() });
        // SAFETY: `port` is a valid, exclusively owned heap object; its list
        // head gets its final address here.
        unsafe { sys::carp_init_list_head((*port).devs.get()) };
        // SAFETY: RTNL held; `port` stays valid until `release_if_unused`
        // unregisters the handler.
        let err =
            unsafe { sys::netdev_rx_handler_register(lower, Some(carp_handle_frame), port.cast()) };
        if let Err(e) = to_result(err) {
            // SAFETY: registration failed, so nobody else saw `port`.
            drop(unsafe { KBox::from_raw(port) });
            return Err(e);
        }
        // SAFETY: registered above; valid while RTNL is held.
        let port = unsafe { &*port };
        // Advertisements are multicast: listen for them on the lower device.
        // SAFETY: `lower` is live.
        unsafe { port.join_groups(rtnl, lower) };
        Ok(port)
    }

    /// Frees the port of `lower` if no carp device uses it any more.
    ///
    /// # Safety
    ///
    /// `lower` is live.
    unsafe fn release_if_unused(rtnl: &Rtnl, lower: *mut sys::net_device) {
        // SAFETY: forwarded.
        let Some(port) = (unsafe { Self::get(rtnl, lower) }) else {
            return;
        };
        // SAFETY: RTNL held; the list head is initialised.
        if unsafe { !sys::carp_list_empty(port.devs.get()) } {
            return;
        }
        // SAFETY: `lower` is live.
        unsafe { port.leave_groups(rtnl, lower, JOINED_V4 | JOINED_V6) };
        let port: *const Port = port;
        // SAFETY: RTNL held; unregistering waits for receivers still using
        // the port (synchronize_net), after which nobody can reach it.
        unsafe {
            sys::netdev_rx_handler_unregister(lower);
            drop(KBox::from_raw(port.cast_mut()));
        }
    }

    /// Calls `f` for every carp device on the port until it returns false.
    /// `f` may detach the device it is given.
    pub(crate) fn for_each<'a, G: Protected>(
        &'a self,
        _g: &'a G,
        mut f: impl FnMut(&'a CarpDev) -> bool,
    ) {
        let head = self.devs.get();
        // SAFETY: the list is valid while RTNL or RCU is held (the token);
        // every entry is the `list` field of a live `CarpDev`. The next
        // entry is read before `f` runs, so `f` may unlink its device.
        unsafe {
            let mut pos = sys::carp_list_next_rcu(head);
            while pos != head {
                // Test kernels: a reader may be held here, at an entry,
                // for as long as a test asks (the window in which a
                // writer must not re-link the entry; tests/vm/rcu-move.sh).
                #[cfg(carp_test_hooks)]
                if G::READER {
                    sys::carp_test_walk_delay();
                }
                let next = sys::carp_list_next_rcu(pos);
                let cd = &*pos
                    .byte_sub(core::mem::offset_of!(CarpDev, list))
                    .cast::<CarpDev>();
                if !f(cd) {
                    return;
                }
                pos = next;
            }
        }
    }

    /// The first carp device on the port for which `pred` holds.
    pub(crate) fn find<'a>(
        &'a self,
        g: &'a impl Protected,
        mut pred: impl FnMut(&CarpDev) -> bool,
    ) -> Option<&'a CarpDev> {
        let mut found = None;
        self.for_each(g, |cd| {
            if pred(cd) {
                found = Some(cd);
                return false;
            }
            true
        });
        found
    }

    /// The carp device on the port whose configuration has `vhid`: the
    /// table's entry. (A configuration changing under RTNL right now may
    /// have dropped the vhid already: the core checks the vhid again under
    /// the device's lock and counts such an advertisement as a bad vhid.)
    pub(crate) fn by_vhid<'a>(&'a self, _g: &'a impl Protected, vhid: u8) -> Option<&'a CarpDev> {
        let p = self.vhids[usize::from(vhid)].load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: by the type invariant a non-null entry is a device on the
        // list or one that left it in the current RTNL section (before any
        // grace period): like a list entry it stays valid while RTNL or RCU
        // is held (the token).
        Some(unsafe { &*p })
    }

    /// Rebuilds the vhid table from the list and the devices'
    /// configurations. Called under RTNL after a device joins or leaves
    /// the list or changes its vhids. (No entry of a vhid that stays on
    /// the port is ever cleared: a receiver never misses it.)
    pub(crate) fn reindex(&self, rtnl: &Rtnl) {
        let mut seen = [0u64; 4];
        self.for_each(rtnl, |cd| {
            let nodes = cd.state.lock().carp.config().nodes;
            for n in nodes.iter().flat_map(|n| n.as_slice().iter()) {
                let v = usize::from(n.vhid);
                seen[v / 64] |= 1 << (v % 64);
                let p: *const CarpDev = cd;
                self.vhids[v].store(p.cast_mut(), Ordering::Release);
            }
            true
        });
        for (v, e) in self.vhids.iter().enumerate() {
            if seen[v / 64] & (1 << (v % 64)) == 0 {
                e.store(core::ptr::null_mut(), Ordering::Release);
            }
        }
    }
}

impl Port {
    /// Joins the CARP multicast groups the port does not hold yet on
    /// `lower`, so that advertisements to 224.0.0.18 and ff02::12 are
    /// delivered locally: each family where the lower device has that
    /// family's state (IPv6 needs an MTU of at least 1280).
    ///
    /// # Safety
    ///
    /// `lower` is live and this port's device.
    unsafe fn join_groups(&self, _rtnl: &Rtnl, lower: *mut sys::net_device) {
        let have = self.joined.load(Ordering::Relaxed);
        let mut now = have;
        // SAFETY: RTNL held, `lower` live.
        unsafe {
            let in_dev = sys::carp_in_dev_rtnl(lower);
            if have & JOINED_V4 == 0 && !in_dev.is_null() {
                sys::ip_mc_inc_group(in_dev, u32::from_ne_bytes(GROUP_V4));
                now |= JOINED_V4;
            }
            if have & JOINED_V6 == 0
                && (*lower).mtu >= IPV6_MIN_MTU
                && sys::ipv6_dev_mc_inc(lower, &group6()) == 0
            {
                now |= JOINED_V6;
            }
        }
        self.joined.store(now, Ordering::Relaxed);
    }

    /// Leaves the groups of `which` (a mask of `JOINED_*`) that the port
    /// holds on `lower`. (A family whose state the kernel tore down took
    /// the membership with it: the call then finds nothing to drop.)
    ///
    /// # Safety
    ///
    /// `lower` is live and this port's device.
    unsafe fn leave_groups(&self, _rtnl: &Rtnl, lower: *mut sys::net_device, which: u8) {
        let have = self.joined.load(Ordering::Relaxed);
        // SAFETY: RTNL held, `lower` live.
        unsafe {
            if have & which & JOINED_V4 != 0 {
                let in_dev = sys::carp_in_dev_rtnl(lower);
                if !in_dev.is_null() {
                    sys::__ip_mc_dec_group(
                        in_dev,
                        u32::from_ne_bytes(GROUP_V4),
                        kernel::bindings::GFP_KERNEL,
                    );
                }
            }
            if have & which & JOINED_V6 != 0 {
                sys::ipv6_dev_mc_dec(lower, &group6());
            }
        }
        self.joined.store(have & !which, Ordering::Relaxed);
    }

    /// The lower device's MTU changed, or it came up: below 1280 the
    /// kernel has torn down its IPv6 state, and with it the port's ff02::12
    /// membership (addrconf runs before us on the notifier chain); at 1280
    /// or more again the state is new and the group must be joined again,
    /// else advertisements of the other hosts are never heard (both
    /// MASTER). Also joins a family whose state did not exist at attach.
    ///
    /// # Safety
    ///
    /// `lower` is live and this port's device.
    pub(crate) unsafe fn refresh_groups(&self, rtnl: &Rtnl, lower: *mut sys::net_device) {
        // A family whose state the kernel tore down (IPv6 below 1280, IPv4
        // below 68 on a device that allows it) took our membership with
        // it: forget it without dropping anything. Then join what exists.
        let mut gone = 0;
        // SAFETY: RTNL held, `lower` live.
        unsafe {
            if sys::carp_in_dev_rtnl(lower).is_null() {
                gone |= JOINED_V4;
            }
            if sys::carp_in6_dev(lower).is_null() || (*lower).mtu < IPV6_MIN_MTU {
                // (Below 1280 with the state still there, it is about to
                // go: drop our reference while it can be dropped.)
                self.leave_groups(rtnl, lower, JOINED_V6);
            }
        }
        let have = self.joined.load(Ordering::Relaxed);
        self.joined.store(have & !gone, Ordering::Relaxed);
        // SAFETY: forwarded.
        unsafe { self.join_groups(rtnl, lower) };
    }
}

/// ff02::12 as the kernel's type.
fn group6() -> sys::in6_addr {
    sys::in6_addr {
        in6_u: sys::in6_addr__bindgen_ty_1 { u6_addr8: GROUP_V6 },
    }
}

/// Why `lower` cannot be the carpdev of the carp device `dev`, if it
/// cannot.
///
/// # Safety
///
/// Both devices live.
pub(crate) unsafe fn check_lower(
    _rtnl: &Rtnl,
    dev: *mut sys::net_device,
    lower: *mut sys::net_device,
) -> core::result::Result<(), ConfigFault> {
    // SAFETY: by the caller's guarantee; RTNL held.
    unsafe {
        if (*lower).type_ != sys::ARPHRD_ETHER as u16
            || (*lower).flags & sys::net_device_flags_IFF_LOOPBACK != 0
        {
            return Err(ConfigFault::new(
                EINVAL,
                c"carp: the carpdev must be an Ethernet device",
            ));
        }
        if is_carp(lower) {
            return Err(ConfigFault::new(
                EINVAL,
                c"carp: cannot stack a carp device on a carp device",
            ));
        }
        if sys::carp_dev_net(lower) != sys::carp_dev_net(dev) {
            return Err(ConfigFault::new(
                EINVAL,
                c"carp: the carpdev must be in the same namespace",
            ));
        }
        if (*dev).mtu > (*lower).mtu {
            return Err(ConfigFault::new(
                EINVAL,
                c"carp: MTU larger than the carpdev's",
            ));
        }
    }
    Ok(())
}

/// The message for a vhid clash.
pub(crate) const VHID_CLASH: ConfigFault =
    ConfigFault::new(EEXIST, c"carp: vhid already used on this carpdev");

/// The message for a carpdev whose rx_handler slot is taken.
pub(crate) const BUSY: ConfigFault = ConfigFault::new(
    EBUSY,
    c"carp: cannot attach to the carpdev (rx_handler busy?)",
);

/// Whether another carp device on `lower` uses one of `nodes`' vhids.
///
/// # Safety
///
/// `lower` null or live.
pub(crate) unsafe fn vhid_clash(
    rtnl: &Rtnl,
    cd: &CarpDev,
    lower: *mut sys::net_device,
    nodes: &Carpnodes,
) -> bool {
    if lower.is_null() {
        return false;
    }
    let mut clash = false;
    // SAFETY: forwarded.
    if let Some(port) = unsafe { Port::get(rtnl, lower) } {
        port.for_each(rtnl, |other| {
            if !core::ptr::eq(other, cd) {
                let o = *other.state.lock().carp.config();
                clash = o.nodes.is_some_and(|on| on.overlap(nodes).is_some());
            }
            !clash
        });
    }
    clash
}

/// Makes `lower` the carpdev of the registered carp device `cd`, after the
/// checks an explicit carpdev gets (Ethernet, namespace, MTU, free vhids):
/// joins its port (registering the rx_handler), links it as upper device,
/// syncs the rx state and starts the device if it is up. Undoes everything
/// on error, with the reason in `extack`.
///
/// # Safety
///
/// `lower` is live; `cd` has no carpdev.
pub(crate) unsafe fn attach(
    rtnl: &Rtnl,
    cd: &CarpDev,
    lower: *mut sys::net_device,
    extack: *mut sys::netlink_ext_ack,
) -> Result {
    let dev = cd.dev;
    // SAFETY: both live.
    unsafe { check_lower(rtnl, dev, lower) }.map_err(|f| f.report(extack))?;
    let nodes = cd.state.lock().carp.config().nodes;
    // SAFETY: `lower` live.
    if nodes.is_some_and(|n| unsafe { vhid_clash(rtnl, cd, lower, &n) }) {
        return Err(VHID_CLASH.report(extack));
    }
    // SAFETY: `lower` live.
    let port = unsafe { Port::get_or_create(rtnl, lower) }
        .map_err(|e| ConfigFault::new(e, BUSY.msg).report(extack))?;
    // SAFETY: RTNL held, both devices registered.
    if let Err(e) = to_result(unsafe { sys::netdev_upper_dev_link(lower, dev, extack) }) {
        // SAFETY: the port may have been created for us.
        unsafe { Port::release_if_unused(rtnl, lower) };
        return Err(e);
    }
    // SAFETY: RTNL held. INVARIANT: `lower` is set, then the device joins
    // the port's list.
    unsafe {
        cd.set_lower(rtnl, lower);
        sys::carp_list_add_tail_rcu(cd.list.get(), port.devs.get());
        (*dev).max_mtu = (*lower).max_mtu;
    }
    port.reindex(rtnl);
    cd.lower_mtu_changed(rtnl);
    cd.sync_lower(rtnl, true);
    cd.set_mac(rtnl);
    // Before the device starts: it runs with the group's counter from its
    // first master-down interval on (the boot demotion is set before any
    // device exists).
    // SAFETY: `dev` is the carp device being attached, which exists for the
    // whole call; RTNL is held (`rtnl`), so it cannot change namespace, and
    // a namespace with a device in it is live.
    unsafe { update_demotion(rtnl, sys::carp_dev_net(dev)) };
    cd.update_link(rtnl);
    Ok(())
}

/// Detaches `cd` from its carpdev (if it has one): a MASTER bows out on
/// it first (the device is deleted, or moves to another carpdev: the
/// backups on this LAN take over at once; a carpdev that is going away
/// was closed before and carried the bow-out when it went down, see
/// `carp_notify`), then it stops (INIT), leaves
/// the port's list and the upper/lower linkage, its rx state is undone on
/// the carpdev, and the port goes when unused. The group demotion is
/// recomputed.
pub(crate) fn detach(rtnl: &Rtnl, cd: &CarpDev) {
    let lower = cd.lower();
    if lower.is_null() {
        return;
    }
    let dev = cd.dev;
    cd.bow_out(rtnl);
    cd.sync_lower(rtnl, false);
    // SAFETY: RTNL held; by the `CarpDev` invariant the device is on the
    // port's list of `lower`. INVARIANT: off the list, then no carpdev.
    unsafe {
        sys::carp_list_del_rcu(cd.list.get());
        sys::netdev_upper_dev_unlink(lower, dev);
        cd.set_lower(rtnl, core::ptr::null_mut());
    }
    // SAFETY: `lower` is live (as below). INVARIANT: off the list, then
    // out of the table, in this RTNL section.
    if let Some(port) = unsafe { Port::get(rtnl, lower) } {
        port.reindex(rtnl);
    }
    cd.update_link(rtnl);
    // SAFETY: `lower` is still live (it may be unregistering: its memory
    // stays until after its notifiers); the namespace is live.
    unsafe {
        Port::release_if_unused(rtnl, lower);
        update_demotion(rtnl, sys::carp_dev_net(dev));
    }
}

/// A lower device goes away (unregistered, or leaving the namespace): its
/// carp devices are detached at once (the lower device must have no upper
/// device left when its own unregistration continues) and deleted, except
/// those already being unregistered in the same batch.
///
/// # Safety
///
/// `lower` is live (in its NETDEV_UNREGISTER notification).
pub(crate) unsafe fn lower_gone(rtnl: &Rtnl, lower: *mut sys::net_device) {
    // SAFETY: forwarded.
    let Some(port) = (unsafe { Port::get(rtnl, lower) }) else {
        return;
    };
    let kill = Opaque::<sys::list_head>::uninit();
    // SAFETY: a local list head that does not move from here on.
    unsafe { sys::carp_init_list_head(kill.get()) };
    let port: *const Port = port;
    // The port may be freed by the last detach: walk it by raw pointer and
    // stop once it is gone.
    loop {
        // SAFETY: the port is alive while its list is not empty (it is
        // freed only when the last device left, which ends the loop).
        let next = unsafe {
            let head = (*port).devs.get();
            let first = sys::carp_list_next_rcu(head);
            if first == head {
                break;
            }
            &*first
                .byte_sub(core::mem::offset_of!(CarpDev, list))
                .cast::<CarpDev>()
        };
        let last = {
            // SAFETY: as above.
            let head = unsafe { (*port).devs.get() };
            // SAFETY: `next.list` is on the list.
            unsafe { sys::carp_list_next_rcu(next.list.get()) == head }
        };
        // SAFETY: RTNL held; the device is live. A registered one is
        // deleted through its link type's dellink (which detaches it, as
        // macvlan does); one already being unregistered in this batch only
        // needs detaching.
        unsafe {
            let ops = (*next.dev).rtnl_link_ops;
            match (*ops).dellink {
                Some(dellink) if crate::carp_dev::registered(next.dev) => {
                    dellink(next.dev, kill.get())
                }
                _ => detach(rtnl, next),
            }
        }
        if last {
            break;
        }
    }
    // SAFETY: RTNL held; `kill` holds devices queued above.
    unsafe { sys::unregister_netdevice_many(kill.get()) };
}

/// The kernel's own parts of the namespace's demotion counter: carp
/// devices whose carpdev is down, and those whose advertisements cannot be
/// sent (one each).
///
/// # Safety
///
/// `net` is live.
pub(crate) unsafe fn demotion_parts(rtnl: &Rtnl, net: *mut sys::net) -> (u32, u32) {
    let (mut down, mut senderr) = (0u32, 0u32);
    // SAFETY: forwarded.
    unsafe {
        for_each_in_net(rtnl, net, |cd| {
            // A device waiting for its carpdev does not demote.
            let l = cd.lower();
            let up = l.is_null() || (sys::carp_netif_running(l) && sys::carp_netif_carrier_ok(l));
            if !up {
                down = down.saturating_add(1);
            } else if cd.send_demoted() {
                senderr = senderr.saturating_add(1);
            }
        })
    };
    (down, senderr)
}

/// Recomputes the namespace's demotion counter (one per carp device whose
/// carpdev is down or whose advertisements cannot be sent, plus the part
/// userspace sets, at most 255) and hands it to every carp device, changed
/// or not: a device attached since the last change gets it too.
///
/// # Safety
///
/// `net` is live.
pub(crate) unsafe fn update_demotion(rtnl: &Rtnl, net: *mut sys::net) {
    // SAFETY: forwarded.
    let (down, senderr) = unsafe { demotion_parts(rtnl, net) };
    // SAFETY: `net` is live.
    let cn = unsafe { carp_net(net) };
    let user = cn.demote_user();
    let d = u8::try_from(down.saturating_add(senderr).saturating_add(u32::from(user)))
        .unwrap_or(u8::MAX);
    if cn.set_demote(d) != d {
        log_demote(cn, d, down, senderr, user);
    }
    let t = now();
    // SAFETY: forwarded.
    unsafe {
        for_each_in_net(rtnl, net, |cd| {
            cd.with_core(|carp, addrs, mut sink| carp.set_demote(t, d, addrs, &mut sink));
        })
    };
}

/// What to do with a frame.
enum Verdict<'a> {
    /// Not ours: continue on the lower device.
    Pass,
    /// Ours but this host must not answer it: drop.
    Drop,
    /// Deliver on this carp device.
    To(&'a CarpDev),
}

/// The carp device on `port` holding IPv4 address `a`.
fn by_v4<'a>(port: &'a Port, rcu: &'a Rcu, a: [u8; 4]) -> Option<&'a CarpDev> {
    port.find(rcu, |cd| cd.state.lock().addrs.has_v4(&a))
}

/// The carp device on `port` holding IPv6 address `a`.
fn by_v6<'a>(port: &'a Port, rcu: &'a Rcu, a: &[u8; 16]) -> Option<&'a CarpDev> {
    port.find(rcu, |cd| cd.state.lock().addrs.has_v6(a))
}

/// The carp device on `port` whose MAC is `mac`.
fn by_mac<'a>(port: &'a Port, rcu: &'a Rcu, mac: &[u8; 6]) -> Option<&'a CarpDev> {
    // SAFETY: the devices are live (RCU); the helper compares dev_addr.
    port.find(rcu, |cd| unsafe {
        sys::carp_dev_addr_equal(cd.dev, mac.as_ptr())
    })
}

/// Decides an ARP request or an IPv6 neighbour solicitation for one of
/// `cd`'s addresses from a requester with MAC `from` (the ARP sender, the
/// solicitation's source link-layer option): only the host that answers
/// gets it; on the others it is dropped, so that the carpdev does not
/// answer either. Without ARP balancing the leader's MASTER answers; with
/// it, the MASTER of the entry the requester's MAC hashes to.
fn solicitation<'a>(cd: &'a CarpDev, from: Option<[u8; 6]>) -> Verdict<'a> {
    let snap = cd.snapshot();
    let entry = if snap.mode == Balancing::Arp {
        // Without the requester's MAC (an NS without the option) nobody
        // answers, as in carp(4).
        from.and_then(|m| cd.arp_index(&snap, &m))
    } else {
        Some(0)
    };
    match entry {
        Some(i) if snap.master_of(i) => {
            cd.count_entry(i, Entry::Answered);
            Verdict::To(cd)
        }
        Some(i) => {
            cd.count_entry(i, Entry::Ignored);
            Verdict::Drop
        }
        None => Verdict::Drop,
    }
}

/// In ARP balancing, the carp device on `port` serving frames to `mac`,
/// the MAC of one of its entries this host is MASTER of.
fn by_entry_mac<'a>(port: &'a Port, rcu: &'a Rcu, mac: &[u8; 6]) -> Option<&'a CarpDev> {
    if mac[..5] != carp_balance::virtual_mac(0)[..5] {
        return None;
    }
    port.find(rcu, |cd| {
        let snap = cd.snapshot();
        snap.mode == Balancing::Arp && cd.entry_of(mac[5]).is_some_and(|i| snap.master_of(i))
    })
}

/// Reads `len` bytes at the start of the skb's data, pulling them into the
/// linear area first, and copies them into `buf`.
///
/// # Safety
///
/// `skb` is a live skb owned by the caller and not shared.
unsafe fn peek<const N: usize>(skb: *mut sys::sk_buff) -> Option<[u8; N]> {
    // SAFETY: by the caller's guarantee (pskb_may_pull may reallocate the
    // head, which needs an unshared skb); the bytes are copied before
    // anything else can change the skb.
    unsafe {
        if !sys::carp_skb_may_pull(skb, N as u32) {
            return None;
        }
        let mut b = [0u8; N];
        b.copy_from_slice(core::slice::from_raw_parts(sys::carp_skb_data(skb), N));
        Some(b)
    }
}

/// Classifies a frame received on a lower device.
///
/// # Safety
///
/// `skb` is live, unshared, with data at the network header.
unsafe fn classify<'a>(
    port: &'a Port,
    rcu: &'a Rcu,
    skb: *mut sys::sk_buff,
    dst: &[u8; 6],
) -> Verdict<'a> {
    // SAFETY: as documented.
    let proto = u16::from_be(unsafe { sys::carp_skb_protocol(skb) });
    match proto {
        ETH_P_ARP => {
            // Ethernet/IPv4 ARP: hardware type 1, protocol 0x0800, lengths
            // 6 and 4; a request (op 1) has the sender MAC at 8 and the
            // target IP at 24.
            // SAFETY: as documented.
            if let Some(a) = unsafe { peek::<28>(skb) } {
                if a[0..8] == [0, 1, 8, 0, 6, 4, 0, 1] {
                    let tip = [a[24], a[25], a[26], a[27]];
                    if let Some(cd) = by_v4(port, rcu, tip) {
                        let sha = [a[8], a[9], a[10], a[11], a[12], a[13]];
                        return solicitation(cd, Some(sha));
                    }
                }
            }
        }
        ETH_P_IPV6 => {
            // ICMPv6 (58) neighbour solicitation (135), target at 8, then
            // options: a source link-layer address option (1, length 1)
            // first is what every stack sends.
            // SAFETY: as documented.
            if let Some(p) = unsafe { peek::<{ 40 + 24 }>(skb) } {
                if p[6] == 58 && p[40] == 135 {
                    let mut t = [0u8; 16];
                    t.copy_from_slice(&p[48..64]);
                    if let Some(cd) = by_v6(port, rcu, &t) {
                        // SAFETY: as documented.
                        let sllao = unsafe { peek::<{ 40 + 24 + 8 }>(skb) }
                            .filter(|o| o[64] == 1 && o[65] == 1)
                            .map(|o| [o[66], o[67], o[68], o[69], o[70], o[71]]);
                        return solicitation(cd, sllao);
                    }
                }
            }
        }
        ETH_P_IP => {}
        _ => return Verdict::Pass,
    }
    // Frames (IP, and every ARP frame: replies to our own requests too) to
    // a carp device's MAC, the `ip` mode multicast MAC standing for a
    // unicast address, or in ARP balancing an entry's MAC.
    match by_mac(port, rcu, dst) {
        Some(cd) if cd.snapshot().accepts_shared_mac() => Verdict::To(cd),
        Some(_) => Verdict::Pass,
        None => by_entry_mac(port, rcu, dst).map_or(Verdict::Pass, Verdict::To),
    }
}

/// The lower device's rx_handler.
///
/// # Safety
///
/// Called by the core receive path under RCU with a valid `*pskb` whose
/// device's rx_handler_data is our [`Port`].
unsafe extern "C" fn carp_handle_frame(pskb: *mut *mut sys::sk_buff) -> sys::rx_handler_result_t {
    // SAFETY: as documented.
    let rcu = unsafe { Rcu::assume() };
    // SAFETY: as documented.
    let mut skb = unsafe { *pskb };
    // SAFETY: as documented.
    unsafe {
        if sys::carp_skb_pkt_type(skb) == sys::PACKET_LOOPBACK as u8 {
            return sys::rx_handler_result_RX_HANDLER_PASS;
        }
        let proto = u16::from_be(sys::carp_skb_protocol(skb));
        if !matches!(proto, ETH_P_IP | ETH_P_ARP | ETH_P_IPV6) {
            return sys::rx_handler_result_RX_HANDLER_PASS;
        }
    }
    // SAFETY: the device the frame arrived on is live.
    let Some(port) = (unsafe { Port::get_rcu(&rcu, sys::carp_skb_dev(skb)) }) else {
        return sys::rx_handler_result_RX_HANDLER_PASS;
    };
    // Pulling headers may reallocate the head, which a shared skb (taps
    // hold a reference) must not see: unshare first.
    // SAFETY: the skb is ours to replace; `*pskb` tells the core.
    unsafe {
        skb = sys::carp_skb_share_check(skb);
        if skb.is_null() {
            return sys::rx_handler_result_RX_HANDLER_CONSUMED;
        }
        *pskb = skb;
    }
    // The Ethernet header is in the linear area (eth_type_trans pulled it);
    // copy the destination before any pull can move the head.
    let mut dst = [0u8; 6];
    // SAFETY: the MAC header is set and 14 bytes long.
    unsafe { dst.copy_from_slice(core::slice::from_raw_parts(sys::carp_skb_mac(skb), 6)) };
    // SAFETY: unshared, data at the network header.
    match unsafe { classify(port, &rcu, skb, &dst) } {
        Verdict::Pass => sys::rx_handler_result_RX_HANDLER_PASS,
        Verdict::Drop => {
            // SAFETY: ours.
            unsafe { sys::carp_kfree_skb(skb) };
            sys::rx_handler_result_RX_HANDLER_CONSUMED
        }
        Verdict::To(cd) => {
            // SAFETY: ours; the carp device is live (RCU).
            unsafe {
                // Unicast to the virtual MAC, or the `ip` mode multicast
                // MAC standing for a unicast address: for this host.
                let pt = sys::carp_skb_pkt_type(skb);
                let to_dev = sys::carp_dev_addr_equal(cd.dev, dst.as_ptr());
                if pt == sys::PACKET_OTHERHOST as u8
                    || (pt == sys::PACKET_MULTICAST as u8 && to_dev)
                {
                    sys::carp_skb_set_pkt_type(skb, sys::PACKET_HOST as u8);
                }
                sys::carp_skb_set_dev(skb, cd.dev);
                sys::carp_dev_rx_add(cd.dev, sys::carp_skb_len(skb) + 14);
            }
            sys::rx_handler_result_RX_HANDLER_ANOTHER
        }
    }
}
