// SPDX-License-Identifier: GPL-2.0

//! Notifier chains: what other devices and address changes mean for carp.
//!
//! - netdevice events: a carpdev going away takes its carp devices with it;
//!   its link going down or up stops or restarts them and changes the
//!   group demotion; a carp device whose carrier came up sends the pending
//!   gratuitous ARP / unsolicited NA.
//! - inetaddr / inet6addr events on carp devices: the work re-reads their
//!   addresses (the IPv6 chain is atomic).
//! - inetaddr / inet6addr validators: the first address added to a carp
//!   device without carpdev picks its carpdev, the one interface with an
//!   address in that subnet; an address in another interface's subnet than
//!   the carpdev's is refused, as OpenBSD does.

use crate::carp_addr::{in_subnet, is_v6_linklocal};
use crate::carp_dev::{carp_dev, is_carp, CarpDev};
use crate::carp_port::{attach, lower_gone, update_demotion, Port};
use crate::carp_sys as sys;
use crate::carp_util::{eaddrnotavail, set_err_msg, KStatic, Rtnl};
use core::ffi::{c_int, c_ulong, c_void};
use core::ptr::null_mut;
use kernel::error::to_result;
use kernel::prelude::*;

/// `notifier_from_errno()`.
fn notifier_from_errno(e: Error) -> c_int {
    (sys::NOTIFY_STOP_MASK as c_int) | (sys::NOTIFY_OK as c_int - e.to_errno())
}

/// Netdevice events.
///
/// # Safety
///
/// Called by the netdevice notifier chain under RTNL.
unsafe extern "C" fn carp_netdev_event(
    _nb: *mut sys::notifier_block,
    event: c_ulong,
    ptr: *mut c_void,
) -> c_int {
    // SAFETY: netdevice notifiers run under RTNL with a live device.
    let (rtnl, dev) = unsafe { (Rtnl::assume(), sys::carp_notifier_info_to_dev(ptr)) };
    let event = event as u32;
    // SAFETY: `dev` is live for the duration of the notification.
    if unsafe { is_carp(dev) } {
        if event == sys::netdev_cmd_NETDEV_CHANGE {
            // SAFETY: a registered carp device.
            let cd = unsafe { carp_dev(dev) };
            // SAFETY: `dev` is live.
            let carrier = unsafe { sys::carp_netif_carrier_ok(dev) };
            let peers = {
                let mut st = cd.state.lock();
                let p = st.notify_peers && st.carrier && carrier;
                if p {
                    st.notify_peers = false;
                }
                p
            };
            if peers {
                // SAFETY: RTNL held.
                unsafe { sys::__netdev_notify_peers(dev) };
            }
        }
        return sys::NOTIFY_DONE as c_int;
    }
    // SAFETY: `dev` is live.
    let Some(port) = (unsafe { Port::get(&rtnl, dev) }) else {
        return sys::NOTIFY_DONE as c_int;
    };
    match event {
        sys::netdev_cmd_NETDEV_UNREGISTER => {
            // SAFETY: `dev` is live in its own notification.
            unsafe { lower_gone(&rtnl, dev) };
        }
        sys::netdev_cmd_NETDEV_GOING_DOWN => {
            // The carpdev is being closed but can still send: MASTERs bow
            // out now, so the backups need not wait for the master-down
            // interval (NETDEV_DOWN then stops the devices). A carpdev
            // that loses its carrier cannot carry one.
            port.for_each(&rtnl, |cd| {
                cd.bow_out(&rtnl);
                true
            });
        }
        sys::netdev_cmd_NETDEV_CHANGEMTU => {
            // SAFETY: `dev` is live and the port's device.
            unsafe { port.refresh_groups(&rtnl, dev) };
            port.for_each(&rtnl, |cd| {
                cd.lower_mtu_changed(&rtnl);
                true
            });
        }
        sys::netdev_cmd_NETDEV_UP | sys::netdev_cmd_NETDEV_DOWN | sys::netdev_cmd_NETDEV_CHANGE => {
            if event == sys::netdev_cmd_NETDEV_UP {
                // SAFETY: `dev` is live and the port's device.
                unsafe { port.refresh_groups(&rtnl, dev) };
            }
            port.for_each(&rtnl, |cd| {
                cd.update_link(&rtnl);
                true
            });
            // SAFETY: `dev`'s namespace is live.
            unsafe { update_demotion(&rtnl, sys::carp_dev_net(dev)) };
        }
        _ => {}
    }
    sys::NOTIFY_DONE as c_int
}

/// Address events on carp devices: re-read the addresses in the work.
///
/// # Safety
///
/// Called by the inetaddr/inet6addr notifier chains with a live device.
unsafe fn addr_event(dev: *mut sys::net_device) -> c_int {
    // SAFETY: by the caller's guarantee.
    if !dev.is_null() && unsafe { is_carp(dev) } {
        // SAFETY: a registered carp device.
        unsafe { carp_dev(dev) }.request_work(|st| st.want_addrs = true);
    }
    sys::NOTIFY_DONE as c_int
}

