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
//! Creating, deleting and linking devices, and every change to a port's
//! list, happen under RTNL. The receive path walks the list under RCU; a
//! device is unlinked with `list_del_rcu` in `ndo_uninit` and freed after the
//! RCU grace period that unregistration waits for. A port is freed after
//! `netdev_rx_handler_unregister`, which waits for in-flight receivers.

use crate::carp_net::carp_net;
use crate::carp_sys as sys;
use crate::carp_util::{set_err_msg, KStatic};
use core::ffi::{c_int, c_ulong, c_void};
use core::mem::size_of;
use core::ptr::{addr_of_mut, null_mut};
use kernel::error::{from_result, to_result};
use kernel::prelude::*;

/// The carp devices stacked on one lower device.
///
/// # Invariants
///
/// `devs` is a list of [`CarpDev::list`] entries, modified only under RTNL
/// (RCU readers may walk it). The port is the lower device's
/// `rx_handler_data` from [`Port::get_or_create`] until [`Port::release`].
struct Port {
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
        if unsafe { sys::carp_rx_handler_is(lower, Some(carp_handle_frame)) } {
            // SAFETY: as above; our handler means our data is a `Port`.
            Some(unsafe { sys::carp_rx_handler_data_rtnl(lower) }.cast())
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
        let err =
            unsafe { sys::netdev_rx_handler_register(lower, Some(carp_handle_frame), port.cast()) };
        if let Err(e) = to_result(err) {
            // SAFETY: registration failed, so nobody else saw `port`.
            drop(unsafe { KBox::from_raw(port) });
            return Err(e);
        }
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
            // Waits for receivers still using the port (synchronize_net).
            sys::netdev_rx_handler_unregister((*port).lower);
            drop(KBox::from_raw(port));
        }
    }
}

/// A carp device's private data (`netdev_priv`).
///
/// # Invariants
///
/// `port` is null until the device is registered and linked, then points at
/// the port of `lower` and `list` is on that port's list until
/// `carp_uninit`.
#[repr(C)]
pub(crate) struct CarpDev {
    dev: *mut sys::net_device,
    lower: *mut sys::net_device,
    port: *mut Port,
    list: sys::list_head,
}

/// `netdev_priv` as a [`CarpDev`].
///
/// # Safety
///
/// `dev` must be a carp device (created with [`LINK_OPS`]).
unsafe fn priv_of(dev: *const sys::net_device) -> *mut CarpDev {
    // SAFETY: carp devices are allocated with `priv_size` of a `CarpDev`.
    unsafe { sys::carp_netdev_priv(dev) }.cast()
}

/// The lower device's rx_handler.
///
/// # Safety
///
/// Called by the core receive path under RCU with a valid `*pskb` whose
/// device's rx_handler_data is our [`Port`].
unsafe extern "C" fn carp_handle_frame(_pskb: *mut *mut sys::sk_buff) -> sys::rx_handler_result_t {
    // Frames for the carp devices are claimed here with the receive path;
    // everything else continues on the lower device.
    sys::rx_handler_result_RX_HANDLER_PASS
}

/// `ndo_open`.
///
/// # Safety
///
/// Called by the kernel under RTNL with a registered carp device.
unsafe extern "C" fn carp_open(dev: *mut sys::net_device) -> c_int {
    // A carp device starts in INIT: carrier down until it becomes MASTER.
    // SAFETY: the core calls ndo_open with a live device under RTNL.
    unsafe { sys::netif_carrier_off(dev) };
    0
}

/// `ndo_stop`.
///
/// # Safety
///
/// Called by the kernel under RTNL with a registered carp device.
unsafe extern "C" fn carp_stop(dev: *mut sys::net_device) -> c_int {
    // SAFETY: as in `carp_open`.
    unsafe { sys::netif_carrier_off(dev) };
    0
}

/// `ndo_start_xmit`.
///
/// # Safety
///
/// Called by the kernel with a registered carp device and an skb it hands
/// over to us.
unsafe extern "C" fn carp_start_xmit(
    skb: *mut sys::sk_buff,
    dev: *mut sys::net_device,
) -> sys::netdev_tx_t {
    // SAFETY: ndo_start_xmit gets a live carp device and owns `skb`; the
    // lower device outlives the carp device (it is unregistered first).
    unsafe {
        let cd = priv_of(dev);
        (*skb)
            .__bindgen_anon_1
            .__bindgen_anon_1
            .__bindgen_anon_1
            .dev = (*cd).lower;
        sys::__dev_queue_xmit(skb, null_mut());
    }
    sys::netdev_tx_NETDEV_TX_OK
}

