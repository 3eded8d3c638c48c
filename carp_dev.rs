// SPDX-License-Identifier: GPL-2.0

//! The carp net_device: its private data ([`CarpDev`]), the engine that
//! runs the protocol core under the device's state lock and carries out
//! what the core decides, and the `net_device_ops`.
//!
//! # Locking and contexts
//!
//! - RTNL: creating, configuring, attaching and detaching devices
//!   (`carp_link`, `carp_config`, `carp_port`, `carp_notify`).
//! - [`CarpDev::tx`], a BH-disabling spinlock taken before the state lock
//!   by [`CarpDev::with_core`]: it keeps a device's advertisements in the
//!   order the core built them, which are sent after the state lock is
//!   released (sending may resolve a neighbour, and the ARP hook then takes
//!   state locks), and it holds the send-error count. Order: `tx`, then
//!   `state`; nothing takes `tx` with a state lock held.
//! - [`CarpDev::state`], a BH-disabling spinlock: the protocol core and the
//!   device's addresses, shared by the hrtimer and receive softirqs and by
//!   process context. The core's actions are carried out with it held (they
//!   build advertisements, notify and set flags); what needs RTNL goes to
//!   the device's work item.
//! - Lock-free for the per-packet paths: [`CarpDev::lower`] (RCU-published,
//!   written under RTNL) and [`CarpDev::snap`] (the [`Snapshot`] the core
//!   state implies, written under the state lock).

use crate::carp_addr::DevAddrs;
use crate::carp_balance::{self, ArpHashKey, Balancing, Snapshot, MAX_NODES};
use crate::carp_net::{carp_net_of, SendLog, Stats};
use crate::carp_proto::{Action, Addrs, Carp, Config, Link, Reason, SendErrors, Stat, State};
use crate::carp_sys as sys;
use crate::carp_tx::{Batch, Tx};
use crate::carp_util::{dev_mac, dev_str, now, BhGuard, BhLock, KStatic, PcpuCounters, Rcu, Rtnl};
use core::ffi::{c_int, c_ulong};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering};
use kernel::prelude::*;
use kernel::types::Opaque;

/// What the protocol core and the device's addresses need, under
/// [`CarpDev::state`].
pub(crate) struct DevState {
    /// The protocol core.
    pub(crate) carp: Carp,
    /// The device's addresses.
    pub(crate) addrs: DevAddrs,
    /// Being unregistered: no more timers or work.
    pub(crate) dead: bool,
    /// Gratuitous ARP / unsolicited NA wanted once the carrier is up.
    pub(crate) notify_peers: bool,
    /// Work wanted: re-read addresses.
    pub(crate) want_addrs: bool,
    /// Work wanted: tell userspace the state changed (RTM_NEWLINK).
    pub(crate) want_info: bool,
    /// Work wanted: recompute the group demotion (send errors).
    pub(crate) want_demote: bool,
    /// Carrier as last set.
    pub(crate) carrier: bool,
    /// The work item is queued and holds [`DevState::work_ref`].
    work_queued: bool,
    /// The device reference the queued work holds (tracked).
    work_ref: sys::netdevice_tracker,
    /// The per-entry counters' values at the last change of the entries.
    counter_base: [[u64; ENTRY_KINDS]; MAX_NODES],
    /// Each entry's state changes by [`Reason`], since the entries last
    /// changed (counted under this lock, where they happen).
    transitions: [[u32; Reason::COUNT]; MAX_NODES],
    /// The MACs added to the carpdev's address filter.
    lower_macs: LowerMacs,
}

/// What [`CarpDev::tx`] protects.
pub(crate) struct TxState {
    /// Consecutive send failures or successes (OpenBSD's snderrors).
    pub(crate) snd: SendErrors,
}

/// The MAC addresses a carp device has added to its carpdev's filter: its
/// own, and in ARP balancing every entry's.
#[derive(Clone, Copy)]
struct LowerMacs {
    macs: [[u8; 6]; MAX_NODES + 1],
    len: usize,
}

impl LowerMacs {
    const EMPTY: Self = Self {
        macs: [[0; 6]; MAX_NODES + 1],
        len: 0,
    };

    fn as_slice(&self) -> &[[u8; 6]] {
        self.macs.get(..self.len).unwrap_or(&[])
    }

    fn push(&mut self, mac: [u8; 6]) {
        if mac == [0; 6] || self.as_slice().contains(&mac) {
            return;
        }
        if let Some(slot) = self.macs.get_mut(self.len) {
            *slot = mac;
            self.len += 1;
        }
    }
}

/// The least MTU of IPv6 (`IPV6_MIN_MTU`).
const IPV6_MIN_MTU: u32 = 1280;

