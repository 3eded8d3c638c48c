// SPDX-License-Identifier: GPL-2.0

//! Sending advertisements.
//!
//! Advertisements leave directly on the lower device as complete Ethernet
//! frames (like ucarp), not through the carp device: a BACKUP carp device has
//! no carrier, and a device that just became MASTER only gets its qdisc once
//! the link watcher ran, yet its first advertisement must go out at once.

use crate::carp_balance::{self, Balancing};
use crate::carp_dev::CarpDev;
use crate::carp_proto::{cksum, Addrs, Stat, CARP_TTL, GROUP_V4, GROUP_V6, HDR_LEN, IPPROTO_CARP};
use crate::carp_sys as sys;
use core::ptr::null_mut;

const ETH_HLEN: usize = 14;
const IP4_HLEN: usize = 20;
const IP6_HLEN: usize = 40;
/// Headroom so lower devices with larger headers need not reallocate.
const HEADROOM: usize = 32;

/// How to send: the device's balancing mode and unicast peer.
#[derive(Clone, Copy)]
pub(crate) struct TxParams {
    /// Balancing mode (decides the source MAC).
    pub(crate) mode: Balancing,
    /// Unicast IPv4 peer instead of 224.0.0.18.
    pub(crate) peer: Option<[u8; 4]>,
}

/// Sends the advertisement `packet` over IPv4 and/or IPv6.
pub(crate) fn send_advert(
    cd: &CarpDev,
    tx: TxParams,
    packet: &[u8; HDR_LEN],
    v4: bool,
    v6: bool,
    addrs: &Addrs<'_>,
) {
    let vhid = packet[1];
    let lower = cd.lower();
    if lower.is_null() {
        // No carpdev yet (the core does not run without one).
        return;
    }
    let mut real = [0u8; 6];
    // SAFETY: the lower device is live while a carp device is on it; its
    // address is 6 bytes (Ethernet, checked when attached).
    unsafe { real.copy_from_slice(core::slice::from_raw_parts((*lower).dev_addr, 6)) };
    let src_mac = carp_balance::source_mac(tx.mode, carp_balance::virtual_mac(vhid), real);
    if v4 {
        send_v4(cd, src_mac, packet, addrs, tx.peer);
    }
    if v6 {
        send_v6(cd, src_mac, packet, addrs);
    }
}

/// Allocates an skb with `len` bytes of frame and returns it with a
/// mutable view of the frame, or counts a memory error.
fn alloc_frame<'a>(cd: &CarpDev, len: usize) -> Option<(*mut sys::sk_buff, &'a mut [u8])> {
    // SAFETY: allocation in atomic context.
    let skb = unsafe {
        sys::carp_alloc_skb(
            HEADROOM.saturating_add(len) as u32,
            kernel::bindings::GFP_ATOMIC,
        )
    };
    if skb.is_null() {
        cd.count(Stat::ONoMem);
        return None;
    }
    // SAFETY: a fresh skb with HEADROOM + len bytes of tailroom: reserve the
    // headroom, then `skb_put` returns `len` writable bytes.
    unsafe {
        sys::carp_skb_reserve(skb, HEADROOM as i32);
        let data = sys::skb_put(skb, len as u32).cast::<u8>();
        Some((skb, core::slice::from_raw_parts_mut(data, len)))
    }
}

/// Hands a complete frame to the lower device.
fn xmit(cd: &CarpDev, skb: *mut sys::sk_buff, proto: u16, stat: Stat) {
    // SAFETY: `skb` is ours, with its Ethernet header at the start; the lower
    // device is live.
    let err = unsafe {
        sys::carp_skb_set_tx(skb, cd.lower(), proto.to_be(), ETH_HLEN as i32);
        sys::__dev_queue_xmit(skb, null_mut())
    };
    if err == 0 {
        cd.count(stat);
    } else {
        cd.count(Stat::ONoMem);
    }
}

