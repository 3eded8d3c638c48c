// SPDX-License-Identifier: GPL-2.0

//! Receiving: advertisements (IP protocol 112 handlers for IPv4 and IPv6)
//! and the lower device's rx_handler, which hands frames for the virtual
//! MAC and ARP/NDP requests for the virtual addresses to the carp device
//! only when this host is to answer them.

use crate::carp_balance::Balancing;
use crate::carp_dev::{CarpDev, Port};
use crate::carp_net::carp_net;
use crate::carp_proto::{Family, Header, RxError, Stat, State, GROUP_V4, GROUP_V6, IPPROTO_CARP};
use crate::carp_sys as sys;
use crate::carp_util::{now, KStatic};
use core::ffi::c_int;
use kernel::error::to_result;
use kernel::prelude::*;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;

/// Reads `len` bytes at the start of the skb's data, pulling them into the
/// linear area first.
///
/// # Safety
///
/// `skb` is a live skb owned by the caller; the slice is valid until the
/// skb is modified or freed.
unsafe fn pull<'a>(skb: *mut sys::sk_buff, len: usize) -> Option<&'a [u8]> {
    // SAFETY: by the caller's guarantee.
    unsafe {
        if !sys::carp_skb_may_pull(skb, len as u32) {
            return None;
        }
        Some(core::slice::from_raw_parts(sys::carp_skb_data(skb), len))
    }
}

/// Joins (or leaves) the CARP multicast groups on a lower device, so that
/// advertisements to 224.0.0.18 and ff02::12 are delivered locally.
///
/// # Safety
///
/// RTNL held, `lower` live.
pub(crate) unsafe fn join_groups(lower: *mut sys::net_device, join: bool) {
    let g4 = u32::from_ne_bytes(GROUP_V4);
    let g6 = sys::in6_addr {
        in6_u: sys::in6_addr__bindgen_ty_1 { u6_addr8: GROUP_V6 },
    };
    // SAFETY: RTNL held, `lower` live.
    unsafe {
        let in_dev = sys::carp_in_dev_rtnl(lower);
        if !in_dev.is_null() {
            if join {
                sys::ip_mc_inc_group(in_dev, g4);
            } else {
                sys::__ip_mc_dec_group(in_dev, g4, kernel::bindings::GFP_KERNEL);
            }
        }
        if join {
            sys::ipv6_dev_mc_inc(lower, &g6);
        } else {
            sys::ipv6_dev_mc_dec(lower, &g6);
        }
    }
}

/// Calls `v4` for every IPv4 address of `dev` and `v6` for every IPv6
/// address that is not link-local (per host, never virtual), with their
/// prefix lengths, until one returns false.
///
/// # Safety
///
/// RTNL held, `dev` live. `v6` runs under the inet6_dev's read lock: it
/// must not sleep (allocate atomically).
unsafe fn each_addr(
    dev: *mut sys::net_device,
    mut v4: impl FnMut([u8; 4], u8) -> bool,
    mut v6: impl FnMut([u8; 16], u8) -> bool,
) {
    // SAFETY: RTNL protects the IPv4 address list; the IPv6 list is read
    // under the inet6_dev's lock.
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
                let a = (*ifa).addr.in6_u.u6_addr8;
                // Link-local addresses neither start IPv6 advertisements nor
                // enter the HMAC's sending context (OpenBSD leaves them out
                // there too).
                let link_local = a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
                if !link_local && !v6(a, (*ifa).prefix_len as u8) {
                    break;
                }
                pos = (*pos).next;
            }
            sys::carp_in6_dev_read_unlock(idev);
        }
    }
}

/// Collects the addresses of a carp device (see [`each_addr`]).
///
/// # Safety
///
/// RTNL held, `dev` live.
pub(crate) unsafe fn collect_addrs(
    dev: *mut sys::net_device,
    v4: &mut KVec<[u8; 4]>,
    v6: &mut KVec<[u8; 16]>,
) {
    // SAFETY: forwarded.
    unsafe {
        each_addr(
            dev,
            |a, _| v4.push(a, GFP_KERNEL).is_ok(),
            |a, _| v6.push(a, GFP_ATOMIC).is_ok(),
        )
    }
}

