// SPDX-License-Identifier: GPL-2.0

//! Sending: advertisements, and the layer-2 fix-ups of what the carp device
//! sends.
//!
//! Advertisements leave directly on the lower device as complete Ethernet
//! frames (like ucarp), not through the carp device: a BACKUP carp device has
//! no carrier, and a device that just became MASTER only gets its qdisc once
//! the link watcher ran, yet its first advertisement must go out at once.
//!
//! Frames the stack sends through a carp device get the source MAC their
//! balancing mode wants ([`fix_l2`]); in ARP balancing, ARP replies and
//! neighbour advertisements carry the MAC of the entry that serves the
//! destination, the MAC that destination must use.

use crate::carp_balance::{self, Balancing};
use crate::carp_net::Stats;
use crate::carp_proto::{cksum, Addrs, Stat, CARP_TTL, GROUP_V4, GROUP_V6, HDR_LEN, IPPROTO_CARP};
use crate::carp_sys as sys;
use crate::carp_util::dev_mac;
use core::ptr::null_mut;

const ETH_HLEN: usize = 14;
const IP4_HLEN: usize = 20;
const IP6_HLEN: usize = 40;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
/// Headroom so lower devices with larger headers need not reallocate.
const HEADROOM: usize = 32;

/// Where and how a carp device sends.
pub(crate) struct Tx<'a> {
    /// The carpdev (live while the caller holds the device's state).
    pub(crate) lower: *mut sys::net_device,
    /// The device's counters.
    pub(crate) dev: &'a Stats,
    /// The namespace's counters.
    pub(crate) net: &'a Stats,
    /// Balancing mode (decides the source MAC).
    pub(crate) mode: Balancing,
    /// Unicast IPv4 peer instead of 224.0.0.18.
    pub(crate) peer: Option<[u8; 4]>,
}

impl Tx<'_> {
    fn count(&self, stat: Stat) {
        self.dev.count(stat);
        self.net.count(stat);
    }

    /// Sends the advertisement `packet` over IPv4 and/or IPv6; false if a
    /// frame could not be sent (counted, for send-error demotion).
    pub(crate) fn advert(
        &self,
        packet: &[u8; HDR_LEN],
        v4: bool,
        v6: bool,
        addrs: &Addrs<'_>,
    ) -> bool {
        let vhid = packet[1];
        // SAFETY: the lower device is live while a carp device is on it; it
        // is an Ethernet device (checked when attached).
        let real = unsafe { dev_mac(self.lower) };
        let src_mac = carp_balance::source_mac(self.mode, carp_balance::virtual_mac(vhid), real);
        let mut ok = true;
        if v4 {
            ok &= self.v4(src_mac, packet, addrs);
        }
        if v6 {
            ok &= self.v6(src_mac, packet, addrs);
        }
        ok
    }

    /// Builds a frame (Ethernet header, `ip`, `payload`) in a new skb and
    /// hands it to the lower device.
    fn frame(
        &self,
        dst: [u8; 6],
        src: [u8; 6],
        proto: u16,
        ip: &[u8],
        payload: &[u8],
        stat: Stat,
    ) -> bool {
        let len = ETH_HLEN + ip.len() + payload.len();
        // SAFETY: allocation in atomic context.
        let skb = unsafe {
            sys::carp_alloc_skb(
                HEADROOM.saturating_add(len) as u32,
                kernel::bindings::GFP_ATOMIC,
            )
        };
        if skb.is_null() {
            self.count(Stat::ONoMem);
            return false;
        }
        // SAFETY: a fresh skb with HEADROOM + len bytes of tailroom: reserve
        // the headroom, then `skb_put` returns `len` writable bytes.
        let f = unsafe {
            sys::carp_skb_reserve(skb, HEADROOM as i32);
            core::slice::from_raw_parts_mut(sys::skb_put(skb, len as u32).cast::<u8>(), len)
        };
        let ethertype = proto.to_be_bytes();
        let bytes = dst
            .iter()
            .chain(&src)
            .chain(&ethertype)
            .chain(ip)
            .chain(payload);
        for (d, s) in f.iter_mut().zip(bytes) {
            *d = *s;
        }
        // SAFETY: `skb` is ours, with its Ethernet header at the start; the
        // lower device is live. __dev_queue_xmit consumes the skb.
        let err = unsafe {
            sys::carp_skb_set_tx(skb, self.lower, proto.to_be(), ETH_HLEN as i32);
            sys::__dev_queue_xmit(skb, null_mut())
        };
        // net_xmit_eval(): congestion (NET_XMIT_CN, 2) still sent it.
        if err == 0 || err == 2 {
            self.count(stat);
            true
        } else {
            self.count(Stat::ONoMem);
            false
        }
    }

    fn v4(&self, src_mac: [u8; 6], packet: &[u8; HDR_LEN], addrs: &Addrs<'_>) -> bool {
        // The lower device's primary address, else the carp device's first.
        // SAFETY: the lower device is live.
        let lower_addr = unsafe {
            sys::inet_select_addr(self.lower, 0, 0 /* RT_SCOPE_UNIVERSE */)
        };
        let src = match lower_addr {
            0 => match addrs.v4.first() {
                Some(a) => *a,
                None => return true,
            },
            a => a.to_ne_bytes(),
        };
        let (dst, dst_mac) = match self.peer {
            // A unicast peer gets an L2 broadcast frame: no neighbour lookup
            // from the timer (OpenBSD routes it; see the docs).
            Some(p) => (p, [0xff; 6]),
            None => (GROUP_V4, [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]),
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
        self.frame(dst_mac, src_mac, ETH_P_IP, &ip, packet, Stat::OPackets)
    }

    fn v6(&self, src_mac: [u8; 6], packet: &[u8; HDR_LEN], addrs: &Addrs<'_>) -> bool {
        let mut ll = sys::in6_addr::default();
        let group = sys::in6_addr {
            in6_u: sys::in6_addr__bindgen_ty_1 { u6_addr8: GROUP_V6 },
        };
        // The lower device's source address for ff02::12: its link-local one.
        // SAFETY: the lower device and its namespace are live; `ll` is written
        // on success.
        let have_ll = unsafe {
            sys::ipv6_dev_get_saddr(
                sys::carp_dev_net(self.lower),
                self.lower,
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
                None => return true,
            }
        };
        let mut ip = [0u8; IP6_HLEN];
        ip[0] = 0x60;
        ip[4..6].copy_from_slice(&(HDR_LEN as u16).to_be_bytes());
        ip[6] = IPPROTO_CARP;
        ip[7] = CARP_TTL;
        ip[8..24].copy_from_slice(&src);
        ip[24..40].copy_from_slice(&GROUP_V6);
        let dst_mac = [0x33, 0x33, 0x00, 0x00, 0x00, 0x12];
        self.frame(dst_mac, src_mac, ETH_P_IPV6, &ip, packet, Stat::OPackets6)
    }
}

