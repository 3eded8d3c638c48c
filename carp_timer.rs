// SPDX-License-Identifier: GPL-2.0

//! What drives a carp device's engine over time: its hrtimer (the core's
//! advertisement and master-down timers, one hrtimer armed at the core's
//! earliest deadline) and its work item (what needs process context and
//! RTNL: re-reading addresses, gratuitous ARP / unsolicited NA, telling
//! userspace about state changes).

use crate::carp_dev::CarpDev;
use crate::carp_port::update_demotion;
use crate::carp_sys as sys;
use crate::carp_util::{now, Rtnl};
use core::ffi::c_ulong;

/// Initialises the timer and the work item of a new carp device.
///
/// # Safety
///
/// `cd` is the private data of an unregistered carp device, initialised by
/// [`CarpDev::init`]; called once, before registration.
pub(crate) unsafe fn init(cd: &CarpDev) {
    // SAFETY: by the caller's guarantee nobody else uses them yet.
    unsafe {
        sys::carp_hrtimer_init(cd.timer.get(), Some(carp_timer));
        sys::carp_init_work(cd.work.get(), Some(carp_work));
    }
}

/// The hrtimer: runs the core's expired timers.
///
/// # Safety
///
/// Called by the hrtimer core (softirq) for the `timer` field of a live
/// `CarpDev`; the timer is cancelled before the device is freed.
unsafe extern "C" fn carp_timer(timer: *mut sys::hrtimer) -> sys::hrtimer_restart {
    // SAFETY: as documented; `Opaque<T>` has `T`'s layout.
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

/// The device's work.
///
/// # Safety
///
/// Called by the workqueue for a work queued by `CarpDev::queue_work`,
/// which holds a device reference for it.
unsafe extern "C" fn carp_work(work: *mut sys::work_struct) {
    // SAFETY: the work is the `work` field of a `CarpDev` kept alive by the
    // reference taken when it was queued.
    let cd = unsafe {
        &*work
            .byte_sub(core::mem::offset_of!(CarpDev, work))
            .cast::<CarpDev>()
    };
    let dev = cd.dev;
    let mut order = cd.take_work();
    {
        let rtnl = Rtnl::lock();
        if !order.dead {
            if order.addrs {
                cd.resync_addrs(&rtnl);
            }
            if order.demote {
                // SAFETY: RTNL held; the device and its namespace are live.
                unsafe { update_demotion(&rtnl, sys::carp_dev_net(dev)) };
            }
            // SAFETY: RTNL held; the device is registered (not dead).
            unsafe {
                if order.peers {
                    sys::__netdev_notify_peers(dev);
                }
                if order.info {
                    sys::call_netdevice_notifiers(
                        sys::netdev_cmd_NETDEV_CHANGEINFODATA as c_ulong,
                        dev,
                    );
                }
            }
        }
    }
    // SAFETY: the reference taken when the work was queued; the device
    // (and `cd`) may go away after this: nothing touches it any more.
    unsafe { sys::carp_netdev_put(dev, &mut order.dev_ref) };
}
