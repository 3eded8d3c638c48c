// SPDX-License-Identifier: GPL-2.0

//! `net.inet.carp.allow|preempt|log`: per-namespace sysctls.
//!
//! Each namespace gets its own copy of the table, pointing at its
//! [`CarpNet`](crate::carp_net::CarpNet) fields; the values are range
//! checked by `proc_dou8vec_minmax`.

use crate::carp_net::carp_net;
use crate::carp_sys as sys;
use crate::carp_util::KStatic;
use core::ffi::c_int;
use core::ptr::{addr_of_mut, null_mut};
use kernel::prelude::*;

static ZERO: KStatic<u32> = KStatic::new(0);
static ONE: KStatic<u32> = KStatic::new(1);
static SEVEN: KStatic<u32> = KStatic::new(7);

const ENTRIES: usize = 3;

/// What a namespace registered.
///
/// # Invariants
///
/// `table` is a kmalloc'ed copy of [`ENTRIES`] entries registered as
/// `header`, both null when not registered.
pub(crate) struct SysctlReg {
    header: *mut sys::ctl_table_header,
    table: *mut sys::ctl_table,
}

impl SysctlReg {
    /// Nothing registered.
    pub(crate) const fn empty() -> Self {
        Self {
            header: null_mut(),
            table: null_mut(),
        }
    }
}

fn entry(name: &'static core::ffi::CStr, data: *mut u8, max: &KStatic<u32>) -> sys::ctl_table {
    sys::ctl_table {
        procname: name.as_ptr(),
        data: data.cast(),
        maxlen: 1,
        mode: 0o644,
        proc_handler: Some(sys::proc_dou8vec_minmax),
        extra1: ZERO.get().cast(),
        extra2: max.get().cast(),
        // SAFETY: all-zero is valid for the remaining fields.
        ..unsafe { core::mem::zeroed() }
    }
}

/// Registers the sysctls of `net`.
///
/// # Safety
///
/// Called from the pernet init of `net`, after its `CarpNet` is written.
pub(crate) unsafe fn register(net: *mut sys::net) -> c_int {
    // SAFETY: the namespace's state was just initialised.
    let cn = unsafe { carp_net(net) };
    let tmpl = [
        entry(c"allow", cn.allow.as_ptr().cast(), &ONE),
        entry(c"preempt", cn.preempt.as_ptr().cast(), &ONE),
        entry(c"log", cn.log.as_ptr(), &SEVEN),
    ];
    let size = core::mem::size_of_val(&tmpl);
    // SAFETY: plain allocation; the copy is owned by the registration.
    let table = unsafe { sys::__kmalloc_noprof(size, kernel::bindings::GFP_KERNEL) }
        .cast::<sys::ctl_table>();
    if table.is_null() {
        return -(ENOMEM.to_errno().unsigned_abs() as c_int);
    }
    // SAFETY: `table` has room for the entries.
    unsafe { core::ptr::copy_nonoverlapping(tmpl.as_ptr(), table, ENTRIES) };
    // SAFETY: `net` is live; the table outlives the registration.
    let header =
        unsafe { sys::register_net_sysctl_sz(net, c"net/inet/carp".as_ptr(), table, ENTRIES) };
    if header.is_null() {
        // SAFETY: allocated above, not registered.
        unsafe { sys::kfree(table.cast()) };
        return ENOMEM.to_errno();
    }
    // SAFETY: exclusive during pernet init. INVARIANT: registered pair.
    unsafe {
        let reg = cn.sysctl.get();
        addr_of_mut!((*reg).header).write(header);
        addr_of_mut!((*reg).table).write(table);
    }
    0
}

/// Unregisters the sysctls of `net`.
///
/// # Safety
///
/// Called from the pernet exit of `net`, before its `CarpNet` is dropped.
pub(crate) unsafe fn unregister(net: *mut sys::net) {
    // SAFETY: the namespace's state is still there.
    let cn = unsafe { carp_net(net) };
    // SAFETY: exclusive during pernet exit; by the invariant the pair was
    // registered together (or both are null).
    unsafe {
        let reg = cn.sysctl.get();
        if !(*reg).header.is_null() {
            sys::unregister_net_sysctl_table((*reg).header);
            sys::kfree((*reg).table.cast());
        }
        *reg = SysctlReg::empty();
    }
}
