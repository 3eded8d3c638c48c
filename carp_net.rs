// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: settings (`net.inet.carp.*`), statistics,
//! the group demotion counter, and logging by the namespace's log level.
//!
//! The state lives in the namespace's `net_generic` area, created by `init`
//! when the namespace is created (or the module loaded) and dropped by
//! `exit` after all of the namespace's devices are gone.
//!
//! Logging: a namespace owned by a non-initial user namespace belongs to
//! whoever created it (`unshare -Urn`), who may set its `log` sysctl and
//! send it any packet; every message from such a namespace goes through the
//! kernel's network rate limit (`net_ratelimit`), so it cannot flood the
//! host's log. Per-packet messages are rate-limited in every namespace.

use crate::carp_proto::{log, Reason, RxError, Stat, State, NSTATS};
use crate::carp_sys as sys;
use crate::carp_util::{dev_str, KStatic};
use core::ffi::{c_int, c_uint};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A set of carp counters (`netstat -s -p carp`), indexed by [`Stat`].
pub(crate) struct Stats([AtomicU64; NSTATS]);

impl Stats {
    /// All zero.
    pub(crate) const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; NSTATS])
    }

    /// Counts one `stat`.
    pub(crate) fn count(&self, stat: Stat) {
        if let Some(c) = self.0.get(stat as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters' current values.
    pub(crate) fn values(&self) -> [u64; NSTATS] {
        let mut v = [0u64; NSTATS];
        for (d, c) in v.iter_mut().zip(self.0.iter()) {
            *d = c.load(Ordering::Relaxed);
        }
        v
    }
}

/// carp's state in one network namespace.
///
/// # Invariants
///
/// Lives in the namespace's `net_generic` slot from `carp_net_init` until
/// `carp_net_exit`.
pub(crate) struct CarpNet {
    /// `net.inet.carp.allow`: accept advertisements.
    allow: AtomicBool,
    /// `net.inet.carp.preempt`.
    preempt: AtomicBool,
    /// `net.inet.carp.log`: syslog priority up to which messages are logged.
    log: AtomicU8,
    /// The "carp" group demotion counter as advertised: carp devices whose
    /// carpdev is down or that cannot send, plus `demote_user`.
    demote: AtomicU8,
    /// The part of `demote` userspace sets (`group-set`, carpdemote);
    /// written under RTNL.
    demote_user: AtomicU8,
    /// Whether the namespace belongs to the initial user namespace (its
    /// state changes are logged without rate limit).
    trusted: bool,
    /// The namespace's own log budget when it is not trusted (initialised
    /// in pernet init): an untrusted namespace never draws on the host's
    /// `net_ratelimit` budget.
    ratelimit: Opaque<sys::ratelimit_state>,
    /// Statistics.
    pub(crate) stats: Stats,
    /// Carp devices in the namespace, for `carp_netfilter`'s hooks
    /// (changed under RTNL).
    hook_users: AtomicU32,
    /// The namespace's sysctl registration (written in pernet init/exit).
    sysctl: KStatic<crate::carp_sysctl::SysctlReg>,
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
    // SAFETY: `net` is live; comparing its owner with the initial one.
    let trusted = unsafe { core::ptr::eq((*net).user_ns, core::ptr::addr_of!(sys::init_user_ns)) };
    // SAFETY: `slot` is valid for writes and suitably aligned (net_generic
    // slots are kmalloc'ed); nothing was there to drop.
    unsafe {
        slot.write(CarpNet {
            allow: AtomicBool::new(true),
            preempt: AtomicBool::new(false),
            log: AtomicU8::new(log::CRIT),
            demote: AtomicU8::new(0),
            demote_user: AtomicU8::new(0),
            trusted,
            ratelimit: Opaque::uninit(),
            stats: Stats::new(),
            hook_users: AtomicU32::new(0),
            sysctl: KStatic::new(crate::carp_sysctl::SysctlReg::empty()),
        })
    };
    // SAFETY: the state was just written and stays until `exit`.
    let cn = unsafe { &*slot };
    // SAFETY: the field is ours, not used before this.
    unsafe { sys::carp_ratelimit_init(cn.ratelimit.get()) };
    let fields = [
        cn.allow.as_ptr().cast::<u8>(),
        cn.preempt.as_ptr().cast::<u8>(),
        cn.log.as_ptr(),
    ];
    // SAFETY: pernet init of `net`; the fields live until pernet exit,
    // which unregisters first; the registration record is ours alone here.
    let r = unsafe { crate::carp_sysctl::register(net, cn.sysctl.get(), fields) };
    if r != 0 {
        // SAFETY: init failed: exit will not run, drop the state here.
        unsafe { core::ptr::drop_in_place(slot) };
    }
    r
}

/// `pernet_operations.exit`.
///
/// # Safety
///
/// Called by the pernet core once for a namespace whose `init` succeeded.
unsafe extern "C" fn carp_net_exit(net: *mut sys::net) {
    // SAFETY: `init` succeeded for `net`, so the slot holds a `CarpNet`; the
    // namespace is going away and nothing else uses it any more.
    unsafe {
        let slot = sys::carp_net_generic(net, *NET_ID.get()).cast::<CarpNet>();
        crate::carp_sysctl::unregister((*slot).sysctl.get());
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

/// The carp state of the namespace of `dev`.
///
/// # Safety
///
/// `dev` is a live net_device (see [`carp_net`]).
pub(crate) unsafe fn carp_net_of<'a>(dev: *const sys::net_device) -> &'a CarpNet {
    // SAFETY: a live device's namespace is live.
    unsafe { carp_net(sys::carp_dev_net(dev)) }
}

impl CarpNet {
    /// Whether the namespace belongs to the initial user namespace.
    pub(crate) fn trusted(&self) -> bool {
        self.trusted
    }

    /// `net.inet.carp.allow`.
    pub(crate) fn allow(&self) -> bool {
        self.allow.load(Ordering::Relaxed)
    }

    /// `net.inet.carp.preempt`.
    pub(crate) fn preempt(&self) -> bool {
        self.preempt.load(Ordering::Relaxed)
    }

    /// Sets the demotion counter; returns the previous value.
    pub(crate) fn set_demote(&self, d: u8) -> u8 {
        self.demote.swap(d, Ordering::Relaxed)
    }

    /// The demotion counter as advertised.
    pub(crate) fn demote(&self) -> u8 {
        self.demote.load(Ordering::Relaxed)
    }

    /// The part of the demotion counter userspace sets.
    pub(crate) fn demote_user(&self) -> u8 {
        self.demote_user.load(Ordering::Relaxed)
    }

    /// Sets the part of the demotion counter userspace sets (the caller
    /// holds RTNL and recomputes the counter with `update_demotion`).
    pub(crate) fn set_demote_user(&self, d: u8) {
        self.demote_user.store(d, Ordering::Relaxed)
    }

    /// Counts a carp device in; returns the previous count.
    pub(crate) fn hook_users_inc(&self) -> u32 {
        self.hook_users.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a carp device out; returns the previous count.
    pub(crate) fn hook_users_dec(&self) -> u32 {
        self.hook_users.fetch_sub(1, Ordering::Relaxed)
    }

    /// Whether a message of syslog priority `level` is logged now;
    /// `per_packet` messages are always rate-limited, the others only in
    /// namespaces of non-initial user namespaces.
    pub(crate) fn logs(&self, level: u8, per_packet: bool) -> bool {
        if level > self.log.load(Ordering::Relaxed) {
            return false;
        }
        if !self.trusted {
            // Untrusted namespaces: their own budget, then the one all of
            // them share, so that together they cannot flood the log and
            // none of them silences the host's messages.
            // SAFETY: initialised in pernet init; ratelimit states lock
            // themselves.
            return unsafe {
                sys::carp_ratelimit(self.ratelimit.get()) && sys::carp_untrusted_ratelimit()
            };
        }
        if per_packet {
            // SAFETY: net_ratelimit has no preconditions.
            return unsafe { sys::net_ratelimit() } != 0;
        }
        true
    }
}

/// Logs a state change (priority CRIT, WARNING for INIT), as carp(4).
///
/// # Safety
///
/// `dev` is live.
pub(crate) unsafe fn log_state(
    dev: *const sys::net_device,
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
    // SAFETY: `dev` is live (caller).
    if !unsafe { carp_net_of(dev) }.logs(level, false) {
        return;
    }
    pr_notice!(
        "{}: state transition (vhid {}): {} -> {} ({})\n",
        // SAFETY: as above.
        unsafe { dev_str(dev) },
        vhid,
        old.name(),
        new.name(),
        reason.name()
    );
}

/// Logs a dropped advertisement at its priority (rate-limited).
///
/// # Safety
///
/// `dev` is live.
pub(crate) unsafe fn log_rx(dev: *const sys::net_device, e: RxError) {
    // SAFETY: `dev` is live (caller).
    let net = unsafe { carp_net_of(dev) };
    if e == RxError::NotAllowed || !net.logs(e.level(), true) {
        return;
    }
    // SAFETY: as above.
    let name = unsafe { dev_str(dev) };
    match e {
        RxError::BadTtl(t) => pr_notice!("received ttl {} != 255 on {}\n", t, name),
        RxError::BadVer(v) => pr_notice!("{}: invalid version {} != 2\n", name, v),
        RxError::BadLen(l) => pr_info!("packet too short {} on {}\n", l, name),
        RxError::Loop => pr_warn!("{}: replay or network loop detected\n", name),
        _ => pr_info!("{}: {}\n", name, e.message()),
    }
}

/// Logs a change of the group demotion counter: `down` carp devices have
/// their carpdev down, `senderr` cannot send advertisements, `user` is
/// userspace's part.
pub(crate) fn log_demote(cn: &CarpNet, d: u8, down: u32, senderr: u32, user: u8) {
    if cn.logs(log::ERR, false) {
        pr_err!(
            "demoted group carp to {} ({} carpdev down, {} with send errors, {} by userspace)\n",
            d,
            down,
            senderr,
            user
        );
    }
}

/// What changed about a carp device's send errors (`log_send_errors`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendLog {
    /// Advertisements started failing: the group is demoted.
    Failing,
    /// They go out again: the demotion ends.
    Recovered,
    /// The device stopped (down, or its carpdev down): its failures no
    /// longer count.
    Stopped,
}

/// Logs a change of a carp device's send errors.
///
/// # Safety
///
/// `dev` is live.
pub(crate) unsafe fn log_send_errors(dev: *const sys::net_device, why: SendLog) {
    // SAFETY: `dev` is live (caller).
    if !unsafe { carp_net_of(dev) }.logs(log::ERR, false) {
        return;
    }
    // SAFETY: as above.
    let name = unsafe { dev_str(dev) };
    match why {
        SendLog::Failing => pr_err!(
            "{}: advertisements cannot be sent: demoting group carp\n",
            name
        ),
        SendLog::Recovered => pr_err!("{}: advertisements are sent again\n", name),
        SendLog::Stopped => pr_err!(
            "{}: stopped: its send errors no longer demote group carp\n",
            name
        ),
    }
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