/// # Safety
///
/// Called by the inetaddr notifier chain with an `in_ifaddr`.
unsafe extern "C" fn carp_inetaddr_event(
    _nb: *mut sys::notifier_block,
    _e: c_ulong,
    p: *mut c_void,
) -> c_int {
    // SAFETY: the chain passes an `in_ifaddr` of a live device.
    unsafe { addr_event((*(*p.cast::<sys::in_ifaddr>()).ifa_dev).dev) }
}

/// # Safety
///
/// Called by the inet6addr notifier chain with an `inet6_ifaddr`.
unsafe extern "C" fn carp_inet6addr_event(
    _nb: *mut sys::notifier_block,
    _e: c_ulong,
    p: *mut c_void,
) -> c_int {
    // SAFETY: the chain passes an `inet6_ifaddr` of a live device.
    unsafe { addr_event((*(*p.cast::<sys::inet6_ifaddr>()).idev).dev) }
}

/// The subnet of an address added to a carp device, as OpenBSD's
/// `carp_set_addr` reads it (by the other interfaces' prefixes):
/// - without carpdev, it picks the carpdev: the one interface of the
///   namespace with an address in that subnet. None or several is an
///   error, and the address is not added; the chosen interface gets the
///   checks of an explicit carpdev.
/// - with a carpdev, an address in the subnet of another interface but not
///   of the carpdev is refused (`EADDRNOTAVAIL`): its traffic would arrive
///   on the other interface, where this carp device does not listen.
///   Moving the carpdev is an explicit act (carpctl or `IFLA_LINK`), never
///   a side effect of an address. An address in no interface's subnet is
///   accepted, as OpenBSD does.
///
/// # Safety
///
/// Validators run under RTNL; `dev` is live.
unsafe fn check_subnet(
    dev: *mut sys::net_device,
    v4: Option<[u8; 4]>,
    v6: Option<[u8; 16]>,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: by the caller's guarantee.
    let rtnl = unsafe { Rtnl::assume() };
    // SAFETY: `dev` is live.
    if !unsafe { is_carp(dev) } {
        return sys::NOTIFY_DONE as c_int;
    }
    // SAFETY: a registered carp device.
    let cd: &CarpDev = unsafe { carp_dev(dev) };
    let lower = cd.lower();
    let mut found = null_mut();
    let mut count = 0;
    let mut in_lower = false;
    // SAFETY: RTNL protects the namespace's device list.
    unsafe {
        let net = sys::carp_dev_net(dev);
        let head = core::ptr::addr_of_mut!((*net).dev_base_head);
        let mut pos = (*head).next;
        while pos != head {
            let other = pos
                .byte_sub(core::mem::offset_of!(sys::net_device, dev_list))
                .cast::<sys::net_device>();
            pos = (*pos).next;
            if is_carp(other)
                || (*other).type_ != sys::ARPHRD_ETHER as u16
                || (*other).flags & sys::net_device_flags_IFF_LOOPBACK != 0
            {
                continue;
            }
            if !in_subnet(&rtnl, other, v4, v6) {
                continue;
            }
            if other == lower {
                in_lower = true;
            } else {
                found = other;
                count += 1;
            }
        }
    }
    if !lower.is_null() {
        if in_lower || count == 0 {
            return sys::NOTIFY_DONE as c_int;
        }
        set_err_msg(
            extack,
            c"carp: the address is in another interface's subnet, not the carpdev's: change the carpdev first (carpctl DEV carpdev IF)",
        );
        return notifier_from_errno(eaddrnotavail());
    }
    let r = match count {
        0 => {
            set_err_msg(
                extack,
                c"carp: no carpdev given and no interface has an address in this subnet (carpctl DEV carpdev IF)",
            );
            Err(ENODEV)
        }
        // SAFETY: `found` is live; `cd` has no carpdev.
        1 => unsafe { attach(&rtnl, cd, found, extack) },
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
        Err(e) => notifier_from_errno(e),
    }
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
        check_subnet(
            (*(*ivi).ivi_dev).dev,
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
        let a = (*i6vi).i6vi_addr.in6_u.u6_addr8;
        // Link-local addresses are per host; they pick no carpdev.
        if is_v6_linklocal(&a) {
            return sys::NOTIFY_DONE as c_int;
        }
        check_subnet((*(*i6vi).i6vi_dev).dev, None, Some(a), (*i6vi).extack)
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

static NETDEV: KStatic<sys::notifier_block> = notifier(carp_netdev_event);
static INETADDR: KStatic<sys::notifier_block> = notifier(carp_inetaddr_event);
static INET6ADDR: KStatic<sys::notifier_block> = notifier(carp_inet6addr_event);
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
        &NETDEV,
    ),
    (
        sys::register_inetaddr_notifier,
        sys::unregister_inetaddr_notifier,
        &INETADDR,
    ),
    (
        sys::register_inet6addr_notifier,
        sys::unregister_inet6addr_notifier,
        &INET6ADDR,
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

/// The notifiers, registered while the module is loaded.
pub(crate) struct Registration(());

impl Registration {
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

impl Drop for Registration {
    fn drop(&mut self) {
        for (_, unregister, block) in CHAINS.iter().rev() {
            // SAFETY: registered in `new`.
            unsafe { unregister(block.get()) };
        }
    }
}