fn send_v4(
    cd: &CarpDev,
    src_mac: [u8; 6],
    packet: &[u8; HDR_LEN],
    addrs: &Addrs<'_>,
    peer: Option<[u8; 4]>,
) {
    // The lower device's primary address, else the carp device's first.
    // SAFETY: the lower device is live.
    let lower_addr = unsafe {
        sys::inet_select_addr(cd.lower(), 0, 0 /* RT_SCOPE_UNIVERSE */)
    };
    let src = match lower_addr {
        0 => match addrs.v4.first() {
            Some(a) => *a,
            None => return,
        },
        a => a.to_ne_bytes(),
    };
    let (dst, dst_mac) = match peer {
        // A unicast peer gets an L2 broadcast frame: no neighbour lookup
        // from the timer (OpenBSD routes it; see the docs).
        Some(p) => (p, [0xff; 6]),
        None => (GROUP_V4, [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]),
    };
    let len = ETH_HLEN + IP4_HLEN + HDR_LEN;
    let Some((skb, f)) = alloc_frame(cd, len) else {
        return;
    };
    let mut id = 0u16;
    // SAFETY: fills 2 bytes.
    unsafe { sys::get_random_bytes(core::ptr::addr_of_mut!(id).cast(), 2) };
    let total = (IP4_HLEN + HDR_LEN) as u16;
    let mut ip = [0u8; IP4_HLEN];
    ip[0] = 0x45;
    ip[1] = 0x10; // IPTOS_LOWDELAY, as OpenBSD and ucarp
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_ne_bytes());
    ip[6] = 0x40; // DF
    ip[8] = CARP_TTL;
    ip[9] = IPPROTO_CARP;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let c = cksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    for (d, s) in f.iter_mut().zip(
        dst_mac
            .iter()
            .chain(src_mac.iter())
            .chain([0x08u8, 0x00].iter())
            .chain(ip.iter())
            .chain(packet.iter()),
    ) {
        *d = *s;
    }
    xmit(cd, skb, 0x0800, Stat::OPackets);
}

fn send_v6(cd: &CarpDev, src_mac: [u8; 6], packet: &[u8; HDR_LEN], addrs: &Addrs<'_>) {
    let mut ll = sys::in6_addr::default();
    let group = sys::in6_addr {
        in6_u: sys::in6_addr__bindgen_ty_1 { u6_addr8: GROUP_V6 },
    };
    // The lower device's source address for ff02::12: its link-local one.
    // SAFETY: the lower device and its namespace are live; `ll` is written
    // on success.
    let have_ll = unsafe {
        sys::ipv6_dev_get_saddr(
            sys::carp_dev_net(cd.lower()),
            cd.lower(),
            &group,
            0,
            &mut ll,
        )
    } == 0;
    let src = if have_ll {
        // SAFETY: the union's byte view of a written address.
        unsafe { ll.in6_u.u6_addr8 }
    } else {
        match addrs.v6.first() {
            Some(a) => *a,
            None => return,
        }
    };
    let len = ETH_HLEN + IP6_HLEN + HDR_LEN;
    let Some((skb, f)) = alloc_frame(cd, len) else {
        return;
    };
    let mut ip = [0u8; IP6_HLEN];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&(HDR_LEN as u16).to_be_bytes());
    ip[6] = IPPROTO_CARP;
    ip[7] = CARP_TTL;
    ip[8..24].copy_from_slice(&src);
    ip[24..40].copy_from_slice(&GROUP_V6);
    let dst_mac = [0x33, 0x33, 0x00, 0x00, 0x00, 0x12];
    for (d, s) in f.iter_mut().zip(
        dst_mac
            .iter()
            .chain(src_mac.iter())
            .chain([0x86u8, 0xdd].iter())
            .chain(ip.iter())
            .chain(packet.iter()),
    ) {
        *d = *s;
    }
    xmit(cd, skb, 0x86dd, Stat::OPackets6);
}
