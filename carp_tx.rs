// SPDX-License-Identifier: GPL-2.0

//! Sending: advertisements, and the layer-2 fix-ups of what the carp device
//! sends.
//!
//! Advertisements leave directly on the lower device as complete Ethernet
//! frames (like ucarp), not through the carp device: a BACKUP carp device has
//! no carrier, and a device that just became MASTER only gets its qdisc once
//! the link watcher ran, yet its first advertisement must go out at once.
//! Advertisements to a unicast peer (`carppeer`) are IP packets routed out
//! of the carpdev, as OpenBSD sends them: the stack resolves the peer's
//! link-layer address.
//!
//! Frames the stack sends through a carp device get the source MAC their
//! balancing mode wants ([`fix_l2`]); in ARP balancing, ARP replies and
//! neighbour advertisements carry the MAC of the entry that serves the
//! destination, the MAC that destination must use.

use crate::carp_balance::{self, Balancing};
use crate::carp_net::Stats;
use crate::carp_proto::{
    cksum, Addrs, SendTo, Stat, CARP_TTL, GROUP_V4, GROUP_V6, HDR_LEN, IPPROTO_CARP,
};
use crate::carp_sys as sys;
use crate::carp_util::dev_mac;
use core::ptr::null_mut;

const ETH_HLEN: usize = 14;
const IP4_HLEN: usize = 20;
const IP6_HLEN: usize = 40;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_LOOPBACK: u16 = 0x9000;
/// Headroom so lower devices with larger headers need not reallocate.
const HEADROOM: u32 = 32;

/// Advertisements built under the device's state lock and sent once it is
/// released (see `CarpDev::with_core`): sending may resolve a neighbour,
/// and the ARP hook that then runs takes carp devices' state locks. A list
/// of skbs linked through `skb->next`, in build order.
///
/// # Invariants
///
/// `head` is null or the first of a list of skbs owned by the batch,
/// linked through `next` and ending at `tail`.
pub(crate) struct Batch {
    head: *mut sys::sk_buff,
    tail: *mut sys::sk_buff,
}

impl Batch {
    /// An empty batch.
    pub(crate) const fn new() -> Self {
        Self {
            head: null_mut(),
            tail: null_mut(),
        }
    }

    fn push(&mut self, skb: *mut sys::sk_buff) {
        // SAFETY: `skb` is a fresh skb we own; `tail` is ours (invariant).
        unsafe {
            sys::carp_skb_set_next(skb, null_mut());
            if self.tail.is_null() {
                self.head = skb;
            } else {
                sys::carp_skb_set_next(self.tail, skb);
            }
        }
        // INVARIANT: appended to the list.
        self.tail = skb;
    }

    fn pop(&mut self) -> Option<*mut sys::sk_buff> {
        if self.head.is_null() {
            return None;
        }
        let skb = self.head;
        // SAFETY: an skb of the list (invariant); unlinked before it is
        // handed on, as the transmit paths read `next` as a list.
        unsafe {
            self.head = sys::carp_skb_next(skb);
            sys::carp_skb_set_next(skb, null_mut());
        }
        if self.head.is_null() {
            self.tail = null_mut();
        }
        Some(skb)
    }

    /// Sends every packet in order, counting them in `dev` (a carp device)
    /// and `net`; `None` if there was none, else whether all left.
    ///
    /// # Safety
    ///
    /// Called with bottom halves disabled since before the batch was built
    /// (an RCU read side that keeps the carpdev the frames name alive), and
    /// with no carp device's state lock held.
    pub(crate) unsafe fn send(
        &mut self,
        dev: *mut sys::net_device,
        dev_stats: &Stats,
        net_stats: &Stats,
    ) -> Option<bool> {
        let mut all = None;
        while let Some(skb) = self.pop() {
            // SAFETY: a complete packet we own: a frame for its device, or
            // an IP packet with its route; each call consumes it.
            let (v4, err) = unsafe {
                let v4 = sys::carp_skb_protocol(skb) == ETH_P_IP.to_be();
                let err = if sys::carp_skb_routed(skb) {
                    let net = sys::carp_skb_dst_net(skb);
                    if v4 {
                        sys::ip_local_out(net, null_mut(), skb)
                    } else {
                        sys::ip6_local_out(net, null_mut(), skb)
                    }
                } else {
                    sys::__dev_queue_xmit(skb, null_mut())
                };
                (v4, err)
            };
            // net_xmit_eval(): congestion (NET_XMIT_CN, 2) still sent it.
            let ok = err == 0 || err == 2;
            if ok {
                let stat = if v4 { Stat::OPackets } else { Stat::OPackets6 };
                dev_stats.count(stat);
                net_stats.count(stat);
            } else {
                // SAFETY: the carp device is live (caller).
                unsafe { sys::carp_dev_tx_dropped(dev) };
            }
            all = Some(all.unwrap_or(true) && ok);
        }
        all
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        while let Some(skb) = self.pop() {
            // SAFETY: ours (type invariant), unlinked by `pop`.
            unsafe { sys::carp_kfree_skb(skb) };
        }
    }
}

