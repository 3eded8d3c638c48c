// SPDX-License-Identifier: GPL-2.0

//! Small safe wrappers shared by the kernel glue: statics the kernel
//! writes to, extack messages, the BH-disabling spinlock, and the tokens
//! that prove RTNL or the RCU read side is held.

use crate::carp_sys as sys;
use core::cell::UnsafeCell;
use core::ffi::{c_int, CStr};
use core::marker::PhantomData;
use kernel::prelude::*;

/// A C object that lives in a `static` and that the kernel writes to once it
/// is registered (ops tables with list heads, notifier blocks, ids).
///
/// # Invariants
///
/// Rust code only takes raw pointers to the contents ([`KStatic::get`]); all
/// accesses through them happen in the kernel under the kernel's own locking
/// (RTNL, pernet_ops_rwsem, the notifier chain lock) or before registration.
#[repr(transparent)]
pub(crate) struct KStatic<T>(UnsafeCell<T>);

// SAFETY: by the type invariant, the contents are only touched by the kernel
// under its locks, never through shared Rust references.
unsafe impl<T> Sync for KStatic<T> {}

impl<T> KStatic<T> {
    /// Wraps `v`.
    pub(crate) const fn new(v: T) -> Self {
        Self(UnsafeCell::new(v))
    }

    /// A raw pointer for the kernel.
    pub(crate) const fn get(&self) -> *mut T {
        self.0.get()
    }
}

/// Sets the netlink extended-ack message (`NL_SET_ERR_MSG`).
///
/// `extack` may be null; `msg` is a static NUL-terminated string.
pub(crate) fn set_err_msg(extack: *mut sys::netlink_ext_ack, msg: &'static CStr) {
    if extack.is_null() {
        return;
    }
    // SAFETY: `extack` is non-null and points to the ext_ack of the netlink
    // request being processed (callers pass what the kernel gave them);
    // `msg` is 'static, as NL_SET_ERR_MSG requires (it stores the pointer).
    unsafe { (*extack)._msg = msg.as_ptr() };
}

/// Sets the extended-ack message and the offending attribute
/// (`NL_SET_ERR_MSG_ATTR`); `attr` may be null.
pub(crate) fn set_err_msg_attr(
    extack: *mut sys::netlink_ext_ack,
    msg: &'static CStr,
    attr: *const sys::nlattr,
) {
    set_err_msg(extack, msg);
    if extack.is_null() {
        return;
    }
    // SAFETY: as in `set_err_msg`; `attr` is null or an attribute of the
    // request, which is what `bad_attr` must point into.
    unsafe { (*extack).bad_attr = attr };
}

/// A configuration error for userspace: an errno, the extack message, and
/// which request attribute is at fault (if one is).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConfigFault {
    /// The error code returned.
    pub(crate) err: Error,
    /// The extack message.
    pub(crate) msg: &'static CStr,
}

impl ConfigFault {
    /// A fault with `err` and `msg`.
    pub(crate) const fn new(err: Error, msg: &'static CStr) -> Self {
        Self { err, msg }
    }

    /// Reports the fault in `extack` and returns its error.
    pub(crate) fn report(self, extack: *mut sys::netlink_ext_ack) -> Error {
        set_err_msg(extack, self.msg);
        self.err
    }
}

/// `-EMSGSIZE` (not among `kernel::error::code` in 6.12).
pub(crate) fn emsgsize() -> Error {
    Error::from_errno(-(kernel::bindings::EMSGSIZE as c_int))
}

/// `-EADDRNOTAVAIL` (not among `kernel::error::code` in 6.12).
pub(crate) fn eaddrnotavail() -> Error {
    Error::from_errno(-(kernel::bindings::EADDRNOTAVAIL as c_int))
}

/// A spinlock taken with bottom halves disabled, guarding a `T` that the
/// softirq paths (hrtimer, packet receive) and process context share.
///
/// 6.12's `kernel::sync::SpinLock` takes the lock without disabling BHs,
/// which would deadlock when a softirq on the same CPU wants the lock.
///
/// # Invariants
///
/// `lock` was initialised by [`BhLock::init`] before any [`BhLock::lock`];
/// `data` is only accessed through a [`BhGuard`], i.e. with `lock` held.
#[repr(C)]
pub(crate) struct BhLock<T> {
    lock: UnsafeCell<sys::spinlock_t>,
    data: UnsafeCell<T>,
}

// SAFETY: access to `data` is serialised by the spinlock.
unsafe impl<T: Send> Sync for BhLock<T> {}
// SAFETY: the lock itself can move between threads while unlocked.
unsafe impl<T: Send> Send for BhLock<T> {}

