// SPDX-License-Identifier: GPL-2.0

//! The carp net_device, its link type and its lower device ("carpdev").
//!
//! `ip link add carp0 link eth0 type carp` creates an Ethernet-like device
//! stacked on `eth0`. All carp devices on one lower device share a [`Port`]:
//! the lower device's single rx_handler slot points at it, and it keeps an
//! RCU list of the carp devices for the receive path.
//!
//! # Locking
//!
//! - RTNL: creating, deleting, configuring and linking devices, every change
//!   to a port's list, lower-device and address events.
//! - RCU: the receive path walks a port's list. A device leaves the list
//!   with `list_del_rcu` in `ndo_uninit` and is freed after the grace period
//!   unregistration waits for; a port is freed after
//!   `netdev_rx_handler_unregister`, which waits for receivers.
//! - [`CarpDev::state`], a BH-disabling spinlock: the protocol core and the
//!   device's addresses, shared by the hrtimer and receive softirqs and by
//!   process context. Actions the core returns are carried out with it held
//!   (they only queue packets and set flags), except what needs RTNL, which
//!   goes to [`CarpDev::work`].

use crate::carp_balance::{self, Carpnodes};
use crate::carp_net::carp_net;
use crate::carp_proto::{
    Action, Addrs, Carp, Config, ConfigAttr, ConfigUpdate, Link, Stat, State, NSTATS,
};
use crate::carp_sys as sys;
use crate::carp_util::{dev_name, now, set_err_msg, set_err_msg_attr, BhLock, KStatic};
use core::ffi::{c_int, c_ulong, c_void};
use core::mem::size_of;
use core::ptr::{addr_of_mut, null_mut};
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use kernel::error::{from_result, to_result};
use kernel::prelude::*;

/// The carp devices stacked on one lower device.
///
/// # Invariants
///
/// `devs` is a list of [`CarpDev::list`] entries, modified only under RTNL
/// (RCU readers may walk it). The port is the lower device's
/// `rx_handler_data` from [`Port::get_or_create`] until [`Port::release`].
pub(crate) struct Port {
    lower: *mut sys::net_device,
    devs: sys::list_head,
    count: usize,
}

impl Port {
    /// The port of `lower`, if carp runs on it.
    ///
    /// # Safety
    ///
    /// RTNL held, `lower` a live device.
    unsafe fn get(lower: *mut sys::net_device) -> Option<*mut Port> {
        // SAFETY: RTNL held and `lower` live, by the caller.
        if unsafe { sys::carp_rx_handler_is(lower, Some(crate::carp_rx::carp_handle_frame)) } {
            // SAFETY: as above; our handler means our data is a `Port`.
            Some(unsafe { sys::carp_rx_handler_data_rtnl(lower) }.cast())
        } else {
            None
        }
    }

    /// The port of `lower` seen from the receive path.
    ///
    /// # Safety
    ///
    /// RCU read side held, `lower` a live device.
    pub(crate) unsafe fn get_rcu<'a>(lower: *const sys::net_device) -> Option<&'a Port> {
        // SAFETY: by the caller's guarantee.
        if unsafe { sys::carp_rx_handler_is(lower, Some(crate::carp_rx::carp_handle_frame)) } {
            // SAFETY: our handler's data is a `Port`, alive until the
            // handler is unregistered, which waits for RCU readers.
            Some(unsafe { &*sys::carp_rx_handler_data_rcu(lower).cast::<Port>() })
        } else {
            None
        }
    }

    /// The port of `lower`, created (and the rx_handler registered) if
    /// needed.
    ///
    /// # Safety
    ///
    /// RTNL held, `lower` a live device.
    unsafe fn get_or_create(lower: *mut sys::net_device) -> Result<*mut Port> {
        // SAFETY: forwarded caller guarantees.
        if let Some(p) = unsafe { Self::get(lower) } {
            return Ok(p);
        }
        let port = KBox::new(
            Port {
                lower,
                devs: sys::list_head::default(),
                count: 0,
            },
            GFP_KERNEL,
        )?;
        let port = KBox::into_raw(port);
        // SAFETY: `port` is a valid, exclusively owned heap object; its list
        // head gets its final address here.
        unsafe { sys::carp_init_list_head(addr_of_mut!((*port).devs)) };
        // SAFETY: RTNL held; `port` stays valid until `release` unregisters
        // the handler.
        let err = unsafe {
            sys::netdev_rx_handler_register(
                lower,
                Some(crate::carp_rx::carp_handle_frame),
                port.cast(),
            )
        };
        if let Err(e) = to_result(err) {
            // SAFETY: registration failed, so nobody else saw `port`.
            drop(unsafe { KBox::from_raw(port) });
            return Err(e);
        }
        // Advertisements are multicast: listen for them on the lower device.
        // SAFETY: RTNL held, `lower` live.
        unsafe { crate::carp_rx::join_groups(lower, true) };
        Ok(port)
    }

    /// Drops the port if no carp device uses it any more.
    ///
    /// # Safety
    ///
    /// RTNL held; `port` came from [`Port::get_or_create`].
    unsafe fn release(port: *mut Port) {
        // SAFETY: RTNL held, `port` valid by the caller.
        unsafe {
            if (*port).count > 0 {
                return;
            }
            crate::carp_rx::join_groups((*port).lower, false);
            // Waits for receivers still using the port (synchronize_net).
            sys::netdev_rx_handler_unregister((*port).lower);
            drop(KBox::from_raw(port));
        }
    }

    /// The first carp device on the port for which `pred` holds.
    ///
    /// # Safety
    ///
    /// RTNL or the RCU read side held; the result is valid as long as that.
    pub(crate) unsafe fn find(&self, mut pred: impl FnMut(&CarpDev) -> bool) -> Option<&CarpDev> {
        let mut found = None;
        // SAFETY: forwarded caller guarantee.
        unsafe {
            self.for_each(|cd| {
                if pred(cd) {
                    found = Some(cd as *const CarpDev);
                    return false;
                }
                true
            })
        };
        // SAFETY: devices on the list stay valid while the caller holds
        // RTNL or the RCU read side.
        found.map(|p| unsafe { &*p })
    }

