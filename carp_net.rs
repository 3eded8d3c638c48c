// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: settings (`net.inet.carp.*`), statistics,
//! the group demotion counter, and logging by the namespace's log level.
//!
//! The state lives in the namespace's `net_generic` area, created by `init`
//! when the namespace is created (or the module loaded) and dropped by
//! `exit` after all of the namespace's devices are gone.

use crate::carp_proto::{log, Reason, RxError, Stat, State, NSTATS};
use crate::carp_sys as sys;
use crate::carp_util::{dev_name, KStatic};
use core::ffi::{c_int, c_uint, CStr};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use kernel::error::to_result;
use kernel::prelude::*;

/// carp's state in one network namespace.
///
/// # Invariants
///
/// Lives in the namespace's `net_generic` slot from `carp_net_init` until
/// `carp_net_exit`.
pub(crate) struct CarpNet {
    /// Number of carp devices in the namespace.
    pub(crate) devices: AtomicU32,
    /// `net.inet.carp.allow`: accept advertisements.
    pub(crate) allow: AtomicBool,
    /// `net.inet.carp.preempt`.
    pub(crate) preempt: AtomicBool,
    /// `net.inet.carp.log`: syslog priority up to which messages are logged.
    pub(crate) log: AtomicU8,
    /// The "carp" group demotion counter: carp devices whose carpdev is
    /// down.
    pub(crate) demote: AtomicU8,
    /// Statistics, indexed by [`Stat`].
    pub(crate) stats: [AtomicU64; NSTATS],
    /// The namespace's sysctl registration (written in pernet init/exit).
    pub(crate) sysctl: KStatic<crate::carp_sysctl::SysctlReg>,
}

static NET_ID: KStatic<c_uint> = KStatic::new(0);

static PERNET_OPS: KStatic<sys::pernet_operations> = KStatic::new(sys::pernet_operations {
    init: Some(carp_net_init),
    exit: Some(carp_net_exit),
    id: NET_ID.get(),
    size: core::mem::size_of::<CarpNet>(),
    // SAFETY: all-zero is a valid `pernet_operations` (null pointers, None).
    ..unsafe { core::mem::zeroed() }
});

/// `pernet_operations.init`.
///
/// # Safety
///
/// Called by the pernet core for a new namespace, with our slot allocated.
unsafe extern "C" fn carp_net_init(net: *mut sys::net) -> c_int {
    // SAFETY: the pernet core allocated `size` zeroed bytes for our id in
    // `net` before calling init, so the slot is valid and exclusively ours.
    let slot = unsafe { sys::carp_net_generic(net, *NET_ID.get()) }.cast::<CarpNet>();
    // SAFETY: `slot` is valid for writes and suitably aligned (net_generic
    // slots are kmalloc'ed); nothing was there to drop.
    unsafe {
        slot.write(CarpNet {
            devices: AtomicU32::new(0),
            allow: AtomicBool::new(true),
            preempt: AtomicBool::new(false),
            log: AtomicU8::new(log::CRIT),
            demote: AtomicU8::new(0),
            stats: [const { AtomicU64::new(0) }; NSTATS],
            sysctl: KStatic::new(crate::carp_sysctl::SysctlReg::empty()),
        })
    };
    // SAFETY: pernet init of `net`, its state is written.
    unsafe { crate::carp_sysctl::register(net) }
}

/// `pernet_operations.exit`.
///
/// # Safety
///
/// Called by the pernet core once for a namespace whose `init` succeeded.
unsafe extern "C" fn carp_net_exit(net: *mut sys::net) {
    // SAFETY: pernet exit of `net`, its state still there.
    unsafe { crate::carp_sysctl::unregister(net) };
    // SAFETY: `init` succeeded for `net`, so the slot holds a `CarpNet`; the
    // namespace is going away and nothing else uses it any more.
    unsafe {
        let slot = sys::carp_net_generic(net, *NET_ID.get()).cast::<CarpNet>();
        core::ptr::drop_in_place(slot);
    }
}

/// The carp state of `net`.
///
/// # Safety
///
/// `net` must be a live namespace and the module's pernet operations
/// registered (true while any carp device or callback exists).
pub(crate) unsafe fn carp_net<'a>(net: *const sys::net) -> &'a CarpNet {
    // SAFETY: by the caller's guarantee the slot was initialised by
    // `carp_net_init` and lives as long as the namespace.
    unsafe { &*sys::carp_net_generic(net, *NET_ID.get()).cast::<CarpNet>() }
}