impl<T> BhLock<T> {
    /// Initialises a lock around `data` in place; `role` (`CARP_LOCK_*`)
    /// gives it its own lockdep class.
    ///
    /// # Safety
    ///
    /// `this` must be valid for writes, properly aligned, and must not move
    /// afterwards (spinlocks are address-sensitive with lockdep).
    pub(crate) unsafe fn init(this: *mut Self, data: T, role: u32) {
        // SAFETY: by the caller's guarantee `this` is valid for writes.
        unsafe {
            core::ptr::addr_of_mut!((*this).data).write(UnsafeCell::new(data));
            sys::carp_spin_lock_init((*this).lock.get(), role as core::ffi::c_int);
        }
    }

    /// Initialises a lock in place with its data written by `init`, for
    /// data too large to move through the stack.
    ///
    /// # Safety
    ///
    /// As [`BhLock::init`]; `init` must initialise the whole `T` it is
    /// given a pointer to.
    pub(crate) unsafe fn init_in_place(this: *mut Self, role: u32, init: impl FnOnce(*mut T)) {
        // SAFETY: by the caller's guarantee `this` is valid for writes;
        // `init` initialises the data.
        unsafe {
            init(UnsafeCell::raw_get(core::ptr::addr_of!((*this).data)));
            sys::carp_spin_lock_init((*this).lock.get(), role as core::ffi::c_int);
        }
    }

    /// Takes the lock with bottom halves disabled.
    pub(crate) fn lock(&self) -> BhGuard<'_, T> {
        // SAFETY: the lock was initialised (type invariant).
        unsafe { sys::carp_spin_lock_bh(self.lock.get()) };
        // INVARIANT: the lock is held until the guard drops.
        BhGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// Gives up the data, which must not be locked any more.
    ///
    /// # Safety
    ///
    /// Nobody may hold or take the lock again, and this is called once.
    pub(crate) unsafe fn drop_data(&self) {
        // SAFETY: by the caller's guarantee nobody accesses `data` any more.
        unsafe { core::ptr::drop_in_place(self.data.get()) };
    }
}

/// Proof that a [`BhLock`] is held; unlocks when dropped. Not `Send`: a
/// spinlock is released on the CPU that took it.
///
/// # Invariants
///
/// `lock.lock` is held by this guard.
pub(crate) struct BhGuard<'a, T> {
    lock: &'a BhLock<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> core::ops::Deref for BhGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held (type invariant).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> core::ops::DerefMut for BhGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held exclusively (type invariant).
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for BhGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: held by this guard (type invariant).
        unsafe { sys::carp_spin_unlock_bh(self.lock.lock.get()) };
    }
}

/// Proof that what RCU protects stays alive: the RCU read side is held, or
/// RTNL, which every writer of carp's RCU lists and pointers holds.
///
/// Lookups that return references into RCU-protected data take a
/// `&'a impl Protected` and tie their result to `'a`.
pub(crate) trait Protected {
    /// An RCU reader (a receive path) rather than a writer holding RTNL.
    /// (Read by the test kernels' hook only.)
    #[cfg_attr(not(carp_test_hooks), allow(dead_code))]
    const READER: bool = false;
}

/// The RCU read side is held (a softirq, or `rcu_read_lock`).
///
/// # Invariants
///
/// While a value exists, the CPU that made it is inside an RCU read-side
/// critical section. Not `Send`.
pub(crate) struct Rcu {
    owned: bool,
    _not_send: PhantomData<*mut ()>,
}

impl Rcu {
    /// Enters an RCU read-side critical section, left when the token drops.
    pub(crate) fn lock() -> Self {
        // SAFETY: rcu_read_lock may be called in any context; the token
        // unlocks it in the same task (not `Send`; with preemptible RCU
        // the task may migrate, which RCU allows).
        unsafe { sys::carp_rcu_read_lock() };
        Self {
            owned: true,
            _not_send: PhantomData,
        }
    }

    /// The caller is in an RCU read-side critical section that outlives the
    /// token (the receive path, a softirq, an hrtimer callback).
    ///
    /// # Safety
    ///
    /// The read side must be held for the token's lifetime.
    pub(crate) unsafe fn assume() -> Self {
        Self {
            owned: false,
            _not_send: PhantomData,
        }
    }
}

impl Drop for Rcu {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: entered in `lock`, by this task.
            unsafe { sys::carp_rcu_read_unlock() };
        }
    }
}