/// Collects the addresses of `dev` with their prefix lengths (see
/// [`each_addr`]).
///
/// # Safety
///
/// RTNL held, `dev` live.
pub(crate) unsafe fn collect_prefixes(
    dev: *mut sys::net_device,
    v4: &mut KVec<([u8; 4], u8)>,
    v6: &mut KVec<([u8; 16], u8)>,
) {
    // SAFETY: forwarded.
    unsafe {
        each_addr(
            dev,
            |a, l| v4.push((a, l), GFP_KERNEL).is_ok(),
            |a, l| v6.push((a, l), GFP_ATOMIC).is_ok(),
        )
    }
}

/// Finds the carp device on `port` whose config has `vhid`.
fn by_vhid(port: &Port, vhid: u8) -> Option<&CarpDev> {
    // SAFETY: called under RCU from the receive path.
    unsafe { port.find(|cd| cd.state.lock().carp.find(vhid).is_some()) }
}

/// Validates and processes one advertisement received on `lower`; counts
/// and logs a drop: in the namespace before a device is found, in the
/// device (and namespace) after.
///
/// # Safety
///
/// Receive path (RCU read side, softirq); `lower` live.
unsafe fn input(
    lower: *mut sys::net_device,
    fam: Family,
    ttl: u8,
    payload: Option<&[u8]>,
    len: usize,
) {
    // SAFETY: the device's namespace lives while it receives.
    let net = unsafe { carp_net(sys::carp_dev_net(lower)) };
    let early = |e: RxError| {
        if let Some(s) = e.stat() {
            net.count(s);
        }
        crate::carp_net::log_rx(lower, e);
    };
    if !net.allow() {
        return;
    }
    // SAFETY: RCU read side held by the caller.
    let Some(port) = (unsafe { Port::get_rcu(lower) }) else {
        return early(RxError::BadIf);
    };
    let Some(payload) = payload else {
        return early(RxError::BadLen(len));
    };
    let hdr = match Header::parse(ttl, payload) {
        Ok(h) => h,
        Err(e) => return early(e),
    };
    let Some(cd) = by_vhid(port, hdr.vhid) else {
        return early(RxError::BadVhid(hdr.vhid));
    };
    // The namespace counted it on arrival; the device counts what reaches it.
    cd.count_dev(match fam {
        Family::V4 => Stat::IPackets,
        Family::V6 => Stat::IPackets6,
    });
    let preempt = net.preempt();
    let t = now();
    let mut res = Ok(());
    cd.with_core(|carp, addrs, mut sink| {
        res = carp.input(t, fam, &hdr, preempt, addrs, &mut sink);
    });
    if let Err(e) = res {
        if let Some(s) = e.stat() {
            cd.count(s);
        }
        crate::carp_net::log_rx(cd.dev, e);
    }
}

/// IPv4 advertisements.
///
/// # Safety
///
/// Called by the IPv4 stack (RCU read side) with an skb we now own, data at
/// the transport header.
unsafe extern "C" fn carp4_rcv(skb: *mut sys::sk_buff) -> c_int {
    // SAFETY: as documented.
    unsafe {
        let lower = sys::carp_skb_dev(skb);
        carp_net(sys::carp_dev_net(lower)).count(Stat::IPackets);
        let ttl = *sys::carp_skb_network(skb).add(8);
        let len = sys::carp_skb_len(skb) as usize;
        let payload = pull(skb, crate::carp_proto::HDR_LEN);
        input(lower, Family::V4, ttl, payload, len);
        sys::consume_skb(skb);
    }
    0
}

