// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state.
//!
//! Every namespace has its own carp settings and devices. The state lives in
//! the namespace's `net_generic` area, created by `init` when the namespace
//! is created (or the module loaded) and dropped by `exit` after all of the
//! namespace's devices are gone.

use crate::carp_sys as sys;
use crate::carp_util::KStatic;
use core::ffi::{c_int, c_uint};
use core::sync::atomic::{AtomicU32, Ordering};
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
        })
    };
    0
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