/// `ndo_uninit`: undoes what `carp_newlink` linked.
///
/// # Safety
///
/// Called by the kernel under RTNL while unregistering a carp device.
unsafe extern "C" fn carp_uninit(dev: *mut sys::net_device) {
    // SAFETY: ndo_uninit runs under RTNL during unregistration of a carp
    // device; by the `CarpDev` invariant a non-null port means linked.
    unsafe {
        let cd = priv_of(dev);
        let port = (*cd).port;
        if port.is_null() {
            return;
        }
        sys::carp_list_del_rcu(addr_of_mut!((*cd).list));
        sys::netdev_upper_dev_unlink((*cd).lower, dev);
        (*cd).port = null_mut();
        (*port).count = (*port).count.saturating_sub(1);
        Port::release(port);
        carp_net(sys::carp_dev_net(dev)).device_removed();
    }
}

/// `ndo_get_iflink`: the lower device (`ip link` shows `carp0@eth0`).
///
/// # Safety
///
/// Called by the kernel with a registered carp device.
unsafe extern "C" fn carp_get_iflink(dev: *const sys::net_device) -> c_int {
    // SAFETY: `dev` is a carp device; `lower` is set before registration
    // and outlives it.
    unsafe { (*(*priv_of(dev)).lower).ifindex }
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
    // SAFETY: called by rtnl_create_link on a freshly allocated device.
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

/// `rtnl_link_ops.newlink`: attaches a new carp device to its lower device.
///
/// # Safety
///
/// Called by rtnetlink under RTNL with `tb` holding `IFLA_MAX + 1`
/// validated attributes and `dev` allocated by [`carp_setup`].
unsafe extern "C" fn carp_newlink(
    src_net: *mut sys::net,
    dev: *mut sys::net_device,
    tb: *mut *mut sys::nlattr,
    _data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    from_result(|| {
        // SAFETY: rtnetlink passes `tb` with IFLA_MAX + 1 entries.
        let link = unsafe { *tb.add(sys::IFLA_LINK as usize) };
        if link.is_null() {
            set_err_msg(
                extack,
                c"carp: a lower device is required (ip link add NAME link DEV type carp)",
            );
            return Err(EINVAL);
        }
        // SAFETY: RTNL held; `link` is a validated u32 attribute.
        let lower = unsafe { sys::__dev_get_by_index(src_net, sys::carp_nla_get_u32(link) as i32) };
        if lower.is_null() {
            set_err_msg(extack, c"carp: lower device not found");
            return Err(ENODEV);
        }
        // SAFETY: `lower` is live under RTNL.
        unsafe {
            if (*lower).type_ != sys::ARPHRD_ETHER as u16
                || (*lower).flags & sys::net_device_flags_IFF_LOOPBACK != 0
            {
                set_err_msg(extack, c"carp: the lower device must be an Ethernet device");
                return Err(EINVAL);
            }
            if core::ptr::eq((*lower).netdev_ops, &NETDEV_OPS) {
                set_err_msg(extack, c"carp: cannot stack a carp device on a carp device");
                return Err(EINVAL);
            }
            if sys::carp_dev_net(lower) != sys::carp_dev_net(dev) {
                set_err_msg(
                    extack,
                    c"carp: the lower device must be in the same namespace",
                );
                return Err(EINVAL);
            }
            if !(*tb.add(sys::IFLA_MTU as usize)).is_null() {
                if (*dev).mtu > (*lower).mtu {
                    set_err_msg(extack, c"carp: MTU larger than the lower device's");
                    return Err(EINVAL);
                }
            } else {
                (*dev).mtu = (*lower).mtu;
            }
            (*dev).min_mtu = sys::ETH_MIN_MTU;
            (*dev).max_mtu = (*lower).max_mtu;
        }
        // SAFETY: RTNL held; `lower` is live.
        let port = unsafe { Port::get_or_create(lower) }.inspect_err(|_| {
            set_err_msg(
                extack,
                c"carp: cannot attach to the lower device (rx_handler busy?)",
            );
        })?;
        // SAFETY: `dev` is ours and not yet registered; its priv area is
        // zeroed and sized for a `CarpDev`.
        let cd = unsafe { priv_of(dev) };
        // SAFETY: as above; INVARIANT: port stays null until linked.
        unsafe {
            cd.write(CarpDev {
                dev,
                lower,
                port: null_mut(),
                list: sys::list_head::default(),
            })
        };
        // SAFETY: RTNL held.
        if let Err(e) = to_result(unsafe { sys::register_netdevice(dev) }) {
            // SAFETY: RTNL held; the port may have been created for us.
            unsafe { Port::release(port) };
            return Err(e);
        }
        // SAFETY: RTNL held, both devices registered.
        if let Err(e) = to_result(unsafe { sys::netdev_upper_dev_link(lower, dev, extack) }) {
            // SAFETY: RTNL held; `dev` is registered and not yet linked, so
            // `carp_uninit` sees a null port and does nothing.
            unsafe {
                sys::unregister_netdevice_queue(dev, null_mut());
                Port::release(port);
            }
            return Err(e);
        }
        // SAFETY: RTNL held; INVARIANT: linked, so set the port and add the
        // device to the port's list.
        unsafe {
            (*cd).port = port;
            (*port).count = (*port).count.saturating_add(1);
            sys::carp_list_add_tail_rcu(addr_of_mut!((*cd).list), addr_of_mut!((*port).devs));
            carp_net(sys::carp_dev_net(dev)).device_added();
            sys::netif_stacked_transfer_operstate(lower, dev);
            sys::linkwatch_fire_event(dev);
        }
        Ok(0)
    })
}

/// `rtnl_link_ops.dellink`.
///
/// # Safety
///
/// Called by rtnetlink under RTNL with a carp device and a kill list.
unsafe extern "C" fn carp_dellink(dev: *mut sys::net_device, head: *mut sys::list_head) {
    // SAFETY: rtnetlink calls dellink under RTNL with a carp device; the
    // actual teardown happens in `carp_uninit`.
    unsafe { sys::unregister_netdevice_queue(dev, head) };
}

/// The "carp" link type.
static LINK_OPS: KStatic<sys::rtnl_link_ops> = KStatic::new(sys::rtnl_link_ops {
    kind: c"carp".as_ptr(),
    priv_size: size_of::<CarpDev>(),
    setup: Some(carp_setup),
    newlink: Some(carp_newlink),
    dellink: Some(carp_dellink),
    maxtype: sys::IFLA_CARP_MAX,
    // SAFETY: all-zero is a valid `rtnl_link_ops` (null pointers, None).
    ..unsafe { core::mem::zeroed() }
});

/// The "carp" link type, registered while the module is loaded.
pub(crate) struct LinkRegistration(());

impl LinkRegistration {
    /// Registers the link type.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: LINK_OPS is a static that outlives the registration.
        to_result(unsafe { sys::rtnl_link_register(LINK_OPS.get()) })?;
        Ok(Self(()))
    }
}