/// A carp device's private data (`netdev_priv`).
///
/// # Invariants
///
/// - `dev` is the device this is the private data of; set before
///   registration, never changed.
/// - `state` is initialised (and `live` true) from `carp_link`'s newlink
///   until [`CarpDev::drop_state`], which runs once.
/// - `lower` (the carpdev) is null or a live Ethernet device of the same
///   namespace; it changes only under RTNL (attach, detach), is published
///   with release ordering and is read by RCU readers (softirqs): a device
///   it pointed to stays valid for them until an RCU grace period after it
///   was cleared, since devices are freed after `rcu_barrier`.
/// - While `lower` is non-null, `list` is on the list of `lower`'s port
///   (`carp_port`); otherwise it is not on any list.
/// - `timer` and `work` are initialised by `carp_timer::init` before
///   registration; the timer is cancelled in `ndo_uninit`; queued work
///   holds a device reference.
#[repr(C)]
pub(crate) struct CarpDev {
    /// The carp device.
    pub(crate) dev: *mut sys::net_device,
    lower: AtomicPtr<sys::net_device>,
    /// Node on the port's RCU list of carp devices (see `carp_port`).
    pub(crate) list: Opaque<sys::list_head>,
    /// Orders sending; the send-error count.
    pub(crate) tx: BhLock<TxState>,
    /// The protocol core and addresses.
    pub(crate) state: BhLock<DevState>,
    live: AtomicBool,
    /// The hrtimer driving the core's timers (`carp_timer`).
    pub(crate) timer: Opaque<sys::hrtimer>,
    /// The work item for what needs process context and RTNL.
    pub(crate) work: Opaque<sys::work_struct>,
    /// Per-device statistics.
    pub(crate) stats: Stats,
    /// The packed [`Snapshot`] of the core's state.
    snap: AtomicU64,
    /// The vhid of each entry (0: none), for the per-packet paths.
    vhids: [AtomicU8; MAX_NODES],
    /// The ARP-balancing hash key, for the per-packet paths.
    arp_key: [AtomicU32; 3],
    /// Per-entry, per-CPU counters ([`Entry`] kinds).
    counters: PcpuCounters,
    /// The MTU the device was given (at creation, or by `ip link set mtu`),
    /// which it keeps while its carpdev's allows (RTNL).
    mtu_wanted: AtomicU32,
    /// The device is following its carpdev's MTU (RTNL): a change the
    /// administrator did not ask for.
    mtu_following: AtomicBool,
}

/// What the per-entry counters count.
#[derive(Clone, Copy)]
pub(crate) enum Entry {
    /// Packets the IP-balancing filter accepted for this entry.
    Accepted = 0,
    /// Packets the filter dropped (another host is MASTER of the entry).
    Dropped = 1,
    /// ARP requests / neighbour solicitations answered for the entry.
    Answered = 2,
    /// ARP requests / neighbour solicitations left to another host.
    Ignored = 3,
}

/// Counters per entry.
pub(crate) const ENTRY_KINDS: usize = 4;

// SAFETY: the raw pointers are to kernel objects whose lifetime the type
// invariants describe; everything mutable is behind the lock, atomics or
// `Opaque` fields that only the kernel touches.
unsafe impl Sync for CarpDev {}
// SAFETY: as above.
unsafe impl Send for CarpDev {}

/// `netdev_priv` as a [`CarpDev`].
///
/// # Safety
///
/// `dev` must be a carp device ([`is_carp`]).
pub(crate) unsafe fn priv_of(dev: *const sys::net_device) -> *mut CarpDev {
    // SAFETY: carp devices are allocated with `priv_size` of a `CarpDev`.
    unsafe { sys::carp_netdev_priv(dev) }.cast()
}

/// The [`CarpDev`] of a carp device.
///
/// # Safety
///
/// `dev` is a carp device whose state is initialised and which stays
/// alive for `'a`.
pub(crate) unsafe fn carp_dev<'a>(dev: *const sys::net_device) -> &'a CarpDev {
    // SAFETY: by the caller's guarantee.
    unsafe { &*priv_of(dev) }
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

/// Whether `dev` is registered (not being unregistered).
///
/// # Safety
///
/// RTNL held, `dev` live.
pub(crate) unsafe fn registered(dev: *const sys::net_device) -> bool {
    // SAFETY: reg_state changes under RTNL.
    unsafe { u32::from((*dev).reg_state) == sys::netdev_reg_state_NETREG_REGISTERED }
}

/// The work queue for what needs process context and RTNL.
static WQ: KStatic<*mut sys::workqueue_struct> = KStatic::new(null_mut());

/// The work queue, allocated while the module is loaded.
pub(crate) struct Workqueue(());

impl Workqueue {
    /// Allocates the work queue.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: module init; nothing reads WQ concurrently.
        unsafe {
            let wq = sys::carp_alloc_wq();
            if wq.is_null() {
                return Err(ENOMEM);
            }
            *WQ.get() = wq;
        }
        Ok(Self(()))
    }
}

impl Drop for Workqueue {
    fn drop(&mut self) {
        // Drains it: queued work holds device references, so the devices'
        // unregistration already waited for it to run.
        // SAFETY: allocated in `new`; no device (and so no work) is left.
        unsafe { sys::destroy_workqueue(*WQ.get()) };
    }
}

/// What the work item is to do, taken from the state by [`CarpDev::take_work`].
pub(crate) struct WorkOrder {
    /// The device is being unregistered: do nothing.
    pub(crate) dead: bool,
    /// Re-read the addresses.
    pub(crate) addrs: bool,
    /// Send gratuitous ARP / unsolicited NA.
    pub(crate) peers: bool,
    /// Raise NETDEV_CHANGEINFODATA.
    pub(crate) info: bool,
    /// Recompute the namespace's group demotion.
    pub(crate) demote: bool,
    /// The device reference the work holds, to drop when done.
    pub(crate) dev_ref: sys::netdevice_tracker,
}