    /// Calls `f` for every carp device on the port.
    ///
    /// # Safety
    ///
    /// RTNL or the RCU read side held; `f` must not unlink devices.
    pub(crate) unsafe fn for_each(&self, mut f: impl FnMut(&CarpDev) -> bool) {
        let head = core::ptr::addr_of!(self.devs).cast_mut();
        // SAFETY: the list is valid under RTNL or RCU (type invariant).
        let mut pos = unsafe { sys::carp_list_next_rcu(head) };
        while pos != head {
            // SAFETY: every entry is the `list` field of a live `CarpDev`.
            let cd = unsafe {
                &*pos
                    .byte_sub(core::mem::offset_of!(CarpDev, list))
                    .cast::<CarpDev>()
            };
            if !f(cd) {
                return;
            }
            // SAFETY: as above.
            pos = unsafe { sys::carp_list_next_rcu(pos) };
        }
    }
}

/// What the protocol core and the device's addresses need, under
/// [`CarpDev::state`].
pub(crate) struct DevState {
    /// The protocol core.
    pub(crate) carp: Carp,
    /// The device's IPv4 addresses.
    pub(crate) v4: KVec<[u8; 4]>,
    /// The device's IPv6 addresses.
    pub(crate) v6: KVec<[u8; 16]>,
    /// Being unregistered: no more timers or work.
    pub(crate) dead: bool,
    /// Gratuitous ARP / unsolicited NA wanted once the carrier is up.
    pub(crate) notify_peers: bool,
    /// Work wanted: re-read addresses.
    pub(crate) want_addrs: bool,
    /// Work wanted: tell userspace the state changed (RTM_NEWLINK).
    pub(crate) want_info: bool,
    /// Carrier as last set.
    pub(crate) carrier: bool,
}

/// A carp device's private data (`netdev_priv`).
///
/// # Invariants
///
/// Initialised by `carp_newlink` before the device is registered. `lower`
/// (the carpdev) is null until [`attach`] sets it, under RTNL and the state
/// lock, once: it never changes afterwards, and the lower device outlives
/// the carp device (its unregistration deletes its carp devices first).
/// `port` is null until then too, then points at the port of `lower` and
/// `list` is on that port's list until `carp_uninit`.
#[repr(C)]
pub(crate) struct CarpDev {
    pub(crate) dev: *mut sys::net_device,
    lower: AtomicPtr<sys::net_device>,
    port: *mut Port,
    list: sys::list_head,
    /// The protocol core and addresses.
    pub(crate) state: BhLock<DevState>,
    timer: sys::hrtimer,
    work: sys::work_struct,
    /// Per-device statistics, indexed by [`Stat`].
    pub(crate) stats: [AtomicU64; NSTATS],
}

/// `netdev_priv` as a [`CarpDev`].
///
/// # Safety
///
/// `dev` must be a carp device (created with [`LINK_OPS`]).
pub(crate) unsafe fn priv_of(dev: *const sys::net_device) -> *mut CarpDev {
    // SAFETY: carp devices are allocated with `priv_size` of a `CarpDev`.
    unsafe { sys::carp_netdev_priv(dev) }.cast()
}

/// Whether `dev` is a carp device.
///
/// # Safety
///
/// `dev` must be a live net_device.
pub(crate) unsafe fn is_carp(dev: *const sys::net_device) -> bool {
    // SAFETY: reading the ops pointer of a live device.
    core::ptr::eq(unsafe { (*dev).netdev_ops }, &NETDEV_OPS)
}

/// The work queue for what needs process context and RTNL.
static WQ: KStatic<*mut sys::workqueue_struct> = KStatic::new(null_mut());

impl CarpDev {
    /// The carpdev, or null while the device has none.
    pub(crate) fn lower(&self) -> *mut sys::net_device {
        self.lower.load(Ordering::Acquire)
    }