impl Protected for Rcu {
    const READER: bool = true;
}

/// RTNL is held.
///
/// # Invariants
///
/// While a value exists, the current task holds RTNL. Not `Send`.
pub(crate) struct Rtnl {
    owned: bool,
    _not_send: PhantomData<*mut ()>,
}

impl Rtnl {
    /// Takes RTNL; released when the token drops. Process context.
    pub(crate) fn lock() -> Self {
        // SAFETY: process context (the callers: netlink handlers, work).
        unsafe { sys::rtnl_lock() };
        Self {
            owned: true,
            _not_send: PhantomData,
        }
    }

    /// The caller holds RTNL (a kernel callback that runs under it).
    ///
    /// # Safety
    ///
    /// RTNL must be held for the token's lifetime.
    pub(crate) unsafe fn assume() -> Self {
        Self {
            owned: false,
            _not_send: PhantomData,
        }
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: taken in `lock`.
            unsafe { sys::rtnl_unlock() };
        }
    }
}

impl Protected for Rtnl {}

/// The name of a net_device, for log messages.
///
/// # Safety
///
/// `dev` must be a live net_device; the name may change under RTNL, so the
/// result is only for immediate printing.
pub(crate) unsafe fn dev_name<'a>(dev: *const sys::net_device) -> &'a CStr {
    // SAFETY: `name` is a NUL-terminated array inside a live device.
    unsafe { CStr::from_ptr((*dev).name.as_ptr()) }
}

/// The name of a net_device as text, for log messages (see [`dev_name`]).
///
/// # Safety
///
/// As [`dev_name`].
pub(crate) unsafe fn dev_str<'a>(dev: *const sys::net_device) -> &'a str {
    // SAFETY: forwarded.
    unsafe { dev_name(dev) }.to_str().unwrap_or("carp")
}

/// The current time for the protocol core: CLOCK_MONOTONIC in ns.
pub(crate) fn now() -> u64 {
    // SAFETY: ktime_get has no preconditions.
    let t = unsafe { sys::ktime_get() };
    u64::try_from(t).unwrap_or(0)
}

/// The 6-byte hardware address of an Ethernet device.
///
/// # Safety
///
/// `dev` is a live Ethernet device (`addr_len` 6); the address may change
/// under RTNL, so it is copied.
pub(crate) unsafe fn dev_mac(dev: *const sys::net_device) -> [u8; 6] {
    let mut mac = [0u8; 6];
    // SAFETY: `dev_addr` of an Ethernet device holds 6 bytes.
    unsafe { mac.copy_from_slice(core::slice::from_raw_parts((*dev).dev_addr, 6)) };
    mac
}

/// Per-CPU u64 counters: the per-packet paths add to their CPU's copy
/// without a lock or a shared atomic; readers sum over all CPUs.
///
/// # Invariants
///
/// `ptr` is a per-CPU allocation of `n` u64 per CPU, from
/// [`PcpuCounters::new`], freed once by [`PcpuCounters::free`].
pub(crate) struct PcpuCounters {
    ptr: *mut u64,
    n: u32,
}

// SAFETY: each CPU writes only its own copy (this_cpu ops); readers only
// read.
unsafe impl Sync for PcpuCounters {}
// SAFETY: as above.
unsafe impl Send for PcpuCounters {}

impl PcpuCounters {
    /// `n` counters per CPU, all zero. Process context.
    pub(crate) fn new(n: u32) -> Result<Self> {
        // SAFETY: a plain allocation; zeroed by the allocator.
        let ptr = unsafe { sys::carp_pcpu_alloc(n) };
        if ptr.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: allocated with `n` counters.
        Ok(Self { ptr, n })
    }

    /// Adds one to counter `i` of this CPU (any context).
    pub(crate) fn inc(&self, i: u32) {
        if i < self.n {
            // SAFETY: `i` is in range; the allocation lives (invariant).
            unsafe { sys::carp_pcpu_inc(self.ptr, i) };
        }
    }

    /// The sum of counter `i` over all CPUs.
    pub(crate) fn sum(&self, i: u32) -> u64 {
        if i >= self.n {
            return 0;
        }
        // SAFETY: as above.
        unsafe { sys::carp_pcpu_sum(self.ptr, i) }
    }

    /// Frees the counters.
    ///
    /// # Safety
    ///
    /// Called once, when nobody uses them any more.
    pub(crate) unsafe fn free(&self) {
        // SAFETY: by the caller's guarantee and the invariant.
        unsafe { sys::carp_pcpu_free(self.ptr) };
    }
}