impl CarpDev {
    /// Initialises the private data of a new, unregistered carp device.
    ///
    /// # Safety
    ///
    /// `dev` is a carp device allocated by rtnetlink and not registered;
    /// its private area is zeroed. Called once.
    pub(crate) unsafe fn init(dev: *mut sys::net_device, cfg: Config, seed: u64) -> Result {
        let counters = PcpuCounters::new((MAX_NODES * ENTRY_KINDS) as u32)?;
        // The state, in place and field by field: the core is a few KB
        // (no large value moves through newlink's stack).
        let init_state = move |d: *mut DevState| {
            use core::ptr::addr_of_mut;
            // SAFETY: only called by `BhLock::init_in_place` below, once,
            // with the state's data in the private area (valid for writes,
            // aligned); every field is written once. `MaybeUninit<Carp>`
            // has `Carp`'s layout.
            unsafe {
                Carp::init(&mut *addr_of_mut!((*d).carp).cast(), cfg, seed);
                addr_of_mut!((*d).addrs).write(DevAddrs::default());
                addr_of_mut!((*d).dead).write(false);
                addr_of_mut!((*d).notify_peers).write(false);
                addr_of_mut!((*d).want_addrs).write(false);
                addr_of_mut!((*d).want_info).write(false);
                addr_of_mut!((*d).want_demote).write(false);
                addr_of_mut!((*d).carrier).write(false);
                addr_of_mut!((*d).work_queued).write(false);
                // A tracker is a pointer or an empty struct:
                // all-zero is "none".
                addr_of_mut!((*d).work_ref).write(core::mem::zeroed());
                let base = addr_of_mut!((*d).counter_base).cast::<[u64; ENTRY_KINDS]>();
                for i in 0..MAX_NODES {
                    base.add(i).write([0; ENTRY_KINDS]);
                }
                let tr = addr_of_mut!((*d).transitions).cast::<[u32; Reason::COUNT]>();
                for i in 0..MAX_NODES {
                    tr.add(i).write([0; Reason::COUNT]);
                }
                addr_of_mut!((*d).lower_macs).write(LowerMacs::EMPTY);
            }
        };
        // SAFETY: by the caller's guarantee the private area is ours; the
        // fields are written in place (the lock must not move). Atomics
        // are valid all-zero, as the area is.
        unsafe {
            let cd = priv_of(dev);
            core::ptr::addr_of_mut!((*cd).counters).write(counters);
            core::ptr::addr_of_mut!((*cd).dev).write(dev);
            core::ptr::addr_of_mut!((*cd).lower).write(AtomicPtr::new(null_mut()));
            core::ptr::addr_of_mut!((*cd).live).write(AtomicBool::new(true));
            core::ptr::addr_of_mut!((*cd).snap).write(AtomicU64::new(0));
            core::ptr::addr_of_mut!((*cd).stats).write(Stats::new());
            core::ptr::addr_of_mut!((*cd).mtu_wanted).write(AtomicU32::new((*dev).mtu));
            core::ptr::addr_of_mut!((*cd).mtu_following).write(AtomicBool::new(false));
            BhLock::init(
                core::ptr::addr_of_mut!((*cd).tx),
                TxState {
                    snd: SendErrors::default(),
                },
                sys::CARP_LOCK_TX,
            );
            BhLock::init_in_place(
                core::ptr::addr_of_mut!((*cd).state),
                sys::CARP_LOCK_STATE,
                init_state,
            );
        }
        Ok(())
    }

    /// Drops the state the first time it is called (the destructor and a
    /// failed newlink may both ask).
    ///
    /// # Safety
    ///
    /// Nothing uses the state any more: the timer is cancelled and no work
    /// is queued.
    pub(crate) unsafe fn drop_state(&self) {
        if self.live.swap(false, Ordering::AcqRel) {
            // SAFETY: by the caller's guarantee; once (the swap above).
            unsafe {
                self.state.drop_data();
                self.tx.drop_data();
                self.counters.free();
            }
        }
    }

    /// The carpdev, or null while the device has none.
    pub(crate) fn lower(&self) -> *mut sys::net_device {
        self.lower.load(Ordering::Acquire)
    }

    /// Sets or clears the carpdev (see the type invariants).
    ///
    /// # Safety
    ///
    /// RTNL held; the caller keeps the port list in step (`carp_port`).
    pub(crate) unsafe fn set_lower(&self, _rtnl: &Rtnl, lower: *mut sys::net_device) {
        // The rx-mode callback reads `lower` under the device's address
        // lock: change it under that lock, so no callback still uses an old
        // carpdev once this returns.
        // SAFETY: the device is live.
        unsafe { sys::carp_netif_addr_lock_bh(self.dev) };
        self.lower.store(lower, Ordering::Release);
        // SAFETY: taken above.
        unsafe { sys::carp_netif_addr_unlock_bh(self.dev) };
    }