/// IPv6 advertisements.
///
/// # Safety
///
/// Called by the IPv6 stack (RCU read side) with an skb we now own, data at
/// the transport header.
unsafe extern "C" fn carp6_rcv(skb: *mut sys::sk_buff) -> c_int {
    // SAFETY: as documented.
    unsafe {
        let lower = sys::carp_skb_dev(skb);
        carp_net(sys::carp_dev_net(lower)).count(Stat::IPackets6);
        let hlim = *sys::carp_skb_network(skb).add(7);
        let len = sys::carp_skb_len(skb) as usize;
        let payload = pull(skb, crate::carp_proto::HDR_LEN);
        input(lower, Family::V6, hlim, payload, len);
        sys::consume_skb(skb);
    }
    0
}

/// Whether this host answers for `cd` now: a MASTER leader outside
/// balancing, any MASTER entry in IP balancing.
fn answering(cd: &CarpDev) -> bool {
    let st = cd.state.lock();
    if !st.carp.running() {
        return false;
    }
    match st.carp.config().balancing {
        Balancing::None => st.carp.leader_state() == State::Master,
        _ => st.carp.link_state() == State::Master,
    }
}

/// The carp device on `port` holding IPv4 address `a`.
fn by_v4(port: &Port, a: [u8; 4]) -> Option<&CarpDev> {
    // SAFETY: receive path, RCU read side.
    unsafe { port.find(|cd| cd.state.lock().v4.as_slice().contains(&a)) }
}

/// The carp device on `port` holding IPv6 address `a`.
fn by_v6<'a>(port: &'a Port, a: &[u8; 16]) -> Option<&'a CarpDev> {
    // SAFETY: receive path, RCU read side.
    unsafe { port.find(|cd| cd.state.lock().v6.as_slice().contains(a)) }
}

/// The carp device on `port` whose MAC is `mac`.
fn by_mac<'a>(port: &'a Port, mac: &[u8]) -> Option<&'a CarpDev> {
    // SAFETY: receive path, RCU read side; `dev_addr` is 6 bytes.
    unsafe { port.find(|cd| core::slice::from_raw_parts((*cd.dev).dev_addr, 6) == mac) }
}

/// What to do with a frame.
enum Verdict<'a> {
    /// Not ours: continue on the lower device.
    Pass,
    /// Ours but this host must not answer it: drop.
    Drop,
    /// Deliver on this carp device.
    To(&'a CarpDev),
}

/// Decides an ARP request or an IPv6 neighbour solicitation for one of our
/// addresses.
fn solicitation<'a>(cd: Option<&'a CarpDev>) -> Verdict<'a> {
    match cd {
        None => Verdict::Pass,
        Some(cd) if answering(cd) => Verdict::To(cd),
        Some(_) => Verdict::Drop,
    }
}

/// Classifies a frame received on a lower device.
///
/// # Safety
///
/// Receive path (RCU read side); `skb` live with its MAC header set and data
/// at the network header.
unsafe fn classify<'a>(port: &'a Port, skb: *mut sys::sk_buff) -> Verdict<'a> {
    // SAFETY: as documented.
    let (proto, mac) = unsafe {
        (
            u16::from_be(sys::carp_skb_protocol(skb)),
            core::slice::from_raw_parts(sys::carp_skb_mac(skb), 6),
        )
    };
    match proto {
        ETH_P_ARP => {
            // SAFETY: as documented.
            let Some(a) = (unsafe { pull(skb, 28) }) else {
                return Verdict::Pass;
            };
            // Ethernet/IPv4 ARP request: op 1, target IP at 24.
            if a[0..8] != [0, 1, 8, 0, 6, 4, 0, 1] {
                return Verdict::Pass;
            }
            let tip = [a[24], a[25], a[26], a[27]];
            return solicitation(by_v4(port, tip));
        }
        ETH_P_IPV6 => {
            // SAFETY: as documented.
            if let Some(p) = unsafe { pull(skb, 40 + 24) } {
                // ICMPv6 (58) neighbour solicitation (135), target at 8.
                if p[6] == 58 && p[40] == 135 {
                    let mut t = [0u8; 16];
                    t.copy_from_slice(&p[48..64]);
                    return solicitation(by_v6(port, &t));
                }
            }
        }
        ETH_P_IP => {}
        _ => return Verdict::Pass,
    }
    // Unicast (or the `ip` mode multicast) frames to a carp device's MAC.
    match by_mac(port, mac) {
        Some(cd) if answering(cd) => Verdict::To(cd),
        _ => Verdict::Pass,
    }
}