impl Drop for LinkRegistration {
    fn drop(&mut self) {
        // Deletes every carp device in every namespace, then the type.
        // SAFETY: registered in `new`.
        unsafe { sys::rtnl_link_unregister(LINK_OPS.get()) };
    }
}

/// Lower device events: a lower device going away takes its carp devices
/// with it.
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
            let head = addr_of_mut!((*port).devs);
            let mut pos = (*head).next;
            while pos != head {
                let cd = pos
                    .byte_sub(core::mem::offset_of!(CarpDev, list))
                    .cast::<CarpDev>();
                sys::unregister_netdevice_queue((*cd).dev, &mut kill);
                pos = (*pos).next;
            }
            sys::unregister_netdevice_many(&mut kill);
        }
    }
    sys::NOTIFY_DONE as c_int
}

static NOTIFIER: KStatic<sys::notifier_block> = KStatic::new(sys::notifier_block {
    notifier_call: Some(carp_netdev_event),
    // SAFETY: all-zero is a valid `notifier_block`.
    ..unsafe { core::mem::zeroed() }
});

/// The netdevice notifier, registered while the module is loaded.
pub(crate) struct NotifierRegistration(());

impl NotifierRegistration {
    /// Registers the notifier.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: NOTIFIER is a static that outlives the registration.
        to_result(unsafe { sys::register_netdevice_notifier(NOTIFIER.get()) })?;
        Ok(Self(()))
    }
}

impl Drop for NotifierRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in `new`.
        unsafe { sys::unregister_netdevice_notifier(NOTIFIER.get()) };
    }
}