/// Where and how a carp device sends.
pub(crate) struct Tx<'a> {
    /// The carp device (live while the caller holds its state).
    pub(crate) carp: *mut sys::net_device,
    /// The carpdev (live while the caller holds the device's state).
    pub(crate) lower: *mut sys::net_device,
    /// The device's counters.
    pub(crate) dev: &'a Stats,
    /// The namespace's counters.
    pub(crate) net: &'a Stats,
}

impl Tx<'_> {
    fn count(&self, stat: Stat) {
        self.dev.count(stat);
        self.net.count(stat);
    }

    /// Builds the advertisement `packet` over IPv4 and/or IPv6 into
    /// `batch`; false if a packet could not be built (counted, and a send
    /// error for the demotion).
    pub(crate) fn advert(
        &self,
        batch: &mut Batch,
        packet: &[u8; HDR_LEN],
        v4: bool,
        v6: bool,
        to: &SendTo,
        addrs: &Addrs<'_>,
    ) -> bool {
        let vhid = packet[1];
        // SAFETY: the lower device is live while a carp device is on it; it
        // is an Ethernet device (checked when attached).
        let real = unsafe { dev_mac(self.lower) };
        let src_mac = carp_balance::source_mac(to.balancing, carp_balance::virtual_mac(vhid), real);
        let mut ok = true;
        if v4 {
            ok &= self.v4(batch, src_mac, packet, to.peer, addrs);
        }
        if v6 {
            ok &= self.v6(batch, src_mac, packet, to.peer6, addrs);
        }
        ok
    }

    /// Adds a test of the carpdev's transmit path to `batch`: an Ethernet
    /// loopback frame (ECTP, EtherType 0x9000, a reply message) from and to
    /// the carpdev's own MAC, which a switch does not send back out of the
    /// port it came from and hosts ignore. A device demoted by send errors
    /// sends no advertisements while no entry is MASTER; this tells it when
    /// sending works again.
    pub(crate) fn probe(&self, batch: &mut Batch) -> bool {
        // SAFETY: the lower device is live and an Ethernet device.
        let real = unsafe { dev_mac(self.lower) };
        let mut eth = [0u8; ETH_HLEN];
        eth[..6].copy_from_slice(&real);
        eth[6..12].copy_from_slice(&real);
        eth[12..].copy_from_slice(&ETH_P_LOOPBACK.to_be_bytes());
        // skipCount 0, function 1 (reply), receipt number 0, padding to
        // the minimum frame size (all little-endian, as ECTP is).
        let mut msg = [0u8; 46];
        msg[2] = 1;
        self.frame(batch, &eth, ETH_P_LOOPBACK, &msg, &[])
    }

    /// A new skb with `headroom` reserved and `parts` after it, or null
    /// (counted).
    fn build(&self, headroom: u32, parts: &[&[u8]]) -> *mut sys::sk_buff {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        // SAFETY: allocation in atomic context.
        let skb = unsafe {
            sys::carp_alloc_skb(
                headroom.saturating_add(len as u32),
                kernel::bindings::GFP_ATOMIC,
            )
        };
        if skb.is_null() {
            self.count(Stat::ONoMem);
            return skb;
        }
        // SAFETY: a fresh skb with headroom + len bytes of tailroom: reserve
        // the headroom, then `skb_put` returns `len` writable bytes.
        let f = unsafe {
            sys::carp_skb_reserve(skb, headroom as i32);
            core::slice::from_raw_parts_mut(sys::skb_put(skb, len as u32).cast::<u8>(), len)
        };
        for (d, s) in f.iter_mut().zip(parts.iter().flat_map(|p| p.iter())) {
            *d = *s;
        }
        skb
    }

    /// Adds a frame (Ethernet header, `ip`, `payload`) for the lower device
    /// to `batch`.
    fn frame(
        &self,
        batch: &mut Batch,
        eth: &[u8; ETH_HLEN],
        proto: u16,
        ip: &[u8],
        payload: &[u8],
    ) -> bool {
        let skb = self.build(HEADROOM, &[eth, ip, payload]);
        if skb.is_null() {
            return false;
        }
        // SAFETY: `skb` is ours, with its Ethernet header at the start; the
        // lower device is live.
        unsafe { sys::carp_skb_set_tx(skb, self.lower, proto.to_be(), ETH_HLEN as i32) };
        batch.push(skb);
        true
    }

    /// Adds an IP packet (`ip`, `payload`) on the route `dst` (consumed)
    /// to `batch`: the stack resolves the neighbour and fills in the link
    /// layer when it is sent.
    fn routed(
        &self,
        batch: &mut Batch,
        dst: *mut sys::dst_entry,
        proto: u16,
        ip: &[u8],
        payload: &[u8],
    ) -> bool {
        // SAFETY: `dst` is a route we hold a reference to.
        let headroom = unsafe { sys::carp_dst_headroom(dst) };
        let skb = self.build(headroom, &[ip, payload]);
        if skb.is_null() {
            // SAFETY: ours, not handed on.
            unsafe { sys::dst_release(dst) };
            return false;
        }
        // SAFETY: `skb` is ours with its IP header at the start; the skb
        // takes over our reference to `dst`.
        unsafe { sys::carp_skb_set_route(skb, dst, proto.to_be()) };
        batch.push(skb);
        true
    }

    fn v4(
        &self,
        batch: &mut Batch,
        src_mac: [u8; 6],
        packet: &[u8; HDR_LEN],
        peer: Option<[u8; 4]>,
        addrs: &Addrs<'_>,
    ) -> bool {
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
        let dst = peer.unwrap_or(GROUP_V4);
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
        // A unicast peer: routed as OpenBSD does, out of the carpdev.
        let route = peer.map(|_| {
            // SAFETY: the lower device is live; addresses in network order.
            unsafe {
                sys::carp_route4(self.lower, u32::from_ne_bytes(src), u32::from_ne_bytes(dst))
            }
        });
        self.queue(batch, route, src_mac, ETH_P_IP, &ip, packet)
    }

    fn v6(
        &self,
        batch: &mut Batch,
        src_mac: [u8; 6],
        packet: &[u8; HDR_LEN],
        peer6: Option<[u8; 16]>,
        addrs: &Addrs<'_>,
    ) -> bool {
        let dst = peer6.unwrap_or(GROUP_V6);
        let mut src = sys::in6_addr::default();
        let to = sys::in6_addr {
            in6_u: sys::in6_addr__bindgen_ty_1 { u6_addr8: dst },
        };
        // The lower device's own address: link-local for ff02::12 or a
        // link-local peer, global for a global peer (never a virtual
        // address, which lives on the carp device).
        // SAFETY: the lower device is live; `src` is written on success.
        let have_src = unsafe { sys::carp_lower_saddr6(self.lower, &to, &mut src) } == 0;
        if !have_src {
            match addrs.v6.first() {
                Some(a) => src.in6_u.u6_addr8 = *a,
                None => return true,
            }
        }
        let mut ip = [0u8; IP6_HLEN];
        ip[0] = 0x60;
        ip[4..6].copy_from_slice(&(HDR_LEN as u16).to_be_bytes());
        ip[6] = IPPROTO_CARP;
        ip[7] = CARP_TTL;
        // SAFETY: the union's byte view of a written address.
        ip[8..24].copy_from_slice(&unsafe { src.in6_u.u6_addr8 });
        ip[24..40].copy_from_slice(&dst);
        let route = peer6.map(|_| {
            // SAFETY: the lower device is live; both addresses are valid.
            unsafe { sys::carp_route6(self.lower, &src, &to) }
        });
        self.queue(batch, route, src_mac, ETH_P_IPV6, &ip, packet)
    }

    /// Queues an advertisement's IP header `ip` (of family `proto`) and
    /// CARP `packet`: to a peer on `route` when one was looked up (null: no
    /// usable route out of the carpdev, a send error), else in a frame to
    /// the family's group MAC (224.0.0.18's or ff02::12's) from `src_mac`.
    fn queue(
        &self,
        batch: &mut Batch,
        route: Option<*mut sys::dst_entry>,
        src_mac: [u8; 6],
        proto: u16,
        ip: &[u8],
        packet: &[u8; HDR_LEN],
    ) -> bool {
        if let Some(route) = route {
            if route.is_null() {
                // SAFETY: the carp device is live.
                unsafe { sys::carp_dev_tx_dropped(self.carp) };
                return false;
            }
            return self.routed(batch, route, proto, ip, packet);
        }
        let group = if proto == ETH_P_IP {
            [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]
        } else {
            [0x33, 0x33, 0x00, 0x00, 0x00, 0x12]
        };
        let mut eth = [0u8; ETH_HLEN];
        eth[..6].copy_from_slice(&group);
        eth[6..12].copy_from_slice(&src_mac);
        eth[12..].copy_from_slice(&proto.to_be_bytes());
        self.frame(batch, &eth, proto, ip, packet)
    }
}

