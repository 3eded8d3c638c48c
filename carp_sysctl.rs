// SPDX-License-Identifier: GPL-2.0

//! `net.inet.carp.allow|preempt|log`: per-namespace sysctls.
//!
//! Each namespace registers its own copy of the table, pointing at its
//! settings (u8 fields owned by the caller, `carp_net`); the values are
//! range checked by `proc_dou8vec_minmax`.

use crate::carp_sys as sys;
use crate::carp_util::KStatic;
use core::ffi::c_int;
use core::ptr::null_mut;
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

/// Registers the sysctls of `net` for the u8 settings `[allow, preempt,
/// log]`, recording the registration in `reg`. Returns 0 or -errno.
///
/// # Safety
///
/// Called from the pernet init of `net`; the three settings are valid u8s
/// (booleans for the first two) that outlive the registration; `reg` is
/// exclusively the caller's and later passed to [`unregister`].
pub(crate) unsafe fn register(
    net: *mut sys::net,
    reg: *mut SysctlReg,
    fields: [*mut u8; 3],
) -> c_int {
    let tmpl = [
        entry(c"allow", fields[0], &ONE),
        entry(c"preempt", fields[1], &ONE),
        entry(c"log", fields[2], &SEVEN),
    ];
    let size = core::mem::size_of_val(&tmpl);
    // SAFETY: plain allocation; the copy is owned by the registration.
    let table = unsafe { sys::__kmalloc_noprof(size, kernel::bindings::GFP_KERNEL) }
        .cast::<sys::ctl_table>();
    if table.is_null() {
        return ENOMEM.to_errno();
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
    // SAFETY: `reg` is the caller's. INVARIANT: a registered pair.
    unsafe { reg.write(SysctlReg { header, table }) };
    0
}

/// Unregisters what [`register`] recorded in `reg`.
///
/// # Safety
///
/// Called from the pernet exit of the namespace `reg` belongs to.
pub(crate) unsafe fn unregister(reg: *mut SysctlReg) {
    // SAFETY: by the invariant the pair was registered together (or both
    // are null); exclusive during pernet exit.
    unsafe {
        if !(*reg).header.is_null() {
            sys::unregister_net_sysctl_table((*reg).header);
            sys::kfree((*reg).table.cast());
        }
        reg.write(SysctlReg::empty());
    }
}