/// The lower device's rx_handler.
///
/// # Safety
///
/// Called by the core receive path under RCU with a valid `*pskb` whose
/// device's rx_handler_data is our [`Port`].
pub(crate) unsafe extern "C" fn carp_handle_frame(
    pskb: *mut *mut sys::sk_buff,
) -> sys::rx_handler_result_t {
    // SAFETY: as documented.
    unsafe {
        let skb = *pskb;
        let lower = sys::carp_skb_dev(skb);
        if sys::carp_skb_pkt_type(skb) == sys::PACKET_LOOPBACK as u8 {
            return sys::rx_handler_result_RX_HANDLER_PASS;
        }
        let Some(port) = Port::get_rcu(lower) else {
            return sys::rx_handler_result_RX_HANDLER_PASS;
        };
        match classify(port, skb) {
            Verdict::Pass => sys::rx_handler_result_RX_HANDLER_PASS,
            Verdict::Drop => {
                sys::carp_kfree_skb(skb);
                sys::rx_handler_result_RX_HANDLER_CONSUMED
            }
            Verdict::To(cd) => {
                let skb = sys::carp_skb_share_check(skb);
                if skb.is_null() {
                    return sys::rx_handler_result_RX_HANDLER_CONSUMED;
                }
                *pskb = skb;
                // Unicast to the virtual MAC, or the `ip` mode multicast
                // MAC standing for a unicast address: for this host.
                let pt = sys::carp_skb_pkt_type(skb);
                let to_dev = core::slice::from_raw_parts(sys::carp_skb_mac(skb), 6)
                    == core::slice::from_raw_parts((*cd.dev).dev_addr, 6);
                if pt == sys::PACKET_OTHERHOST as u8
                    || (pt == sys::PACKET_MULTICAST as u8 && to_dev)
                {
                    sys::carp_skb_set_pkt_type(skb, sys::PACKET_HOST as u8);
                }
                sys::carp_skb_set_dev(skb, cd.dev);
                sys::rx_handler_result_RX_HANDLER_ANOTHER
            }
        }
    }
}

static CARP4_PROTOCOL: KStatic<sys::net_protocol> = KStatic::new(sys::net_protocol {
    handler: Some(carp4_rcv),
    // SAFETY: all-zero is a valid `net_protocol`.
    ..unsafe { core::mem::zeroed() }
});

static CARP6_PROTOCOL: KStatic<sys::inet6_protocol> = KStatic::new(sys::inet6_protocol {
    handler: Some(carp6_rcv),
    flags: 0x1 | 0x2, // INET6_PROTO_NOPOLICY | INET6_PROTO_FINAL
    // SAFETY: all-zero is a valid `inet6_protocol`.
    ..unsafe { core::mem::zeroed() }
});

/// The IPPROTO_CARP handlers, registered while the module is loaded.
pub(crate) struct ProtoRegistration(());

impl ProtoRegistration {
    /// Registers the IPv4 and IPv6 handlers.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: the protocol structs are statics outliving registration.
        unsafe {
            if sys::inet_add_protocol(CARP4_PROTOCOL.get(), IPPROTO_CARP) < 0 {
                pr_err!("carp: IP protocol 112 is already taken\n");
                return Err(EBUSY);
            }
            if let Err(e) = to_result(sys::inet6_add_protocol(CARP6_PROTOCOL.get(), IPPROTO_CARP)) {
                sys::inet_del_protocol(CARP4_PROTOCOL.get(), IPPROTO_CARP);
                return Err(e);
            }
        }
        Ok(Self(()))
    }
}

impl Drop for ProtoRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in `new`; both wait for in-flight receivers.
        unsafe {
            sys::inet6_del_protocol(CARP6_PROTOCOL.get(), IPPROTO_CARP);
            sys::inet_del_protocol(CARP4_PROTOCOL.get(), IPPROTO_CARP);
        }
    }
}