const ETH_P_ARP: u16 = 0x0806;

/// Rewrites the Ethernet source (and in ARP balancing the link-layer
/// address an ARP reply or neighbour advertisement announces) of a frame
/// the carp device sends. `entry_mac` gives, in ARP balancing, the MAC of
/// the entry serving a destination MAC if this host is MASTER of it.
/// Returns false if the frame could not be made writable (drop it).
///
/// # Safety
///
/// `skb` is owned by the caller, data at its Ethernet header.
pub(crate) unsafe fn fix_l2(
    skb: *mut sys::sk_buff,
    mode: Balancing,
    real: [u8; 6],
    entry_mac: impl Fn(&[u8; 6]) -> Option<[u8; 6]>,
) -> bool {
    match mode {
        Balancing::None | Balancing::IpUnicast => true,
        // The multicast MAC is no valid source, and stealth never lets a
        // switch learn the shared MAC.
        // SAFETY: forwarded.
        Balancing::Ip | Balancing::IpStealth => unsafe {
            sys::carp_skb_set_eth_src(skb, real.as_ptr())
        },
        // SAFETY: forwarded.
        Balancing::Arp => unsafe { fix_arp_mode(skb, real, entry_mac) },
    }
}

/// ARP balancing: frames to a host leave with the MAC of the entry that
/// serves it (or the real MAC when another host serves it, so no switch
/// learns an entry's MAC on the wrong port), and ARP replies / neighbour
/// advertisements / solicitations to it announce that entry's MAC.
///
/// # Safety
///
/// As [`fix_l2`].
unsafe fn fix_arp_mode(
    skb: *mut sys::sk_buff,
    real: [u8; 6],
    entry_mac: impl Fn(&[u8; 6]) -> Option<[u8; 6]>,
) -> bool {
    let mut len = 0u32;
    // SAFETY: the caller owns the skb; the helper makes the linear head
    // writable (a frame built by the stack has its headers there) and
    // returns how many bytes of it there are.
    let data = unsafe { sys::carp_skb_writable_head(skb, &mut len) };
    if data.is_null() {
        return false;
    }
    // SAFETY: `len` writable bytes at `data`, ours until we return.
    let f = unsafe { core::slice::from_raw_parts_mut(data, len as usize) };
    let Some(dst) = f.get(0..6).and_then(|d| <[u8; 6]>::try_from(d).ok()) else {
        return true;
    };
    let mine = (dst[0] & 1 == 0).then(|| entry_mac(&dst)).flatten();
    if let Some(src) = f.get_mut(6..12) {
        src.copy_from_slice(&mine.unwrap_or(real));
    }
    let Some(mac) = mine else {
        return true;
    };
    let proto = f.get(12..14).map(|p| u16::from_be_bytes([p[0], p[1]]));
    if proto == Some(ETH_P_ARP) {
        // Ethernet/IPv4 ARP reply: the sender hardware address at 8.
        if f.get(14..22) == Some(&[0, 1, 8, 0, 6, 4, 0, 2]) {
            if let Some(sha) = f.get_mut(22..28) {
                sha.copy_from_slice(&mac);
            }
        }
    } else if proto == Some(ETH_P_IPV6) && f.get(20) == Some(&58) {
        // A neighbour advertisement (136) or solicitation (135): its
        // target (2) or source (1) link-layer address option.
        let (t, opt) = match f.get(54) {
            Some(136) => (2, 14 + 40 + 24),
            Some(135) => (1, 14 + 40 + 24),
            _ => return true,
        };
        if f.get(opt..opt + 2) == Some(&[t, 1]) {
            if let Some(ll) = f.get_mut(opt + 2..opt + 8) {
                ll.copy_from_slice(&mac);
                // SAFETY: the IPv6 header at 14 and its ICMPv6 payload are
                // in the writable head (checked by the slices above).
                unsafe { sys::carp_icmp6_csum(data.add(14), len - 14) };
            }
        }
    }
    true
}