impl CarpNet {
    /// Counts a device created in this namespace.
    pub(crate) fn device_added(&self) {
        self.devices.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a device removed from this namespace.
    pub(crate) fn device_removed(&self) {
        self.devices.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts `stat`.
    pub(crate) fn count(&self, stat: Stat) {
        if let Some(c) = self.stats.get(stat as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `net.inet.carp.allow`.
    pub(crate) fn allow(&self) -> bool {
        self.allow.load(Ordering::Relaxed)
    }

    /// `net.inet.carp.preempt`.
    pub(crate) fn preempt(&self) -> bool {
        self.preempt.load(Ordering::Relaxed)
    }

    /// Whether messages of syslog priority `level` are logged.
    pub(crate) fn logs(&self, level: u8) -> bool {
        level <= self.log.load(Ordering::Relaxed)
    }
}

/// Logs a state change (priority CRIT, WARNING for INIT), as carp(4).
pub(crate) fn log_state(
    dev: *const sys::net_device,
    name: &CStr,
    vhid: u8,
    old: State,
    new: State,
    reason: Reason,
) {
    let level = if old == State::Init || new == State::Init {
        log::WARNING
    } else {
        log::CRIT
    };
    // SAFETY: `dev` is live while its state changes.
    if !unsafe { carp_net(sys::carp_dev_net(dev)) }.logs(level) {
        return;
    }
    pr_notice!(
        "{}: state transition (vhid {}): {} -> {} ({})\n",
        name.to_str().unwrap_or("carp"),
        vhid,
        old.name(),
        new.name(),
        reason.name()
    );
}

/// Logs a dropped advertisement at its priority.
pub(crate) fn log_rx(dev: *const sys::net_device, e: RxError) {
    // SAFETY: `dev` is live while it receives.
    let net = unsafe { carp_net(sys::carp_dev_net(dev)) };
    if !net.logs(e.level()) || e == RxError::NotAllowed {
        return;
    }
    // SAFETY: as above.
    let name = unsafe { dev_name(dev) }.to_str().unwrap_or("carp");
    match e {
        RxError::BadTtl(t) => pr_notice!("carp: received ttl {} != 255 on {}\n", t, name),
        RxError::BadVer(v) => pr_notice!("{}: invalid version {} != 2\n", name, v),
        RxError::BadLen(l) => pr_info!("carp: packet too short {} on {}\n", l, name),
        RxError::Loop => pr_warn!("{}: replay or network loop detected\n", name),
        _ => pr_info!("{}: {}\n", name, e.message()),
    }
}

/// Recomputes the namespace's demotion counter (one per carp device whose
/// carpdev is down) and hands it to every carp device.
///
/// # Safety
///
/// RTNL held, `net` live.
pub(crate) unsafe fn update_demotion(net: *mut sys::net) {
    let mut down = 0u32;
    // SAFETY: RTNL held.
    unsafe {
        crate::carp_dev::for_each_in_net(net, |cd| {
            // A device still waiting for its carpdev does not demote.
            let l = cd.lower();
            let up = l.is_null() || (sys::carp_netif_running(l) && sys::carp_netif_carrier_ok(l));
            if !up {
                down = down.saturating_add(1);
            }
        })
    };
    let d = u8::try_from(down).unwrap_or(u8::MAX);
    // SAFETY: RTNL held, `net` live.
    let cn = unsafe { carp_net(net) };
    let old = cn.demote.swap(d, Ordering::Relaxed);
    if old == d {
        return;
    }
    if cn.logs(log::ERR) {
        pr_err!("carp: demoted group carp to {} (carpdev)\n", d);
    }
    let t = crate::carp_util::now();
    // SAFETY: RTNL held.
    unsafe {
        crate::carp_dev::for_each_in_net(net, |cd| {
            cd.with_core(|carp, addrs, mut sink| carp.set_demote(t, d, addrs, &mut sink));
        })
    };
}

/// The pernet operations, registered while the module is loaded.
pub(crate) struct Registration(());

impl Registration {
    /// Registers the per-netns state (runs `init` for every namespace).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: PERNET_OPS is a static that outlives the registration,
        // which `Drop` undoes.
        to_result(unsafe { sys::register_pernet_subsys(PERNET_OPS.get()) })?;
        Ok(Self(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered in `new`.
        unsafe { sys::unregister_pernet_subsys(PERNET_OPS.get()) };
    }
}