    /// The lock-free view of the core's state.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot::decode(self.snap.load(Ordering::Acquire))
    }

    /// Counts `stat` for this device and its namespace.
    pub(crate) fn count(&self, stat: Stat) {
        self.stats.count(stat);
        // SAFETY: the device is live, so is its namespace and our state.
        unsafe { carp_net_of(self.dev) }.stats.count(stat);
    }

    /// Runs `f` on the core under the lock, carries out the actions it
    /// returns, then updates the carrier, the snapshot and the timer.
    /// Advertisements are built under the state lock and sent after it is
    /// released, under the `tx` lock, which then records how they went.
    pub(crate) fn with_core(&self, f: impl FnOnce(&mut Carp, &Addrs<'_>, &mut dyn FnMut(Action))) {
        // The order of the locks: `tx`, then `state` (see the module doc).
        let mut tx = self.tx.lock();
        let mut batch = Batch::new();
        let mut built = true;
        let mut st = self.state.lock();
        if st.dead {
            return;
        }
        let lower = self.lower();
        // SAFETY: the device is live while we hold its state.
        let net_stats = &unsafe { carp_net_of(self.dev) }.stats;
        let mut queue = false;
        {
            let DevState {
                carp,
                addrs: a,
                notify_peers,
                want_info,
                carrier,
                transitions,
                ..
            } = &mut *st;
            let addrs = Addrs {
                v4: a.v4.as_slice(),
                v6: a.v6.as_slice(),
                v6ll: a.v6ll.as_slice(),
                lladdr: None,
            };
            let builder = Tx {
                carp: self.dev,
                lower,
                dev: &self.stats,
                net: net_stats,
            };
            let carrier_up = *carrier;
            f(carp, &addrs, &mut |a| match a {
                Action::Send {
                    packet, v4, v6, to, ..
                } => {
                    if !lower.is_null() {
                        built &= builder.advert(&mut batch, &packet, v4, v6, &to, &addrs);
                    }
                }
                Action::State {
                    vhe,
                    vhid,
                    old,
                    new,
                    reason,
                } => {
                    if new == State::Master && old == State::Backup {
                        self.count(Stat::Preempt);
                    }
                    if let Some(c) = transitions
                        .get_mut(vhe)
                        .and_then(|t| t.get_mut(reason as usize))
                    {
                        *c = c.saturating_add(1);
                    }
                    // SAFETY: the device is live while we hold its state.
                    unsafe {
                        crate::carp_net::log_state(self.dev, vhid, old, new, reason);
                        crate::carp_events::notify_state(self.dev, vhid, old, new, reason);
                    }
                    *want_info = true;
                    queue = true;
                }
                Action::GratuitousArp | Action::UnsolicitedNa => {
                    // Sent by __netdev_notify_peers with RTNL: at once if
                    // the carrier is already up, else when it comes up (the
                    // qdisc only starts then; `carp_notify`).
                    *notify_peers = true;
                    queue |= carrier_up;
                }
            });
            // Demoted by send errors and MASTER of nothing: no
            // advertisements go out to show when sending works again, so
            // test the carpdev at every event (each advertisement heard).
            let idle = carp.running() && carp.link_state() != State::Master;
            if idle && tx.snd.demoted() && !lower.is_null() {
                built &= builder.probe(&mut batch);
            }
        }
        self.publish(&st.carp);
        let master = st.carp.link_state() == State::Master;
        if master != st.carrier {
            st.carrier = master;
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
        // SAFETY: the timer was initialised before registration and is
        // cancelled (after `dead` is set) before the device goes away.
        unsafe {
            match st.carp.next_deadline() {
                Some(t) => sys::carp_hrtimer_start(self.timer.get(), t),
                None => {
                    sys::hrtimer_try_to_cancel(self.timer.get());
                }
            }
        }
        if queue {
            self.queue_work(&mut st);
        }
        let entries = st.carp.config().count();
        let running = st.carp.running();
        drop(st);
        // SAFETY: BHs have been disabled (the `tx` lock) since `lower` was
        // read under the state lock, which is released.
        let sent = unsafe { batch.send(self.dev, &self.stats, net_stats) };
        let ok = match (built, sent) {
            (false, _) => Some(false),
            (true, s) => s,
        };
        let changed = match ok {
            Some(ok) => tx.snd.record(ok, entries) != 0,
            // A stopped device sends nothing: its count goes.
            None if !running => tx.snd.reset(),
            None => false,
        };
        if changed {
            let why = if tx.snd.demoted() {
                SendLog::Failing
            } else if ok.is_none() {
                SendLog::Stopped
            } else {
                SendLog::Recovered
            };
            // SAFETY: the device is live (callers of `with_core`).
            unsafe { crate::carp_net::log_send_errors(self.dev, why) };
            self.request_work(|st| st.want_demote = true);
        }
    }

    /// Whether repeated send errors demote this device's group.
    pub(crate) fn send_demoted(&self) -> bool {
        self.tx.lock().snd.demoted()
    }

    /// Publishes what the per-packet paths read without the lock: the
    /// entries' vhids and the ARP hash key first, then the snapshot (with
    /// release ordering, so a reader of the snapshot sees the others).
    fn publish(&self, carp: &Carp) {
        let vhes = carp.vhes();
        for (i, v) in self.vhids.iter().enumerate() {
            v.store(vhes.get(i).map_or(0, |e| e.vhid), Ordering::Relaxed);
        }
        for (slot, w) in self.arp_key.iter().zip(carp.arp_key().words()) {
            slot.store(w, Ordering::Relaxed);
        }
        self.snap.store(carp.snapshot().encode(), Ordering::Release);
    }

    /// The vhid of entry `i` (0: none).
    pub(crate) fn entry_vhid(&self, i: usize) -> u8 {
        self.vhids.get(i).map_or(0, |v| v.load(Ordering::Relaxed))
    }

    /// The index of the entry with `vhid`.
    pub(crate) fn entry_of(&self, vhid: u8) -> Option<usize> {
        if vhid == 0 {
            return None;
        }
        self.vhids
            .iter()
            .position(|v| v.load(Ordering::Relaxed) == vhid)
    }

    /// The ARP-balancing hash key.
    pub(crate) fn arp_key(&self) -> ArpHashKey {
        let mut w = [0u32; 3];
        for (d, s) in w.iter_mut().zip(self.arp_key.iter()) {
            *d = s.load(Ordering::Relaxed);
        }
        ArpHashKey::from_words(w)
    }

    /// In ARP balancing, the entry that answers (and serves) the host with
    /// MAC `mac`, if this host is MASTER of it, with the entry's MAC.
    pub(crate) fn arp_entry(&self, snap: &Snapshot, mac: &[u8; 6]) -> Option<(usize, [u8; 6])> {
        let key = self.arp_key();
        let i = carp_balance::arp_select(&key, mac, usize::from(snap.count), snap.mask)?;
        snap.running
            .then(|| (i, carp_balance::virtual_mac(self.entry_vhid(i))))
    }

    /// In ARP balancing, the MAC of the first entry this host is MASTER of.
    pub(crate) fn own_entry_mac(&self, snap: &Snapshot) -> Option<[u8; 6]> {
        (0..usize::from(snap.count))
            .find(|&i| snap.master_of(i))
            .map(|i| carp_balance::virtual_mac(self.entry_vhid(i)))
    }

    /// The entry ARP balancing assigns to the host with MAC `mac`.
    pub(crate) fn arp_index(&self, snap: &Snapshot, mac: &[u8; 6]) -> Option<usize> {
        carp_balance::node_index(
            carp_balance::arp_hash(&self.arp_key(), mac),
            usize::from(snap.count),
        )
    }

    /// Counts one `kind` event for entry `i`.
    pub(crate) fn count_entry(&self, i: usize, kind: Entry) {
        self.counters.inc((i * ENTRY_KINDS + kind as usize) as u32);
    }

    /// The counters of entry `i` since its entries last changed, and its
    /// state changes by [`Reason`] (one look under the lock).
    pub(crate) fn entry_stats(&self, i: usize) -> ([u64; ENTRY_KINDS], [u32; Reason::COUNT]) {
        let (base, transitions) = {
            let st = self.state.lock();
            (
                st.counter_base.get(i).copied().unwrap_or_default(),
                st.transitions.get(i).copied().unwrap_or_default(),
            )
        };
        let mut v = [0u64; ENTRY_KINDS];
        for (k, (d, b)) in v.iter_mut().zip(base).enumerate() {
            *d = self
                .counters
                .sum((i * ENTRY_KINDS + k) as u32)
                .saturating_sub(b);
        }
        (v, transitions)
    }

    /// Starts the per-entry counters from zero (the entries changed).
    pub(crate) fn reset_entry_counters(&self) {
        let mut now = [[0u64; ENTRY_KINDS]; MAX_NODES];
        for (i, e) in now.iter_mut().enumerate() {
            for (k, c) in e.iter_mut().enumerate() {
                *c = self.counters.sum((i * ENTRY_KINDS + k) as u32);
            }
        }
        let mut st = self.state.lock();
        st.counter_base = now;
        for t in st.transitions.iter_mut() {
            *t = [0; Reason::COUNT];
        }
    }

    /// Queues the device's work unless it is already queued; the work holds
    /// a tracked device reference until it ran.
    fn queue_work(&self, st: &mut BhGuard<'_, DevState>) {
        if st.work_queued || st.dead {
            return;
        }
        st.work_queued = true;
        // SAFETY: the device is live (its state is held); the work was
        // initialised before registration; the work queue exists while the
        // module is loaded. The reference is taken before queuing, so the
        // work can never drop it first; it is stored where `take_work`
        // finds it (no other reference lives there: `work_queued` was
        // false).
        unsafe {
            sys::carp_netdev_hold(self.dev, &mut st.work_ref, kernel::bindings::GFP_ATOMIC);
            sys::carp_queue_work(*WQ.get(), self.work.get());
        }
    }

    /// Asks the work to do something (`set` sets the wanted flag).
    pub(crate) fn request_work(&self, set: impl FnOnce(&mut DevState)) {
        let mut st = self.state.lock();
        set(&mut st);
        self.queue_work(&mut st);
    }

    /// Called by the work when it starts: what to do, and the reference to
    /// drop when done. A request made from now on queues the work again.
    pub(crate) fn take_work(&self) -> WorkOrder {
        let mut st = self.state.lock();
        let peers = st.notify_peers && st.carrier;
        if peers {
            st.notify_peers = false;
        }
        let order = WorkOrder {
            dead: st.dead,
            addrs: core::mem::take(&mut st.want_addrs),
            peers,
            info: core::mem::take(&mut st.want_info),
            demote: core::mem::take(&mut st.want_demote),
            // SAFETY: all-zero is "no tracker" (see `init`).
            dev_ref: core::mem::replace(&mut st.work_ref, unsafe { core::mem::zeroed() }),
        };
        st.work_queued = false;
        order
    }

    /// Re-reads the device's addresses and hands them to the core (only a
    /// change of the virtual addresses matters: the link-local address
    /// addrconf adds when the carrier comes up is not one).
    pub(crate) fn resync_addrs(&self, rtnl: &Rtnl) {
        // SAFETY: RTNL held; the device is live.
        let mut a = unsafe { DevAddrs::read(rtnl, self.dev) };
        if a.v4.as_slice().is_empty() && a.v6.as_slice().is_empty() {
            // The device stops for lack of addresses: a MASTER bows out
            // first, signed over the addresses it still has (the ones its
            // peers know); the core stays quiet until set_addresses below
            // stops it (timers and receives run meanwhile).
            self.bow_out(rtnl);
        }
        {
            let mut st = self.state.lock();
            let same = st.addrs.v4.as_slice() == a.v4.as_slice()
                && st.addrs.v6.as_slice() == a.v6.as_slice();
            let same_ll = st.addrs.v6ll.as_slice() == a.v6ll.as_slice();
            core::mem::swap(&mut st.addrs, &mut a);
            if !same {
                // No timer or receive may use the cached HMACs of the old
                // lists with the new ones (set_addresses comes in a later
                // section).
                st.carp.forget_macs();
            }
            if same {
                if !same_ll {
                    // Advertisements authenticated with the old link-local
                    // list are verified again (the core's contract).
                    st.carp.forget_heard();
                }
                return;
            }
        }
        // The old lists drop here, outside the lock.
        drop(a);
        let t = now();
        self.with_core(|carp, addrs, mut sink| carp.set_addresses(t, addrs, &mut sink));
    }

    /// Whether the device is running: `netif_running` rather than IFF_UP,
    /// which the core sets only after `ndo_open` and clears only after
    /// `ndo_stop`.
    fn running(&self) -> bool {
        // SAFETY: the device is live.
        unsafe { sys::carp_netif_running(self.dev) }
    }

    /// The current admin/carpdev condition (see [`CarpDev::running`]).
    fn link(&self, _rtnl: &Rtnl) -> Link {
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
    pub(crate) fn update_link(&self, rtnl: &Rtnl) {
        let link = self.link(rtnl);
        let t = now();
        self.with_core(|carp, addrs, mut sink| carp.set_link(t, link, addrs, &mut sink));
    }

    /// The device is about to stop answering (it leaves its carpdev, it is
    /// deleted, its last address goes): every MASTER entry sends the
    /// bow-out advertisement now, through the carpdev it still has and
    /// signed over the addresses its peers know, so a BACKUP takes over at
    /// once instead of after the master-down interval.
    pub(crate) fn bow_out(&self, _rtnl: &Rtnl) {
        self.with_core(|carp, addrs, mut sink| carp.bow_out(addrs, &mut sink));
    }

    /// The carpdev's MTU changed (or the device has a new carpdev): a
    /// larger MTU than the carpdev's would lose every larger frame, so the
    /// device follows it down (as vlan and macvlan do), and back up to the
    /// MTU it was given when the carpdev's grows again. Not below IPv6's
    /// 1280 while the device has IPv6 addresses: the kernel would delete
    /// them, the HMAC covers them, and the device would no longer agree
    /// with its peers after the dip (frames between the carpdev's MTU and
    /// 1280 are lost meanwhile, and the carpdev has no IPv6 then anyway).
    pub(crate) fn lower_mtu_changed(&self, _rtnl: &Rtnl) {
        let lower = self.lower();
        if lower.is_null() {
            return;
        }
        let has_v6 = !self.state.lock().addrs.v6.as_slice().is_empty();
        // SAFETY: RTNL held; both devices live.
        unsafe {
            (*self.dev).max_mtu = (*lower).max_mtu;
            let floor = if has_v6 {
                core::cmp::max((*self.dev).min_mtu, IPV6_MIN_MTU)
            } else {
                (*self.dev).min_mtu
            };
            let mtu = core::cmp::max(
                core::cmp::min(self.mtu_wanted.load(Ordering::Relaxed), (*lower).mtu),
                floor,
            );
            if (*self.dev).mtu != mtu {
                self.mtu_following.store(true, Ordering::Relaxed);
                let err = sys::dev_set_mtu(self.dev, mtu as c_int);
                self.mtu_following.store(false, Ordering::Relaxed);
                if err != 0 {
                    pr_warn!(
                        "{}: cannot follow the carpdev's MTU {} ({})\n",
                        dev_str(self.dev),
                        mtu,
                        err
                    );
                }
            }
        }
    }

    /// Gives the device the MAC address its configuration implies (the
    /// leader's virtual MAC, multicast in `ip` mode) and keeps the carpdev's
    /// address filter in step. Notifies only a registered device.
    ///
    /// A new shared MAC on a registered device is announced (gratuitous ARP
    /// and unsolicited NA once this host answers again), so that clients
    /// do not keep a stale one; not in ARP balancing, where each client has
    /// its own.
    pub(crate) fn set_mac(&self, rtnl: &Rtnl) {
        let (mac, mode) = {
            let st = self.state.lock();
            (st.carp.mac(), st.carp.config().balancing)
        };
        let dev = self.dev;
        // SAFETY: RTNL held; the device is live.
        unsafe {
            if mac != [0; 6] && dev_mac(dev) != mac {
                sys::carp_eth_hw_addr_set(dev, mac.as_ptr());
                if registered(dev) {
                    sys::call_netdevice_notifiers(
                        sys::netdev_cmd_NETDEV_CHANGEADDR as c_ulong,
                        dev,
                    );
                    if mode != Balancing::Arp {
                        self.request_work(|st| st.notify_peers = true);
                    }
                }
            }
        }
        if self.running() {
            self.lower_addr(rtnl, true);
        }
    }

    /// The MACs the carpdev must accept for this device: its own, and in
    /// ARP balancing every entry's.
    fn wanted_macs(&self) -> LowerMacs {
        let mut m = LowerMacs::EMPTY;
        // SAFETY: the device is live.
        m.push(unsafe { dev_mac(self.dev) });
        let st = self.state.lock();
        if st.carp.config().balancing == Balancing::Arp {
            for v in st.carp.vhes() {
                m.push(carp_balance::virtual_mac(v.vhid));
            }
        }
        m
    }

    /// Brings the carpdev's address filter in step with the device (`add`)
    /// or takes back everything the device added: unicast MACs as unicast
    /// addresses, the `ip` mode multicast MAC as multicast address.
    pub(crate) fn lower_addr(&self, _rtnl: &Rtnl, add: bool) {
        let lower = self.lower();
        let want = if add && !lower.is_null() {
            self.wanted_macs()
        } else {
            LowerMacs::EMPTY
        };
        let had = core::mem::replace(&mut self.state.lock().lower_macs, want);
        if lower.is_null() {
            return;
        }
        let call = |mac: &[u8; 6], add: bool| {
            // SAFETY: RTNL held; `lower` is live. Failures of an add leave
            // the MAC filtered on a non-promiscuous carpdev (best effort,
            // as vlan does).
            unsafe {
                match (add, mac[0] & 1 != 0) {
                    (true, false) => sys::dev_uc_add(lower, mac.as_ptr()),
                    (false, false) => sys::dev_uc_del(lower, mac.as_ptr()),
                    (true, true) => sys::dev_mc_add(lower, mac.as_ptr()),
                    (false, true) => sys::dev_mc_del(lower, mac.as_ptr()),
                };
            }
        };
        for m in had
            .as_slice()
            .iter()
            .filter(|m| !want.as_slice().contains(m))
        {
            call(m, false);
        }
        for m in want
            .as_slice()
            .iter()
            .filter(|m| !had.as_slice().contains(m))
        {
            call(m, true);
        }
    }

    /// Propagates the device's rx state to its carpdev on open or attach
    /// (`on`) or on detach: address lists, ALLMULTI/PROMISC and the device
    /// MAC, while the device is running.
    pub(crate) fn sync_lower(&self, rtnl: &Rtnl, on: bool) {
        let lower = self.lower();
        // SAFETY: RTNL held; both devices live.
        unsafe {
            let flags = (*self.dev).flags;
            if lower.is_null() || !self.running() {
                return;
            }
            let d = if on { 1 } else { -1 };
            if flags & sys::net_device_flags_IFF_ALLMULTI != 0 {
                sys::dev_set_allmulti(lower, d);
            }
            if flags & sys::net_device_flags_IFF_PROMISC != 0 {
                sys::dev_set_promiscuity(lower, d);
            }
            self.lower_addr(rtnl, on);
            if on {
                sys::carp_sync_lower(lower, self.dev);
            } else {
                sys::dev_uc_unsync(lower, self.dev);
                sys::dev_mc_unsync(lower, self.dev);
            }
        }
    }
}

/// Calls `f` for every carp device of `net` (with or without a carpdev).
///
/// # Safety
///
/// `net` is live.
pub(crate) unsafe fn for_each_in_net(
    _rtnl: &Rtnl,
    net: *mut sys::net,
    mut f: impl FnMut(&CarpDev),
) {
    // SAFETY: RTNL protects the namespace's device list; carp devices'
    // private data is a `CarpDev`, initialised while they are listed.
    unsafe {
        let head = core::ptr::addr_of_mut!((*net).dev_base_head);
        let mut pos = (*head).next;
        while pos != head {
            let dev = pos
                .byte_sub(core::mem::offset_of!(sys::net_device, dev_list))
                .cast::<sys::net_device>();
            if is_carp(dev) {
                f(carp_dev(dev));
            }
            pos = (*pos).next;
        }
    }
}

/// `ndo_open`.
///
/// # Safety
///
/// Called by the kernel under RTNL with a registered carp device.
unsafe extern "C" fn carp_open(dev: *mut sys::net_device) -> c_int {
    // SAFETY: as documented.
    let (rtnl, cd) = unsafe { (Rtnl::assume(), carp_dev(dev)) };
    cd.sync_lower(&rtnl, true);
    // Carrier stays down until the device is MASTER.
    // SAFETY: the device is live.
    unsafe { sys::netif_carrier_off(dev) };
    cd.state.lock().carrier = false;
    cd.update_link(&rtnl);
    0
}

/// `ndo_stop`: sends the bow-out advertisement while MASTER.
///
/// # Safety
///
/// Called by the kernel under RTNL with a registered carp device.
unsafe extern "C" fn carp_stop(dev: *mut sys::net_device) -> c_int {
    // SAFETY: as documented.
    let (rtnl, cd) = unsafe { (Rtnl::assume(), carp_dev(dev)) };
    // Not running any more: this is "admin down".
    cd.update_link(&rtnl);
    // SAFETY: the device is live; not running, so undo by hand what
    // `sync_lower` did in open.
    unsafe {
        let lower = cd.lower();
        if !lower.is_null() {
            let flags = (*dev).flags;
            if flags & sys::net_device_flags_IFF_ALLMULTI != 0 {
                sys::dev_set_allmulti(lower, -1);
            }
            if flags & sys::net_device_flags_IFF_PROMISC != 0 {
                sys::dev_set_promiscuity(lower, -1);
            }
            sys::dev_uc_unsync(lower, dev);
            sys::dev_mc_unsync(lower, dev);
            cd.lower_addr(&rtnl, false);
        }
        sys::netif_carrier_off(dev);
    }
    0
}

/// `ndo_start_xmit`: out through the carpdev, only while this host may send
/// for the device (a BACKUP never sends from the virtual MAC), with the
/// source MAC the balancing mode wants (`carp_tx::fix_l2`).
///
/// # Safety
///
/// Called by the kernel with a registered carp device and an skb it hands
/// over to us.
unsafe extern "C" fn carp_start_xmit(
    skb: *mut sys::sk_buff,
    dev: *mut sys::net_device,
) -> sys::netdev_tx_t {
    // SAFETY: the device is live while it transmits.
    let cd = unsafe { carp_dev(dev) };
    let lower = cd.lower();
    let snap = cd.snapshot();
    if lower.is_null() || !snap.may_send() {
        // SAFETY: the skb is ours.
        unsafe {
            sys::carp_dev_tx_dropped(dev);
            sys::carp_kfree_skb(skb);
        }
        return sys::netdev_tx_NETDEV_TX_OK;
    }
    // SAFETY: `lower` is live (RCU: we run with BHs off); the skb is ours.
    let fixed = unsafe {
        crate::carp_tx::fix_l2(
            skb,
            dev,
            snap.mode,
            dev_mac(lower),
            |dst| cd.arp_entry(&snap, dst).map(|(_, mac)| mac),
            || cd.own_entry_mac(&snap),
        )
    };
    if !fixed {
        // SAFETY: as above.
        unsafe {
            sys::carp_dev_tx_dropped(dev);
            sys::carp_kfree_skb(skb);
        }
        return sys::netdev_tx_NETDEV_TX_OK;
    }
    // SAFETY: as above; __dev_queue_xmit consumes the skb.
    unsafe {
        let len = sys::carp_skb_len(skb);
        sys::carp_skb_set_dev(skb, lower);
        let r = sys::__dev_queue_xmit(skb, null_mut());
        // net_xmit_eval(): congestion (NET_XMIT_CN, 2) still sent it.
        if r == 0 || r == 2 {
            sys::carp_dev_tx_add(dev, len);
        } else {
            sys::carp_dev_tx_dropped(dev);
        }
    }
    sys::netdev_tx_NETDEV_TX_OK
}

/// `ndo_set_rx_mode`: the device's unicast and multicast address lists
/// (for example the solicited-node groups of its IPv6 addresses) go to the
/// carpdev's filter, as vlan and macvlan do.
///
/// # Safety
///
/// Called by the kernel with the device's address lock held.
unsafe extern "C" fn carp_set_rx_mode(dev: *mut sys::net_device) {
    // SAFETY: as documented; `lower` changes only under this lock.
    unsafe {
        let lower = carp_dev(dev).lower();
        if !lower.is_null() {
            sys::dev_mc_sync(lower, dev);
            sys::dev_uc_sync(lower, dev);
        }
    }
}

/// `ndo_change_rx_flags`: ALLMULTI and PROMISC go to the carpdev while
/// running (open applies them, stop takes them back).
///
/// # Safety
///
/// Called by the kernel under RTNL.
unsafe extern "C" fn carp_change_rx_flags(dev: *mut sys::net_device, change: c_int) {
    // SAFETY: as documented.
    unsafe {
        let lower = carp_dev(dev).lower();
        let flags = (*dev).flags;
        if lower.is_null() || !sys::carp_netif_running(dev) {
            return;
        }
        let change = change as u32;
        if change & sys::net_device_flags_IFF_ALLMULTI != 0 {
            let on = flags & sys::net_device_flags_IFF_ALLMULTI != 0;
            sys::dev_set_allmulti(lower, if on { 1 } else { -1 });
        }
        if change & sys::net_device_flags_IFF_PROMISC != 0 {
            let on = flags & sys::net_device_flags_IFF_PROMISC != 0;
            sys::dev_set_promiscuity(lower, if on { 1 } else { -1 });
        }
    }
}

/// `ndo_uninit`: stops the engine. The device left its carpdev before
/// (`dellink`, or the carpdev's unregistration: `carp_port::detach`).
///
/// # Safety
///
/// Called by the kernel under RTNL while unregistering a carp device, or
/// when its registration fails.
unsafe extern "C" fn carp_uninit(dev: *mut sys::net_device) {
    // SAFETY: as documented; the state is initialised before registration.
    let cd = unsafe { carp_dev(dev) };
    cd.state.lock().dead = true;
    // The callback sees `dead` and does not re-arm.
    // SAFETY: initialised before registration.
    unsafe { sys::hrtimer_cancel(cd.timer.get()) };
    if !cd.lower().is_null() {
        pr_warn!("a device was unregistered while still on its carpdev\n");
    }
}

/// `priv_destructor`: drops the Rust state (the device is freed after).
///
/// # Safety
///
/// Called by the kernel after the device was unregistered, or when its
/// registration failed after `ndo_init`.
unsafe extern "C" fn carp_destructor(dev: *mut sys::net_device) {
    // SAFETY: the timer was cancelled in uninit, and queued work holds a
    // reference (so it ran), so nothing uses the state any more.
    unsafe { carp_dev(dev).drop_state() };
}

/// `ndo_get_iflink`: the lower device (`ip link` shows `carp0@eth0`).
///
/// # Safety
///
/// Called by the kernel with a registered carp device, with or without
/// RTNL (sysfs `iflink` reads it with neither RTNL nor RCU held).
unsafe extern "C" fn carp_get_iflink(dev: *const sys::net_device) -> c_int {
    // The carpdev may change and be freed meanwhile: it is freed only after
    // a grace period that follows its removal from `lower`, so it is read
    // inside an RCU read-side critical section.
    let _rcu = Rcu::lock();
    // SAFETY: `dev` is a carp device; its lower device, if any, is live
    // until the read side ends.
    unsafe {
        let lower = carp_dev(dev).lower();
        if lower.is_null() {
            (*dev).ifindex
        } else {
            core::ptr::read_volatile(core::ptr::addr_of!((*lower).ifindex))
        }
    }
}

/// `ndo_change_mtu`: at most the carpdev's MTU (a larger frame could never
/// leave; the range checks against `min_mtu`/`max_mtu` ran before).
///
/// # Safety
///
/// Called by the kernel under RTNL with a registered carp device.
unsafe extern "C" fn carp_change_mtu(dev: *mut sys::net_device, new_mtu: c_int) -> c_int {
    // SAFETY: as documented; the carpdev is live under RTNL.
    unsafe {
        let cd = carp_dev(dev);
        let lower = cd.lower();
        // (Following the carpdev may stop at 1280 above it: see
        // `lower_mtu_changed`.)
        let following = cd.mtu_following.load(Ordering::Relaxed);
        if !following && !lower.is_null() && new_mtu as u32 > (*lower).mtu {
            return EINVAL.to_errno();
        }
        if !following {
            cd.mtu_wanted.store(new_mtu as u32, Ordering::Relaxed);
        }
        // WRITE_ONCE: lockless readers of the MTU.
        core::ptr::write_volatile(core::ptr::addr_of_mut!((*dev).mtu), new_mtu as u32);
    }
    0
}

static NETDEV_OPS: sys::net_device_ops = sys::net_device_ops {
    ndo_uninit: Some(carp_uninit),
    ndo_get_iflink: Some(carp_get_iflink),
    ndo_change_mtu: Some(carp_change_mtu),
    ndo_open: Some(carp_open),
    ndo_stop: Some(carp_stop),
    ndo_start_xmit: Some(carp_start_xmit),
    ndo_set_rx_mode: Some(carp_set_rx_mode),
    ndo_change_rx_flags: Some(carp_change_rx_flags),
    // The `ip` mode's shared MAC is a multicast one.
    ndo_validate_addr: Some(sys::carp_validate_addr),
    // SAFETY: all-zero is a valid `net_device_ops` (every op absent).
    ..unsafe { core::mem::zeroed() }
};

/// Sets a new device up as a carp device (`rtnl_link_ops.setup`).
///
/// # Safety
///
/// `dev` is freshly allocated and unregistered.
pub(crate) unsafe fn setup(dev: *mut sys::net_device) {
    // SAFETY: as documented.
    unsafe {
        sys::ether_setup(dev);
        (*dev).netdev_ops = &NETDEV_OPS;
        (*dev).needs_free_netdev = true;
        (*dev).priv_destructor = Some(carp_destructor);
        let fast = &mut (*dev).__bindgen_anon_1.priv_flags_fast;
        let flags = fast.priv_flags() & !u64::from(sys::netdev_priv_flags_IFF_TX_SKB_SHARING);
        fast.set_priv_flags(flags | u64::from(sys::netdev_priv_flags_IFF_NO_QUEUE));
        fast.set_lltx(1);
        // Per-namespace state and the lower device must stay together.
        (*dev).set_netns_immutable(1);
        (*dev).min_mtu = sys::ETH_MIN_MTU;
        // Per-CPU packet and byte counters, allocated by the core.
        sys::carp_dev_use_tstats(dev);
        sys::carp_eth_hw_addr_random(dev);
    }
}