const ETH_P_ARP: u16 = 0x0806;

/// Rewrites the Ethernet source (and in ARP balancing the link-layer
/// address an ARP reply or neighbour advertisement announces) of a frame
/// the carp device sends. `entry_mac` gives, in ARP balancing, the MAC of
/// the entry serving a destination MAC if this host is MASTER of it, `own`
/// the MAC of an entry this host is MASTER of (for solicitations, whose
/// answer must come back here). Returns false if the frame could not be
/// made writable (drop it).
///
/// # Safety
///
/// `skb` is owned by the caller, data at its Ethernet header; `dev` is the
/// live carp device sending it.
pub(crate) unsafe fn fix_l2(
    skb: *mut sys::sk_buff,
    dev: *mut sys::net_device,
    mode: Balancing,
    real: [u8; 6],
    entry_mac: impl Fn(&[u8; 6]) -> Option<[u8; 6]>,
    own: impl Fn() -> Option<[u8; 6]>,
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
        Balancing::Arp => unsafe { fix_arp_mode(skb, dev, real, entry_mac, own) },
    }
}

/// ARP balancing: frames to a host leave with the MAC of the entry that
/// serves it (or the real MAC when another host serves it, so no switch
/// learns an entry's MAC on the wrong port), and ARP replies / neighbour
/// advertisements / solicitations to it announce that entry's MAC.
///
/// The device's own requests (ARP probes by now: sender 0.0.0.0,
/// `carp_netfilter`) and neighbour solicitations to a host another host
/// serves, or broadcast and multicast ones (no client MAC picks an entry),
/// must still be answered here, not at the device's MAC (the leader's,
/// whose MASTER may be another host), and must announce no virtual address
/// at a MAC that is wrong for the target: they carry `own`, the MAC of an
/// entry this host is MASTER of, which the carpdev steers here, and a
/// solicitation leaves from the device's link-local address (the target
/// binds `own` to that address only). A solicitation that would have to
/// announce a virtual address (the device has no usable link-local address
/// yet) is dropped; the kernel sends it again.
///
/// # Safety
///
/// As [`fix_l2`].
unsafe fn fix_arp_mode(
    skb: *mut sys::sk_buff,
    dev: *mut sys::net_device,
    real: [u8; 6],
    entry_mac: impl Fn(&[u8; 6]) -> Option<[u8; 6]>,
    own: impl Fn() -> Option<[u8; 6]>,
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
    let proto = f.get(12..14).map(|p| u16::from_be_bytes([p[0], p[1]]));
    if proto == Some(ETH_P_ARP) {
        // Ethernet/IPv4 ARP: the operation at 20, the sender hardware
        // address at 22, the sender IP at 28.
        if f.get(14..20) != Some(&[0, 1, 8, 0, 6, 4]) {
            return true;
        }
        let sha = match (f.get(20..22), mine) {
            // A reply to a host this host serves.
            (Some([0, 2]), Some(m)) => Some(m),
            // A probe: to be answered here.
            (Some([0, 1]), _) if f.get(28..32) == Some(&[0; 4]) => mine.or_else(&own),
            _ => None,
        };
        if let (Some(mac), Some(dst)) = (sha, f.get_mut(22..28)) {
            dst.copy_from_slice(&mac);
        }
        return true;
    }
    if proto != Some(ETH_P_IPV6) || f.get(20) != Some(&58) {
        return true;
    }
    // A neighbour advertisement (136) or solicitation (135): its target
    // (2) or source (1) link-layer address option, first.
    let opt = 14 + 40 + 24;
    let (ll, t) = match (f.get(54), mine) {
        (Some(136), Some(m)) => (m, 2),
        (Some(135), Some(m)) => (m, 1),
        (Some(135), None) => {
            let Some(o) = own() else {
                return true;
            };
            if f.get(opt..opt + 2) != Some(&[1, 1]) {
                return true;
            }
            let link_local = f
                .get(22..24)
                .is_some_and(|a| a[0] == 0xfe && a[1] & 0xc0 == 0x80);
            if !link_local {
                let mut src = [0u8; 16];
                // SAFETY: `dev` is live (the caller's guarantee); `src` is
                // 16 writable bytes.
                if unsafe { sys::carp_dev_lladdr6(dev, src.as_mut_ptr()) } != 0 {
                    return false;
                }
                if let Some(s) = f.get_mut(22..38) {
                    s.copy_from_slice(&src);
                }
            }
            (o, 1)
        }
        _ => return true,
    };
    if f.get(opt..opt + 2) != Some(&[t, 1]) {
        return true;
    }
    if let Some(dst) = f.get_mut(opt + 2..opt + 8) {
        dst.copy_from_slice(&ll);
    }
    // SAFETY: the IPv6 header at 14 and its ICMPv6 payload are in the
    // writable head (the option's slice above was in it).
    unsafe { sys::carp_icmp6_csum(data.add(14), len - 14) };
    true
}