    /// Counts `stat` for this device only.
    pub(crate) fn count_dev(&self, stat: Stat) {
        if let Some(c) = self.stats.get(stat as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts `stat` for this device and its namespace.
    pub(crate) fn count(&self, stat: Stat) {
        self.count_dev(stat);
        // SAFETY: the device is live, so is its namespace and our state.
        unsafe { carp_net(sys::carp_dev_net(self.dev)) }.count(stat);
    }

    /// Runs `f` on the core under the lock, carries out the actions it
    /// returns, then updates the carrier and re-arms the timer.
    pub(crate) fn with_core(&self, f: impl FnOnce(&mut Carp, &Addrs<'_>, &mut dyn FnMut(Action))) {
        let mut st = self.state.lock();
        if st.dead {
            return;
        }
        let DevState {
            carp,
            v4,
            v6,
            notify_peers,
            want_info,
            carrier,
            ..
        } = &mut *st;
        let addrs = Addrs {
            v4: v4.as_slice(),
            v6: v6.as_slice(),
            lladdr: None,
        };
        let mut queue_work = false;
        let tx = crate::carp_tx::TxParams {
            mode: carp.config().balancing,
            peer: carp.config().peer,
        };
        f(carp, &addrs, &mut |a| match a {
            Action::Send { packet, v4, v6, .. } => {
                crate::carp_tx::send_advert(self, tx, &packet, v4, v6, &addrs);
            }
            Action::State {
                vhid,
                old,
                new,
                reason,
                ..
            } => {
                if new == State::Master && old == State::Backup {
                    self.count(Stat::Preempt);
                }
                // SAFETY: the device is live while we hold its state.
                let name = unsafe { dev_name(self.dev) };
                crate::carp_net::log_state(self.dev, name, vhid, old, new, reason);
                crate::carp_netlink::notify_state(self.dev, vhid, old, new, reason);
                *want_info = true;
                queue_work = true;
            }
            Action::GratuitousArp | Action::UnsolicitedNa => {
                // Sent by __netdev_notify_peers with RTNL: at once if the
                // carrier is already up, else when it comes up (the qdisc
                // only starts then).
                *notify_peers = true;
                if *carrier {
                    queue_work = true;
                }
            }
        });
        let master = carp.link_state() == State::Master;
        if master != *carrier {
            *carrier = master;
            // SAFETY: the device is live; carrier changes are allowed in
            // atomic context.
            unsafe {
                if master {
                    sys::netif_carrier_on(self.dev);
                } else {
                    sys::netif_carrier_off(self.dev);
                }
            }
        }
        let next = carp.next_deadline();
        let timer = core::ptr::addr_of!(self.timer).cast_mut();
        // SAFETY: the timer was initialised in newlink and is cancelled
        // (after `dead` is set) before the device goes away.
        unsafe {
            match next {
                Some(t) => sys::carp_hrtimer_start(timer, t),
                None => {
                    sys::hrtimer_try_to_cancel(timer);
                }
            }
        }
        drop(st);
        if queue_work {
            self.queue_work();
        }
    }

    /// Queues the device's work, holding a device reference until it runs.
    pub(crate) fn queue_work(&self) {
        let work = core::ptr::addr_of!(self.work).cast_mut();
        // SAFETY: the work was initialised in newlink; the workqueue exists
        // while the module is loaded. The reference taken for a newly
        // queued work is dropped by `carp_work`.
        unsafe {
            if sys::carp_queue_work(*WQ.get(), work) {
                sys::carp_dev_hold(self.dev);
            }
        }
    }

    /// Re-reads the device's addresses and hands them to the core.
    ///
    /// # Safety
    ///
    /// RTNL held.
    unsafe fn resync_addrs(&self) {
        let mut v4 = KVec::new();
        let mut v6 = KVec::new();
        // SAFETY: RTNL held (caller), the device is live.
        unsafe { crate::carp_rx::collect_addrs(self.dev, &mut v4, &mut v6) };
        {
            let mut st = self.state.lock();
            // Only a change of the virtual addresses restarts the entries:
            // the link-local address addrconf adds when the carrier comes
            // up (on becoming MASTER) is not one and must not restart.
            if st.v4.as_slice() == v4.as_slice() && st.v6.as_slice() == v6.as_slice() {
                return;
            }
            core::mem::swap(&mut st.v4, &mut v4);
            core::mem::swap(&mut st.v6, &mut v6);
        }
        // The old lists drop here, outside the lock.
        let t = now();
        self.with_core(|carp, addrs, mut sink| carp.set_addresses(t, addrs, &mut sink));
    }

    /// The current admin/carpdev condition. `netif_running` rather than
    /// IFF_UP: it is already set in `ndo_open` and already clear in
    /// `ndo_stop`.
    ///
    /// # Safety
    ///
    /// RTNL held.
    unsafe fn link(&self) -> Link {
        let lower = self.lower();
        // SAFETY: both devices are live under RTNL.
        unsafe {
            Link {
                up: sys::carp_netif_running(self.dev),
                carpdev_up: !lower.is_null()
                    && sys::carp_netif_running(lower)
                    && sys::carp_netif_carrier_ok(lower),
            }
        }
    }

    /// Pushes the admin/carpdev condition to the core.
    ///
    /// # Safety
    ///
    /// RTNL held.
    pub(crate) unsafe fn update_link(&self) {
        // SAFETY: forwarded.
        let link = unsafe { self.link() };
        let t = now();
        self.with_core(|carp, addrs, mut sink| carp.set_link(t, link, addrs, &mut sink));
    }
}

/// The device's work: what needs RTNL.
///
/// # Safety
///
/// Called by the workqueue for a work queued by [`CarpDev::queue_work`],
/// which holds a device reference for it.
unsafe extern "C" fn carp_work(work: *mut sys::work_struct) {
    // SAFETY: the work is the `work` field of a `CarpDev` kept alive by the
    // reference taken when it was queued.
    let cd = unsafe {
        &*work
            .byte_sub(core::mem::offset_of!(CarpDev, work))
            .cast::<CarpDev>()
    };
    // SAFETY: process context.
    unsafe { sys::rtnl_lock() };
    let (dead, addrs, peers, info) = {
        let mut st = cd.state.lock();
        let peers = st.notify_peers && st.carrier;
        let r = (st.dead, st.want_addrs, peers, st.want_info);
        st.want_addrs = false;
        st.want_info = false;
        if peers {
            st.notify_peers = false;
        }
        r
    };
    if !dead {
        // SAFETY: RTNL held, the device is registered (not dead).
        unsafe {
            if addrs {
                cd.resync_addrs();
            }
            if peers {
                sys::__netdev_notify_peers(cd.dev);
            }
            if info {
                sys::call_netdevice_notifiers(
                    sys::netdev_cmd_NETDEV_CHANGEINFODATA as c_ulong,
                    cd.dev,
                );
            }
        }
    }
    // SAFETY: RTNL taken above; the reference was taken when queued.
    unsafe {
        sys::rtnl_unlock();
        sys::carp_dev_put(cd.dev);
    }
}

/// The hrtimer: runs the core's timers.
///
/// # Safety
///
/// Called by the hrtimer core (softirq) for the `timer` field of a live
/// `CarpDev`; the timer is cancelled before the device is freed.
unsafe extern "C" fn carp_timer(timer: *mut sys::hrtimer) -> sys::hrtimer_restart {
    // SAFETY: as documented above.
    let cd = unsafe {
        &*timer
            .byte_sub(core::mem::offset_of!(CarpDev, timer))
            .cast::<CarpDev>()
    };
    let t = now();
    // Re-armed inside `with_core` with hrtimer_start, which is allowed from
    // the callback; NORESTART keeps the new expiry.
    cd.with_core(|carp, addrs, mut sink| carp.on_timer(t, addrs, &mut sink));
    sys::hrtimer_restart_HRTIMER_NORESTART
}

/// `ndo_open`.
///
/// # Safety
///
/// Called by the kernel under RTNL with a registered carp device.
unsafe extern "C" fn carp_open(dev: *mut sys::net_device) -> c_int {
    // SAFETY: as documented; the carp device's priv is initialised.
    unsafe {
        let cd = &*priv_of(dev);
        let lower = cd.lower();
        if !lower.is_null() {
            let err = sys::dev_uc_add(lower, (*dev).dev_addr);
            if err != 0 {
                return err;
            }
        }
        // Carrier stays down until the device is MASTER.
        sys::netif_carrier_off(dev);
        cd.state.lock().carrier = false;
        cd.update_link();
    }
    0
}

/// `ndo_stop`: sends the bow-out advertisement while MASTER.
///
/// # Safety
///
/// Called by the kernel under RTNL with a registered carp device.
unsafe extern "C" fn carp_stop(dev: *mut sys::net_device) -> c_int {
    // SAFETY: as documented.
    unsafe {
        let cd = &*priv_of(dev);
        // IFF_UP is already clear here, so this is "admin down".
        cd.update_link();
        let lower = cd.lower();
        if !lower.is_null() {
            sys::dev_uc_del(lower, (*dev).dev_addr);
        }
        sys::netif_carrier_off(dev);
    }
    0
}

/// `ndo_start_xmit`: out through the lower device, only as MASTER.
///
/// # Safety
///
/// Called by the kernel with a registered carp device and an skb it hands
/// over to us.
unsafe extern "C" fn carp_start_xmit(
    skb: *mut sys::sk_buff,
    dev: *mut sys::net_device,
) -> sys::netdev_tx_t {
    // SAFETY: the lower device outlives the carp device (it is unregistered
    // first); the skb is ours.
    unsafe {
        let lower = (*priv_of(dev)).lower();
        if lower.is_null() {
            // No carpdev yet: nowhere to send (the carrier is down anyway).
            sys::carp_kfree_skb(skb);
        } else {
            sys::carp_skb_set_dev(skb, lower);
            sys::__dev_queue_xmit(skb, null_mut());
        }
    }
    sys::netdev_tx_NETDEV_TX_OK
}

/// `ndo_uninit`: undoes what `carp_newlink` set up.
///
/// # Safety
///
/// Called by the kernel under RTNL while unregistering a carp device.
unsafe extern "C" fn carp_uninit(dev: *mut sys::net_device) {
    // SAFETY: as documented; by the `CarpDev` invariant a non-null port
    // means linked.
    unsafe {
        let cd = priv_of(dev);
        (*cd).state.lock().dead = true;
        // The callback sees `dead` and does not re-arm.
        sys::hrtimer_cancel(addr_of_mut!((*cd).timer));
        let port = (*cd).port;
        if port.is_null() {
            return;
        }
        sys::carp_list_del_rcu(addr_of_mut!((*cd).list));
        sys::netdev_upper_dev_unlink((*cd).lower(), dev);
        (*cd).port = null_mut();
        (*port).count = (*port).count.saturating_sub(1);
        Port::release(port);
        carp_net(sys::carp_dev_net(dev)).device_removed();
    }
}

/// `priv_destructor`: drops the Rust state (the device is freed after).
///
/// # Safety
///
/// Called once by the kernel after the device was unregistered.
unsafe extern "C" fn carp_destructor(dev: *mut sys::net_device) {
    // SAFETY: newlink initialised the state before registering; the timer
    // was cancelled in uninit, and queued work holds a reference, so
    // nothing uses the state any more.
    unsafe { BhLock::drop_data(addr_of_mut!((*priv_of(dev)).state)) };
}

/// `ndo_get_iflink`: the lower device (`ip link` shows `carp0@eth0`).
///
/// # Safety
///
/// Called by the kernel with a registered carp device.
unsafe extern "C" fn carp_get_iflink(dev: *const sys::net_device) -> c_int {
    // SAFETY: `dev` is a carp device; its lower device, once set, outlives
    // it.
    unsafe {
        let lower = (*priv_of(dev)).lower();
        if lower.is_null() {
            (*dev).ifindex
        } else {
            (*lower).ifindex
        }
    }
}

static NETDEV_OPS: sys::net_device_ops = sys::net_device_ops {
    ndo_uninit: Some(carp_uninit),
    ndo_get_iflink: Some(carp_get_iflink),
    ndo_open: Some(carp_open),
    ndo_stop: Some(carp_stop),
    ndo_start_xmit: Some(carp_start_xmit),
    ndo_validate_addr: Some(sys::eth_validate_addr),
    // SAFETY: all-zero is a valid `net_device_ops` (every op absent).
    ..unsafe { core::mem::zeroed() }
};

/// `rtnl_link_ops.setup`.
///
/// # Safety
///
/// Called by rtnl_create_link on a freshly allocated, unregistered device.
unsafe extern "C" fn carp_setup(dev: *mut sys::net_device) {
    // SAFETY: as documented.
    unsafe {
        sys::ether_setup(dev);
        (*dev).netdev_ops = &NETDEV_OPS;
        (*dev).needs_free_netdev = true;
        let fast = &mut (*dev).__bindgen_anon_1.priv_flags_fast;
        let flags = fast.priv_flags() & !u64::from(sys::netdev_priv_flags_IFF_TX_SKB_SHARING);
        fast.set_priv_flags(flags | u64::from(sys::netdev_priv_flags_IFF_NO_QUEUE));
        fast.set_lltx(1);
        // Per-namespace state and the lower device must stay together.
        (*dev).set_netns_immutable(1);
        sys::carp_eth_hw_addr_random(dev);
    }
}

/// A configuration change, from rtnetlink (IFLA_INFO_DATA) or from the carp
/// generic netlink family; applied as a whole by [`apply_request`].
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

/// Reads the IFLA_CARP_* attributes of a request into a [`Request`].
///
/// # Safety
///
/// `data` is null or holds `IFLA_CARP_MAX + 1` attributes validated by
/// [`POLICY`]; `pairs` receives carpnodes and must outlive the result.
unsafe fn parse_update<'a>(
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

/// A carppeer attribute (an IPv4 address in network order; 0 removes it).
pub(crate) fn peer_of(p: u32) -> Option<[u8; 4]> {
    let a = p.to_ne_bytes();
    (a != [0; 4]).then_some(a)
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
/// RTNL held; `dev` is an initialised carp device; `attr_of` returns null
/// or an attribute of the request being processed.
pub(crate) unsafe fn apply_request(
    dev: *mut sys::net_device,
    req: &Request<'_>,
    extack: *mut sys::netlink_ext_ack,
    attr_of: impl Fn(ConfigAttr) -> *const sys::nlattr,
) -> Result {
    // SAFETY: by the caller's guarantee.
    let cd = unsafe { &*priv_of(dev) };
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
    // The carpdev: the current one, or one given now for a device without.
    let mut lower = cd.lower();
    let mut attach_to = null_mut();
    if let Some(idx) = req.carpdev {
        // SAFETY: RTNL held; devices found in the namespace are live.
        unsafe {
            let want = sys::__dev_get_by_index(sys::carp_dev_net(dev), idx as c_int);
            if want.is_null() {
                set_err_msg(extack, c"carp: carpdev not found");
                return Err(ENODEV);
            }
            if lower.is_null() {
                check_lower(dev, want, extack)?;
                lower = want;
                attach_to = want;
            } else if want != lower {
                set_err_msg(
                    extack,
                    c"carp: the carpdev cannot be changed; delete and re-create the device",
                );
                return Err(Error::from_errno(-(kernel::bindings::EOPNOTSUPP as c_int)));
            }
        }
    }
    // A vhid may be used by only one carp device on a lower device.
    if let Some(nodes) = new.nodes {
        // SAFETY: RTNL held; `lower` is null or live.
        if unsafe { vhid_clash(cd, lower, &nodes) } {
            let attr = if req.upd.carpnodes.is_some() {
                ConfigAttr::Carpnodes
            } else {
                ConfigAttr::Vhid
            };
            set_err_msg_attr(
                extack,
                c"carp: vhid already used on this carpdev",
                attr_of(attr),
            );
            return Err(EEXIST);
        }
    }
    if !attach_to.is_null() {
        // SAFETY: RTNL held; checked above. The last step that can fail.
        unsafe { attach(dev, attach_to, extack)? };
    }
    if new != old {
        let t = now();
        cd.with_core(|carp, _addrs, mut sink| carp.set_config(t, new, &mut sink));
        // SAFETY: RTNL held.
        unsafe { set_mac(cd, &new) };
    }
    if let Some(s) = force {
        let t = now();
        cd.with_core(|carp, addrs, mut sink| carp.force_state(t, s, addrs, &mut sink));
    }
    Ok(())
}

/// Validates and applies IFLA_CARP_* attributes: all or nothing.
///
/// # Safety
///
/// RTNL held; `dev` is an initialised carp device; `data` as in
/// [`parse_update`].
unsafe fn apply_config(
    dev: *mut sys::net_device,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> Result {
    let mut pairs = [(0u32, 0u32); carp_balance::MAX_NODES];
    // SAFETY: forwarded.
    let req = match unsafe { parse_update(data, &mut pairs) } {
        Ok(r) => r,
        Err(msg) => {
            set_err_msg(extack, msg);
            return Err(EINVAL);
        }
    };
    let attr_of = |a: ConfigAttr| -> *const sys::nlattr {
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
            ConfigAttr::State => sys::IFLA_CARP_STATE,
            ConfigAttr::Carpnodes => sys::IFLA_CARP_CARPNODES,
        };
        // SAFETY: `data` has IFLA_CARP_MAX + 1 entries (caller).
        unsafe { *data.add(i as usize) }
    };
    // SAFETY: forwarded.
    unsafe { apply_request(dev, &req, extack, attr_of) }
}

/// Gives the device its virtual MAC address.
///
/// # Safety
///
/// RTNL held.
unsafe fn set_mac(cd: &CarpDev, cfg: &Config) {
    let Some(nodes) = cfg.nodes else {
        return;
    };
    let mac = carp_balance::shared_mac(cfg.balancing, nodes.leader().vhid);
    // SAFETY: RTNL held; the device is live.
    unsafe {
        let dev = cd.dev;
        let cur = core::slice::from_raw_parts((*dev).dev_addr, 6);
        if cur == mac {
            return;
        }
        let lower = cd.lower();
        let up = !lower.is_null() && (*dev).flags & sys::net_device_flags_IFF_UP != 0;
        if up {
            sys::dev_uc_del(lower, (*dev).dev_addr);
        }
        sys::carp_eth_hw_addr_set(dev, mac.as_ptr());
        if up {
            sys::dev_uc_add(lower, (*dev).dev_addr);
        }
        sys::call_netdevice_notifiers(sys::netdev_cmd_NETDEV_CHANGEADDR as c_ulong, dev);
    }
}

/// Whether `lower` can be the carpdev of the carp device `dev`; sets the
/// extack message if not.
///
/// # Safety
///
/// RTNL held; both devices live.
unsafe fn check_lower(
    dev: *mut sys::net_device,
    lower: *mut sys::net_device,
    extack: *mut sys::netlink_ext_ack,
) -> Result {
    // SAFETY: by the caller's guarantee.
    unsafe {
        if (*lower).type_ != sys::ARPHRD_ETHER as u16
            || (*lower).flags & sys::net_device_flags_IFF_LOOPBACK != 0
        {
            set_err_msg(extack, c"carp: the carpdev must be an Ethernet device");
            return Err(EINVAL);
        }
        if is_carp(lower) {
            set_err_msg(extack, c"carp: cannot stack a carp device on a carp device");
            return Err(EINVAL);
        }
        if sys::carp_dev_net(lower) != sys::carp_dev_net(dev) {
            set_err_msg(extack, c"carp: the carpdev must be in the same namespace");
            return Err(EINVAL);
        }
        if (*dev).mtu > (*lower).mtu {
            set_err_msg(extack, c"carp: MTU larger than the carpdev's");
            return Err(EINVAL);
        }
    }
    Ok(())
}

/// Whether another carp device on `lower` uses one of `nodes`' vhids.
///
/// # Safety
///
/// RTNL held; `lower` null or live.
unsafe fn vhid_clash(cd: &CarpDev, lower: *mut sys::net_device, nodes: &Carpnodes) -> bool {
    let mut clash = false;
    if lower.is_null() {
        return false;
    }
    // SAFETY: RTNL held; the port (if any) is valid.
    unsafe {
        if let Some(port) = Port::get(lower) {
            (*port).for_each(|other| {
                if !core::ptr::eq(other, cd) {
                    let o = *other.state.lock().carp.config();
                    clash = o.nodes.is_some_and(|on| on.overlap(nodes).is_some());
                }
                !clash
            });
        }
    }
    clash
}

/// Makes `lower` the carpdev of the registered carp device `dev`: joins
/// its port (registering the rx_handler), links it as upper device and
/// starts the device if it is up. Undoes everything on error.
///
/// # Safety
///
/// RTNL held; `dev` a registered carp device without carpdev; `lower`
/// passed [`check_lower`].
pub(crate) unsafe fn attach(
    dev: *mut sys::net_device,
    lower: *mut sys::net_device,
    extack: *mut sys::netlink_ext_ack,
) -> Result {
    // SAFETY: RTNL held; `lower` is live.
    let port = unsafe { Port::get_or_create(lower) }.inspect_err(|_| {
        set_err_msg(
            extack,
            c"carp: cannot attach to the carpdev (rx_handler busy?)",
        );
    })?;
    // SAFETY: RTNL held, both devices registered.
    if let Err(e) = to_result(unsafe { sys::netdev_upper_dev_link(lower, dev, extack) }) {
        // SAFETY: RTNL held; the port may have been created for us.
        unsafe { Port::release(port) };
        return Err(e);
    }
    // SAFETY: RTNL held; INVARIANT: `lower` is set once, under the state
    // lock, then the device joins the port's list. Written through the raw
    // pointer: receive paths may hold shared references.
    unsafe {
        let cdp = priv_of(dev);
        {
            let _st = (*cdp).state.lock();
            (*cdp).lower.store(lower, Ordering::Release);
        }
        (*cdp).port = port;
        (*port).count = (*port).count.saturating_add(1);
        sys::carp_list_add_tail_rcu(addr_of_mut!((*cdp).list), addr_of_mut!((*port).devs));
        let cd = &*cdp;
        carp_net(sys::carp_dev_net(dev)).device_added();
        (*dev).max_mtu = (*lower).max_mtu;
        if (*dev).flags & sys::net_device_flags_IFF_UP != 0 {
            // Best effort as in ndo_open; a failure leaves the virtual MAC
            // filtered on a non-promiscuous lower device.
            sys::dev_uc_add(lower, (*dev).dev_addr);
        }
        cd.update_link();
    }
    Ok(())
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
    from_result(|| {
        // SAFETY: rtnetlink passes `tb` with IFLA_MAX + 1 entries.
        let link = unsafe { *tb.add(sys::IFLA_LINK as usize) };
        let mut lower = null_mut();
        if !link.is_null() {
            // SAFETY: RTNL held; `link` is a validated u32 attribute.
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
                check_lower(dev, lower, extack)?;
            }
        }
        // SAFETY: `dev` is ours, not yet registered.
        unsafe { (*dev).min_mtu = sys::ETH_MIN_MTU };
        let mut seed = 0u64;
        // SAFETY: fills 8 bytes of `seed`.
        unsafe { sys::get_random_bytes(addr_of_mut!(seed).cast(), 8) };
        // SAFETY: `dev` is ours and not yet registered; its priv area is
        // zeroed and sized for a `CarpDev`. INVARIANT: initialised before
        // registration; no carpdev and no port yet.
        unsafe {
            let cd = priv_of(dev);
            addr_of_mut!((*cd).dev).write(dev);
            addr_of_mut!((*cd).lower).write(AtomicPtr::new(null_mut()));
            addr_of_mut!((*cd).port).write(null_mut());
            BhLock::init(
                addr_of_mut!((*cd).state),
                DevState {
                    carp: Carp::new(Config::default(), seed),
                    v4: KVec::new(),
                    v6: KVec::new(),
                    dead: false,
                    notify_peers: false,
                    want_addrs: false,
                    want_info: false,
                    carrier: false,
                },
            );
            sys::carp_hrtimer_init(addr_of_mut!((*cd).timer), Some(carp_timer));
            sys::carp_init_work(addr_of_mut!((*cd).work), Some(carp_work));
            (*dev).priv_destructor = Some(carp_destructor);
        }
        // SAFETY: RTNL held; initialised above. The vhid check needs the
        // carpdev, which comes after registration: check it here first.
        let r = unsafe { apply_config(dev, data, extack) }.and_then(|()| {
            // SAFETY: as above.
            let cd = unsafe { &*priv_of(dev) };
            let cfg = *cd.state.lock().carp.config();
            let clash = match cfg.nodes {
                // SAFETY: RTNL held; `lower` null or live.
                Some(n) => unsafe { vhid_clash(cd, lower, &n) },
                None => false,
            };
            if clash {
                set_err_msg(extack, c"carp: vhid already used on this carpdev");
                return Err(EEXIST);
            }
            Ok(())
        });
        if let Err(e) = r {
            // Not registered: free_netdev will not call the destructor.
            // SAFETY: nothing else saw the state.
            unsafe {
                (*dev).priv_destructor = None;
                BhLock::drop_data(addr_of_mut!((*priv_of(dev)).state));
            }
            return Err(e);
        }
        // SAFETY: RTNL held.
        if let Err(e) = to_result(unsafe { sys::register_netdevice(dev) }) {
            // SAFETY: the failed registration does not run the destructor.
            unsafe {
                (*dev).priv_destructor = None;
                BhLock::drop_data(addr_of_mut!((*priv_of(dev)).state));
            }
            return Err(e);
        }
        // SAFETY: RTNL held; `dev` registered.
        unsafe {
            let cd = &*priv_of(dev);
            set_mac(cd, cd.state.lock().carp.config());
            sys::netif_carrier_off(dev);
            sys::linkwatch_fire_event(dev);
            if !lower.is_null() {
                if let Err(e) = attach(dev, lower, extack) {
                    // `carp_uninit` sees no port; the destructor frees the
                    // state.
                    sys::unregister_netdevice_queue(dev, null_mut());
                    return Err(e);
                }
            }
        }
        Ok(0)
    })
}

/// `rtnl_link_ops.changelink`.
///
/// # Safety
///
/// Called by rtnetlink under RTNL with a carp device and validated
/// attributes.
unsafe extern "C" fn carp_changelink(
    dev: *mut sys::net_device,
    _tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: as documented.
    from_result(|| unsafe { apply_config(dev, data, extack) }.map(|()| 0))
}

/// `rtnl_link_ops.dellink`.
///
/// # Safety
///
/// Called by rtnetlink under RTNL with a carp device and a kill list.
unsafe extern "C" fn carp_dellink(dev: *mut sys::net_device, head: *mut sys::list_head) {
    // SAFETY: as documented; the teardown happens in `carp_uninit`.
    unsafe { sys::unregister_netdevice_queue(dev, head) };
}

/// `rtnl_link_ops.get_size`.
///
/// # Safety
///
/// Called by rtnetlink with a carp device.
unsafe extern "C" fn carp_get_size(_dev: *const sys::net_device) -> usize {
    // Seven u32 attributes, carpnodes and node states (64 + 32 bytes).
    let a = |payload: usize| (4 + payload + 3) & !3;
    7 * a(4) + a(64) + a(32)
}

/// `rtnl_link_ops.fill_info`: the configuration and state, never the pass.
///
/// # Safety
///
/// Called by rtnetlink with a carp device and a message being built.
unsafe extern "C" fn carp_fill_info(skb: *mut sys::sk_buff, dev: *const sys::net_device) -> c_int {
    // SAFETY: as documented.
    let cd = unsafe { &*priv_of(dev) };
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
    use core::ptr::addr_of;
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
        Ok(())
    })();
    match r {
        Ok(()) => 0,
        Err(_) => -(kernel::bindings::EMSGSIZE as c_int),
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

/// The "carp" link type and its work queue, registered while the module
/// is loaded.
pub(crate) struct LinkRegistration(());

impl LinkRegistration {
    /// Registers the link type.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: no device exists yet, nothing reads WQ concurrently.
        unsafe {
            let wq = sys::carp_alloc_wq();
            if wq.is_null() {
                return Err(ENOMEM);
            }
            *WQ.get() = wq;
        }
        // SAFETY: LINK_OPS is a static that outlives the registration.
        if let Err(e) = to_result(unsafe { sys::rtnl_link_register(LINK_OPS.get()) }) {
            // SAFETY: created above, unused.
            unsafe { sys::destroy_workqueue(*WQ.get()) };
            return Err(e);
        }
        Ok(Self(()))
    }
}

impl Drop for LinkRegistration {
    fn drop(&mut self) {
        // Deletes every carp device in every namespace, then the type; then
        // drains the work queue (queued work holds device references, so
        // unregistration already waited for it to run).
        // SAFETY: registered in `new`.
        unsafe {
            sys::rtnl_link_unregister(LINK_OPS.get());
            sys::destroy_workqueue(*WQ.get());
        }
    }
}

/// Calls `f` for every device of `net`.
///
/// # Safety
///
/// RTNL held.
unsafe fn each_netdev(net: *mut sys::net, mut f: impl FnMut(*mut sys::net_device)) {
    // SAFETY: RTNL protects the namespace's device list.
    unsafe {
        let head = addr_of_mut!((*net).dev_base_head);
        let mut pos = (*head).next;
        while pos != head {
            f(pos
                .byte_sub(core::mem::offset_of!(sys::net_device, dev_list))
                .cast::<sys::net_device>());
            pos = (*pos).next;
        }
    }
}

/// Calls `f` for every carp device of `net` (with or without a carpdev).
///
/// # Safety
///
/// RTNL held.
pub(crate) unsafe fn for_each_in_net(net: *mut sys::net, mut f: impl FnMut(&CarpDev)) {
    // SAFETY: RTNL held; carp devices' private data is a `CarpDev`.
    unsafe {
        each_netdev(net, |dev| {
            if is_carp(dev) {
                f(&*priv_of(dev));
            }
        })
    }
}

/// Lower device events: a lower device going away takes its carp devices
/// with it; link changes stop or restart them and demote the namespace's
/// group. Carrier coming up on a carp device sends the pending gratuitous
/// ARP / unsolicited NA.
///
/// # Safety
///
/// Called by the netdevice notifier chain under RTNL.
unsafe extern "C" fn carp_netdev_event(
    _nb: *mut sys::notifier_block,
    event: c_ulong,
    ptr: *mut c_void,
) -> c_int {
    // SAFETY: netdevice notifiers get a `netdev_notifier_info` and run under
    // RTNL.
    let dev = unsafe { sys::carp_notifier_info_to_dev(ptr) };
    // SAFETY: RTNL held, `dev` live for the duration of the notification.
    unsafe {
        if is_carp(dev) {
            let cd = &*priv_of(dev);
            if event == sys::netdev_cmd_NETDEV_CHANGE as c_ulong && !cd.port.is_null() {
                let peers = {
                    let mut st = cd.state.lock();
                    let p = st.notify_peers && st.carrier && sys::carp_netif_carrier_ok(dev);
                    if p {
                        st.notify_peers = false;
                    }
                    p
                };
                if peers {
                    sys::__netdev_notify_peers(dev);
                }
            }
            return sys::NOTIFY_DONE as c_int;
        }
    }
    // SAFETY: RTNL held, `dev` live for the duration of the notification.
    let Some(port) = (unsafe { Port::get(dev) }) else {
        return sys::NOTIFY_DONE as c_int;
    };
    if event == sys::netdev_cmd_NETDEV_UNREGISTER as c_ulong {
        let mut kill = sys::list_head::default();
        // SAFETY: `kill` is a local list head that does not move from here
        // on; RTNL held, so the port list is stable while we queue its
        // devices (queuing does not unlink them; `carp_uninit` does, inside
        // `unregister_netdevice_many`, and may free the port: it is not
        // touched after that).
        unsafe {
            sys::carp_init_list_head(&mut kill);
            (*port).for_each(|cd| {
                sys::unregister_netdevice_queue(cd.dev, &mut kill);
                true
            });
            sys::unregister_netdevice_many(&mut kill);
        }
    } else if event == sys::netdev_cmd_NETDEV_UP as c_ulong
        || event == sys::netdev_cmd_NETDEV_DOWN as c_ulong
        || event == sys::netdev_cmd_NETDEV_CHANGE as c_ulong
    {
        // SAFETY: RTNL held; the port and its devices are live.
        unsafe {
            (*port).for_each(|cd| {
                cd.update_link();
                true
            });
            crate::carp_net::update_demotion(sys::carp_dev_net(dev));
        }
    }
    sys::NOTIFY_DONE as c_int
}

/// Address events on carp devices: re-read the addresses (in the work,
/// since the IPv6 chain is atomic).
///
/// # Safety
///
/// Called by the inetaddr/inet6addr notifier chains.
unsafe extern "C" fn carp_addr_event(
    _nb: *mut sys::notifier_block,
    _event: c_ulong,
    ptr: *mut c_void,
    v6: bool,
) -> c_int {
    // SAFETY: the chains pass an `in_ifaddr` or `inet6_ifaddr` whose
    // device is live during the notification.
    unsafe {
        let dev = if v6 {
            (*(*ptr.cast::<sys::inet6_ifaddr>()).idev).dev
        } else {
            (*(*ptr.cast::<sys::in_ifaddr>()).ifa_dev).dev
        };
        if dev.is_null() || !is_carp(dev) {
            return sys::NOTIFY_DONE as c_int;
        }
        let cd = &*priv_of(dev);
        cd.state.lock().want_addrs = true;
        cd.queue_work();
    }
    sys::NOTIFY_DONE as c_int
}

/// # Safety
///
/// As [`carp_addr_event`].
unsafe extern "C" fn carp_inetaddr_event(
    nb: *mut sys::notifier_block,
    e: c_ulong,
    p: *mut c_void,
) -> c_int {
    // SAFETY: forwarded.
    unsafe { carp_addr_event(nb, e, p, false) }
}

/// # Safety
///
/// As [`carp_addr_event`].
unsafe extern "C" fn carp_inet6addr_event(
    nb: *mut sys::notifier_block,
    e: c_ulong,
    p: *mut c_void,
) -> c_int {
    // SAFETY: forwarded.
    unsafe { carp_addr_event(nb, e, p, true) }
}

/// The subnet of the first address added to a carp device without carpdev
/// picks the carpdev: the one interface of the namespace with an address in
/// that subnet (by that interface's prefix, as OpenBSD does). None or
/// several is an error, and the address is not added.
///
/// # Safety
///
/// RTNL held (validators run in the netlink request's context); `dev` live.
unsafe fn find_carpdev(
    dev: *mut sys::net_device,
    v4: Option<[u8; 4]>,
    v6: Option<[u8; 16]>,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: by the caller's guarantee.
    unsafe {
        if !is_carp(dev) || !(*priv_of(dev)).lower().is_null() {
            return sys::NOTIFY_DONE as c_int;
        }
        let mut found = null_mut();
        let mut count = 0;
        each_netdev(sys::carp_dev_net(dev), |other| {
            if is_carp(other)
                || (*other).type_ != sys::ARPHRD_ETHER as u16
                || (*other).flags & sys::net_device_flags_IFF_LOOPBACK != 0
            {
                return;
            }
            let mut v4s = KVec::new();
            let mut v6s = KVec::new();
            let mut matches = false;
            crate::carp_rx::collect_prefixes(other, &mut v4s, &mut v6s);
            if let Some(a) = v4 {
                matches |= v4s.iter().any(|&(p, len)| same_prefix(&a, &p, len));
            }
            if let Some(a) = v6 {
                matches |= v6s.iter().any(|&(p, len)| same_prefix(&a, &p, len));
            }
            if matches {
                found = other;
                count += 1;
            }
        });
        let r = match count {
            0 => {
                set_err_msg(
                    extack,
                    c"carp: no carpdev given and no interface has an address in this subnet (carpctl DEV carpdev IF)",
                );
                Err(ENODEV)
            }
            1 => attach(dev, found, extack),
            _ => {
                set_err_msg(
                    extack,
                    c"carp: several interfaces have an address in this subnet: give the carpdev (carpctl DEV carpdev IF)",
                );
                Err(EINVAL)
            }
        };
        match r {
            Ok(()) => sys::NOTIFY_OK as c_int,
            // notifier_from_errno()
            Err(e) => (sys::NOTIFY_STOP_MASK as c_int) | (sys::NOTIFY_OK as c_int - e.to_errno()),
        }
    }
}

/// Whether `a` and `b` share their first `len` bits.
fn same_prefix(a: &[u8], b: &[u8], len: u8) -> bool {
    let len = usize::from(len);
    if len == 0 || len > a.len() * 8 {
        return false;
    }
    let (full, rest) = (len / 8, len % 8);
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    matches!((a.get(full), b.get(full)), (Some(x), Some(y)) if x & mask == y & mask)
}

/// `inetaddr_validator_chain`: an IPv4 address is being added.
///
/// # Safety
///
/// Called by the chain under RTNL with an `in_validator_info`.
unsafe extern "C" fn carp_inetaddr_validate(
    _nb: *mut sys::notifier_block,
    event: c_ulong,
    ptr: *mut c_void,
) -> c_int {
    if event != sys::netdev_cmd_NETDEV_UP as c_ulong {
        return sys::NOTIFY_DONE as c_int;
    }
    // SAFETY: as documented; the in_device and its device are live.
    unsafe {
        let ivi = ptr.cast::<sys::in_validator_info>();
        let dev = (*(*ivi).ivi_dev).dev;
        find_carpdev(
            dev,
            Some((*ivi).ivi_addr.to_ne_bytes()),
            None,
            (*ivi).extack,
        )
    }
}

/// `inet6addr_validator_chain`: an IPv6 address is being added.
///
/// # Safety
///
/// Called by the chain under RTNL with an `in6_validator_info`.
unsafe extern "C" fn carp_inet6addr_validate(
    _nb: *mut sys::notifier_block,
    event: c_ulong,
    ptr: *mut c_void,
) -> c_int {
    if event != sys::netdev_cmd_NETDEV_UP as c_ulong {
        return sys::NOTIFY_DONE as c_int;
    }
    // SAFETY: as documented.
    unsafe {
        let i6vi = ptr.cast::<sys::in6_validator_info>();
        let dev = (*(*i6vi).i6vi_dev).dev;
        let a = (*i6vi).i6vi_addr.in6_u.u6_addr8;
        // Link-local addresses are per host; they pick no carpdev.
        if a[0] == 0xfe && (a[1] & 0xc0) == 0x80 {
            return sys::NOTIFY_DONE as c_int;
        }
        find_carpdev(dev, None, Some(a), (*i6vi).extack)
    }
}

/// A notifier block calling `f`.
const fn notifier(
    f: unsafe extern "C" fn(*mut sys::notifier_block, c_ulong, *mut c_void) -> c_int,
) -> KStatic<sys::notifier_block> {
    KStatic::new(sys::notifier_block {
        notifier_call: Some(f),
        // SAFETY: all-zero is a valid `notifier_block`.
        ..unsafe { core::mem::zeroed() }
    })
}

static NOTIFIER: KStatic<sys::notifier_block> = notifier(carp_netdev_event);
static INETADDR_NOTIFIER: KStatic<sys::notifier_block> = notifier(carp_inetaddr_event);
static INET6ADDR_NOTIFIER: KStatic<sys::notifier_block> = notifier(carp_inet6addr_event);
static INETADDR_VALIDATOR: KStatic<sys::notifier_block> = notifier(carp_inetaddr_validate);
static INET6ADDR_VALIDATOR: KStatic<sys::notifier_block> = notifier(carp_inet6addr_validate);

/// A notifier chain's register and unregister functions.
type Chain = (
    unsafe extern "C" fn(*mut sys::notifier_block) -> c_int,
    unsafe extern "C" fn(*mut sys::notifier_block) -> c_int,
    &'static KStatic<sys::notifier_block>,
);

/// Every notifier carp registers, in registration order.
static CHAINS: [Chain; 5] = [
    (
        sys::register_netdevice_notifier,
        sys::unregister_netdevice_notifier,
        &NOTIFIER,
    ),
    (
        sys::register_inetaddr_notifier,
        sys::unregister_inetaddr_notifier,
        &INETADDR_NOTIFIER,
    ),
    (
        sys::register_inet6addr_notifier,
        sys::unregister_inet6addr_notifier,
        &INET6ADDR_NOTIFIER,
    ),
    (
        sys::register_inetaddr_validator_notifier,
        sys::unregister_inetaddr_validator_notifier,
        &INETADDR_VALIDATOR,
    ),
    (
        sys::register_inet6addr_validator_notifier,
        sys::unregister_inet6addr_validator_notifier,
        &INET6ADDR_VALIDATOR,
    ),
];

/// The netdevice and address notifiers, registered while the module is
/// loaded.
pub(crate) struct NotifierRegistration(());

impl NotifierRegistration {
    /// Registers the notifiers.
    pub(crate) fn new() -> Result<Self> {
        for (i, (register, _, block)) in CHAINS.iter().enumerate() {
            // SAFETY: the notifier blocks are statics that outlive the
            // registrations, undone in reverse on error and in `Drop`.
            if let Err(e) = to_result(unsafe { register(block.get()) }) {
                for (_, unregister, block) in CHAINS.iter().take(i).rev() {
                    // SAFETY: registered above.
                    unsafe { unregister(block.get()) };
                }
                return Err(e);
            }
        }
        Ok(Self(()))
    }
}

impl Drop for NotifierRegistration {
    fn drop(&mut self) {
        for (_, unregister, block) in CHAINS.iter().rev() {
            // SAFETY: registered in `new`.
            unsafe { unregister(block.get()) };
        }
    }
}
