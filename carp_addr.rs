// SPDX-License-Identifier: GPL-2.0

//! A device's IPv4 and IPv6 addresses, read from its `in_device` and
//! `inet6_dev`: the virtual addresses of a carp device (which its
//! advertisements' HMAC covers) and the prefixes of the other interfaces
//! (which pick a carpdev by subnet).

use crate::carp_proto::sort_addrs;
use crate::carp_sys as sys;
use crate::carp_util::Rtnl;
use kernel::prelude::*;

/// Whether `a` is an IPv6 link-local unicast address (fe80::/10).
pub(crate) fn is_v6_linklocal(a: &[u8; 16]) -> bool {
    a[0] == 0xfe && (a[1] & 0xc0) == 0x80
}

/// Calls `v4` for every IPv4 address of `dev` and `v6` for every IPv6
/// address, with their prefix lengths, until one returns false.
///
/// `v6` runs under the inet6_dev's read lock: it must not sleep.
///
/// # Safety
///
/// `dev` is live.
unsafe fn each_addr(
    _rtnl: &Rtnl,
    dev: *mut sys::net_device,
    mut v4: impl FnMut([u8; 4], u8) -> bool,
    mut v6: impl FnMut([u8; 16], u8) -> bool,
) {
    // SAFETY: RTNL protects the IPv4 address list; the IPv6 list is read
    // under the inet6_dev's lock; `dev` is live.
    unsafe {
        let in_dev = sys::carp_in_dev_rtnl(dev);
        if !in_dev.is_null() {
            let mut ifa = (*in_dev).ifa_list;
            while !ifa.is_null() && v4((*ifa).ifa_local.to_ne_bytes(), (*ifa).ifa_prefixlen) {
                ifa = (*ifa).ifa_next;
            }
        }
        let idev = sys::carp_in6_dev(dev);
        if !idev.is_null() {
            sys::carp_in6_dev_read_lock(idev);
            let head = core::ptr::addr_of_mut!((*idev).addr_list);
            let mut pos = (*head).next;
            while pos != head {
                let ifa = pos
                    .byte_sub(core::mem::offset_of!(sys::inet6_ifaddr, if_list))
                    .cast::<sys::inet6_ifaddr>();
                if !v6((*ifa).addr.in6_u.u6_addr8, (*ifa).prefix_len as u8) {
                    break;
                }
                pos = (*pos).next;
            }
            sys::carp_in6_dev_read_unlock(idev);
        }
    }
}

/// The addresses of a carp device: IPv4, IPv6 (not link-local) and IPv6
/// link-local. Link-local addresses are per host: they start no IPv6
/// advertisements and are left out of the HMAC we send, but peers that
/// include them (older OpenBSD, FreeBSD) are verified with them.
#[derive(Default)]
pub(crate) struct DevAddrs {
    /// IPv4 addresses.
    pub(crate) v4: KVec<[u8; 4]>,
    /// IPv6 addresses other than link-local.
    pub(crate) v6: KVec<[u8; 16]>,
    /// IPv6 link-local addresses.
    pub(crate) v6ll: KVec<[u8; 16]>,
}

impl DevAddrs {
    /// Reads the addresses of `dev`. An allocation failure drops the
    /// addresses that did not fit (they are read again on the next address
    /// event).
    ///
    /// # Safety
    ///
    /// `dev` is live.
    pub(crate) unsafe fn read(rtnl: &Rtnl, dev: *mut sys::net_device) -> Self {
        let mut a = Self::default();
        // SAFETY: forwarded.
        unsafe {
            each_addr(
                rtnl,
                dev,
                |x, _| a.v4.push(x, GFP_KERNEL).is_ok(),
                |x, _| {
                    let list = if is_v6_linklocal(&x) {
                        &mut a.v6ll
                    } else {
                        &mut a.v6
                    };
                    list.push(x, GFP_ATOMIC).is_ok()
                },
            )
        };
        // Sorted and without duplicates from here on: every HMAC over the
        // lists is then a linear merge (`carp_proto::for_each_sorted`), not
        // a selection per address under the state lock.
        sorted(&mut a.v4);
        sorted(&mut a.v6);
        sorted(&mut a.v6ll);
        a
    }
}

impl DevAddrs {
    /// Whether `a` is one of the IPv4 addresses (a binary search: the
    /// lists are sorted; the receive paths ask per ARP frame).
    pub(crate) fn has_v4(&self, a: &[u8; 4]) -> bool {
        self.v4.as_slice().binary_search(a).is_ok()
    }

    /// Whether `a` is one of the IPv6 addresses other than link-local.
    pub(crate) fn has_v6(&self, a: &[u8; 16]) -> bool {
        self.v6.as_slice().binary_search(a).is_ok()
    }
}

/// Sorts `l` and drops its duplicates.
fn sorted<const N: usize>(l: &mut KVec<[u8; N]>) {
    let n = sort_addrs(l.as_mut_slice());
    // SAFETY: `n` is at most the length, so the first `n` elements are
    // initialised; the dropped ones are `Copy` (nothing to drop).
    unsafe { l.set_len(n) };
}

/// Whether an address of `dev` (other than IPv6 link-local) shares its
/// prefix with `v4` or `v6`, by `dev`'s prefix lengths.
///
/// # Safety
///
/// `dev` is live.
pub(crate) unsafe fn in_subnet(
    rtnl: &Rtnl,
    dev: *mut sys::net_device,
    v4: Option<[u8; 4]>,
    v6: Option<[u8; 16]>,
) -> bool {
    let hit = core::cell::Cell::new(false);
    // SAFETY: forwarded.
    unsafe {
        each_addr(
            rtnl,
            dev,
            |a, len| {
                if v4.is_some_and(|x| same_prefix(&x, &a, len)) {
                    hit.set(true);
                }
                !hit.get()
            },
            |a, len| {
                if !is_v6_linklocal(&a) && v6.is_some_and(|x| same_prefix(&x, &a, len)) {
                    hit.set(true);
                }
                !hit.get()
            },
        )
    };
    hit.get()
}

/// Whether `a` and `b` share their first `len` bits.
pub(crate) fn same_prefix(a: &[u8], b: &[u8], len: u8) -> bool {
    let len = usize::from(len);
    if len == 0 || len > a.len() * 8 || a.len() != b.len() {
        return false;
    }
    let (full, rest) = (len / 8, len % 8);
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    matches!((a.get(full), b.get(full)), (Some(x), Some(y)) if x & mask == y & mask)
}

/// The primary IPv4 address of `dev` to use towards `dst` (the carpdev's
/// own address in the virtual addresses' subnet), if it has one.
///
/// # Safety
///
/// `dev` is live; RCU read side or RTNL held.
pub(crate) unsafe fn select_v4(dev: *const sys::net_device, dst: [u8; 4]) -> Option<[u8; 4]> {
    // SAFETY: forwarded; RT_SCOPE_LINK (253): an address usable on-link.
    let a = unsafe { sys::inet_select_addr(dev, u32::from_ne_bytes(dst), 253) };
    (a != 0).then(|| a.to_ne_bytes())
}
