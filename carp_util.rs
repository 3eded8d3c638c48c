// SPDX-License-Identifier: GPL-2.0

//! Small safe wrappers shared by the kernel glue.

use crate::carp_sys as sys;
use core::cell::UnsafeCell;

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
pub(crate) fn set_err_msg(extack: *mut sys::netlink_ext_ack, msg: &'static core::ffi::CStr) {
    if extack.is_null() {
        return;
    }
    // SAFETY: `extack` is non-null and points to the ext_ack of the netlink
    // request being processed (callers pass what the kernel gave them);
    // `msg` is 'static, as NL_SET_ERR_MSG requires (it stores the pointer).
    unsafe { (*extack)._msg = msg.as_ptr() };
}
