// SPDX-License-Identifier: GPL-2.0

//! `carpctl doctor [-t SECONDS] [IFNAME]`: reads the counters, captures the
//! advertisements on each carpdev for a few seconds and says in plain words
//! what is wrong and what to do: advertisements that fail authentication
//! (a different pass, or different address lists: each advertisement's
//! HMAC is checked against this host's pass and every subset of its
//! addresses, so a peer lacking some of them is named), advbase or advskew
//! mismatches, a host that stopped hearing its peers (the LAN dropping
//! multicast: carppeer), two MASTERs at once, VRRP routers using the same
//! id (and so the same virtual MAC), advertisements that arrive routed.
//! Exit status 1 when it found a problem.

use crate::nl::{self, a, cmd, Attr, Attrs, Carp, Error};
use carp_core::carp_proto::{Addrs, Key};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

#[derive(Debug, PartialEq, Clone)]
pub struct Options {
    pub ifname: Option<String>,
    /// The capture's length; by default three advertisement intervals of
    /// the slowest device, at least 3 s.
    pub seconds: Option<f64>,
}

pub fn parse(args: &mut impl Iterator<Item = String>) -> Result<Options, Error> {
    let mut o = Options {
        ifname: None,
        seconds: None,
    };
    while let Some(w) = args.next() {
        match w.as_str() {
            "-t" | "--time" => {
                let v = args
                    .next()
                    .ok_or_else(|| Error(format!("doctor: {w} needs seconds")))?;
                o.seconds = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 600.0)
                        .ok_or_else(|| {
                            Error(format!(
                                "doctor: '{v}' is not a number of seconds (0 < T <= 600)"
                            ))
                        })?,
                );
            }
            _ if w.starts_with('-') => {
                return Err(Error(format!(
                    "doctor: unknown option '{w}' (see carpctl --help)"
                )))
            }
            _ if o.ifname.is_none() => o.ifname = Some(w),
            _ => {
                return Err(Error(format!(
                    "doctor: unexpected '{w}' (see carpctl --help)"
                )))
            }
        }
    }
    Ok(o)
}

/// What a captured frame carried (IP protocol 112).
#[derive(Debug, Clone, PartialEq)]
pub enum Advert {
    Carp {
        vhid: u8,
        advbase: u8,
        advskew: u8,
        demote: u8,
        counter: [u8; 8],
        hmac: [u8; 20],
    },
    Vrrp {
        version: u8,
        vrid: u8,
        priority: u8,
    },
}

/// A captured advertisement.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub outgoing: bool,
    pub src_mac: [u8; 6],
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub advert: Advert,
}

/// Parses an Ethernet frame; `None` unless it is IP protocol 112.
pub fn parse_frame(f: &[u8], outgoing: bool) -> Option<Frame> {
    let src_mac: [u8; 6] = f.get(6..12)?.try_into().ok()?;
    let ethertype = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
    let (src, dst, ttl, payload) = match ethertype {
        0x0800 => {
            let ihl = usize::from(f.get(14)? & 0x0f) * 4;
            if *f.get(23)? != 112 || ihl < 20 {
                return None;
            }
            let total = usize::from(u16::from_be_bytes([*f.get(16)?, *f.get(17)?]));
            let s: [u8; 4] = f.get(26..30)?.try_into().ok()?;
            let d: [u8; 4] = f.get(30..34)?.try_into().ok()?;
            let end = (14 + total).min(f.len());
            (
                IpAddr::V4(Ipv4Addr::from(s)),
                IpAddr::V4(Ipv4Addr::from(d)),
                *f.get(22)?,
                f.get(14 + ihl..end)?,
            )
        }
        0x86dd => {
            if *f.get(20)? != 112 {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([*f.get(18)?, *f.get(19)?]));
            let s: [u8; 16] = f.get(22..38)?.try_into().ok()?;
            let d: [u8; 16] = f.get(38..54)?.try_into().ok()?;
            let end = (54 + len).min(f.len());
            (
                IpAddr::V6(Ipv6Addr::from(s)),
                IpAddr::V6(Ipv6Addr::from(d)),
                *f.get(21)?,
                f.get(54..end)?,
            )
        }
        _ => return None,
    };
    let version = payload.first()? >> 4;
    let advert = if version == 2 && payload.len() >= 36 && payload.get(3) == Some(&7) {
        Advert::Carp {
            vhid: payload[1],
            advskew: payload[2],
            demote: payload[4],
            advbase: payload[5],
            counter: payload.get(8..16)?.try_into().ok()?,
            hmac: payload.get(16..36)?.try_into().ok()?,
        }
    } else if version == 2 || version == 3 {
        Advert::Vrrp {
            version,
            vrid: *payload.get(1)?,
            priority: *payload.get(2)?,
        }
    } else {
        return None;
    };
    Some(Frame {
        outgoing,
        src_mac,
        src,
        dst,
        ttl,
        advert,
    })
}

/// A packet socket bound to one interface.
///
/// # Invariants
///
/// `fd` is an AF_PACKET socket bound to `ifindex`.
struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketSocket {
    /// Opens a socket for every protocol on `ifindex`, with a receive
    /// buffer large enough for a busy link between two reads (the kernel
    /// caps it at net.core.rmem_max).
    fn open(ifindex: u32) -> std::io::Result<Self> {
        let all = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: a plain socket(2) call.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = all;
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll of the size given; created
        // with protocol 0, the socket receives nothing before this bind.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let rcvbuf: libc::c_int = 4 << 20;
        // SAFETY: a valid int option of the size given, on our socket.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&rcvbuf as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            )
        };
        // INVARIANT: bound to `ifindex` above.
        Ok(PacketSocket { fd, ifindex })
    }

    /// The next frame within `wait` into `buf`: its length and whether
    /// this host sent it; `None` when none came.
    fn recv(&self, buf: &mut [u8], wait: Duration) -> Option<(usize, bool)> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        if unsafe { libc::poll(&mut pfd, 1, wait.as_millis().clamp(1, 60_000) as i32) } <= 0 {
            return None;
        }
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        // SAFETY: `buf` and `from` are valid for writes of the sizes given
        // and live across the call.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                (&mut from as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        // (The socket is bound to `ifindex`: a frame of another interface
        // would be a kernel bug, but costs nothing to refuse.)
        if n <= 0 || from.sll_ifindex != self.ifindex as i32 {
            return Some((0, false));
        }
        Some((n as usize, from.sll_pkttype == libc::PACKET_OUTGOING))
    }
}

/// Captures IP protocol 112 on `ifindex` for `d`.
fn capture(ifindex: u32, ifname: &str, d: Duration) -> Result<Vec<Frame>, Error> {
    let sock = PacketSocket::open(ifindex).map_err(|e| {
        Error(if e.raw_os_error() == Some(libc::EPERM) {
            format!("doctor: capturing on {ifname} needs CAP_NET_RAW (run it as root)")
        } else {
            format!("doctor: capturing on {ifname}: {e}")
        })
    })?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 2048];
    let end = Instant::now() + d;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(out);
        }
        if let Some((n, outgoing)) = sock.recv(&mut buf, left) {
            if let Some(f) = parse_frame(&buf[..n], outgoing) {
                out.push(f);
            }
        }
    }
}

/// The IPv4 and IPv6 (not link-local) addresses of `ifname`.
fn addresses(ifname: &str) -> (Vec<[u8; 4]>, Vec<[u8; 16]>) {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `ifap` with a list freed below.
    if unsafe { libc::getifaddrs(&mut ifap) } != 0 {
        return (v4, v6);
    }
    let mut p = ifap;
    while !p.is_null() {
        // SAFETY: `p` is an element of the list getifaddrs returned, alive
        // until freeifaddrs.
        let ifa = unsafe { &*p };
        p = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: a NUL-terminated name of the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
        // IPv4 addresses are named by their label (carp0:1).
        let n = name.to_bytes();
        let base = n.split(|&c| c == b':').next().unwrap_or(n);
        if base != ifname.as_bytes() {
            continue;
        }
        // SAFETY: `ifa_addr` is a valid sockaddr whose family says its type.
        unsafe {
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let s = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    v4.push(s.sin_addr.s_addr.to_ne_bytes());
                }
                libc::AF_INET6 => {
                    let s = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    let a = s.sin6_addr.s6_addr;
                    if !(a[0] == 0xfe && a[1] & 0xc0 == 0x80) {
                        v6.push(a);
                    }
                }
                _ => {}
            }
        }
    }
    // SAFETY: the list getifaddrs returned, freed once.
    unsafe { libc::freeifaddrs(ifap) };
    (v4, v6)
}

/// Does the advertisement authenticate with `key` over exactly these
/// addresses?
fn verifies(
    key: &Key,
    vhid: u8,
    v4: &[[u8; 4]],
    v6: &[[u8; 16]],
    counter: &[u8; 8],
    mac: &[u8; 20],
) -> bool {
    let a = Addrs {
        v4,
        v6,
        v6ll: &[],
        lladdr: None,
    };
    a.verify(key, vhid, true, counter, None, mac)
}

/// Why an advertisement fails authentication here: `Ok(())` if it does
/// not; `Err(Some(missing))` when it verifies over a subset of this host's
/// addresses (the sender lacks `missing`); `Err(None)` when no subset
/// does (a different pass, or the sender has addresses this host lacks).
pub fn auth_diagnosis(
    key: &Key,
    vhid: u8,
    v4: &[[u8; 4]],
    v6: &[[u8; 16]],
    counter: &[u8; 8],
    mac: &[u8; 20],
) -> Result<(), Option<Vec<IpAddr>>> {
    if verifies(key, vhid, v4, v6, counter, mac) {
        return Ok(());
    }
    let all: Vec<IpAddr> = v4
        .iter()
        .map(|a| IpAddr::V4(Ipv4Addr::from(*a)))
        .chain(v6.iter().map(|a| IpAddr::V6(Ipv6Addr::from(*a))))
        .collect();
    // Every proper subset, for at most 10 addresses (1023 HMACs).
    if all.is_empty() || all.len() > 10 {
        return Err(None);
    }
    for mask in 0u32..(1 << all.len()) - 1 {
        let keep = |i: usize| mask & (1 << i) != 0;
        let s4: Vec<[u8; 4]> = (0..v4.len()).filter(|&i| keep(i)).map(|i| v4[i]).collect();
        let s6: Vec<[u8; 16]> = (0..v6.len())
            .filter(|&i| keep(v4.len() + i))
            .map(|i| v6[i])
            .collect();
        if verifies(key, vhid, &s4, &s6, counter, mac) {
            return Err(Some(
                (0..all.len())
                    .filter(|&i| !keep(i))
                    .map(|i| all[i])
                    .collect(),
            ));
        }
    }
    Err(None)
}

fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// One device's view.
struct Dev {
    ifname: String,
    carpdev: Option<(u32, String)>,
    advbase: u32,
    /// `None` when the caller may not read it (PASS_SET without PASS).
    pass: Option<Vec<u8>>,
    peer: bool,
    /// (vhid, advskew, state) per entry.
    nodes: Vec<(u8, u32, u32)>,
    demote: u32,
    up: bool,
}

/// stats-get's counters of the namespace (`None`) or of one device.
fn stats_of(carp: &mut Carp, ifname: Option<&str>) -> [u64; 16] {
    let mut c = [0u64; 16];
    let req = ifname.iter().map(|n| Attr::string(a::IFNAME, n)).collect();
    if let Ok(r) = carp.request(cmd::STATS_GET, req, false) {
        let st = r
            .first()
            .and_then(|m| m.get(a::STATS))
            .map(Attrs::parse)
            .unwrap_or_default();
        for (i, v) in c.iter_mut().enumerate() {
            *v = st.uint(i as u16 + 1).unwrap_or(0);
        }
    }
    c
}

fn stat(c: &[u64; 16], name: &str) -> u64 {
    nl::STATS
        .iter()
        .position(|n| *n == name)
        .map(|i| c[i])
        .unwrap_or(0)
}

pub fn run(o: Options) -> Result<(), Error> {
    let mut carp = Carp::open()?;
    let mut problems = 0;
    let mut say = |kind: &str, text: String| {
        if kind == "problem" {
            problems += 1;
        }
        println!("  {kind}: {text}");
    };
    let allow = std::fs::read_to_string("/proc/sys/net/inet/carp/allow").unwrap_or_default();
    let replies = carp
        .request(
            cmd::DEV_GET,
            o.ifname
                .iter()
                .map(|n| Attr::string(a::IFNAME, n))
                .collect(),
            o.ifname.is_none(),
        )
        .map_err(|e| {
            Error(format!(
                "doctor: {}{e}",
                o.ifname
                    .as_deref()
                    .map(|n| format!("{n}: "))
                    .unwrap_or_default()
            ))
        })?;
    let devs: Vec<Dev> = replies
        .iter()
        .map(|d| {
            let ifname = d.string(a::IFNAME).unwrap_or_default();
            let nodes = d
                .all(a::NODE)
                .map(Attrs::parse)
                .map(|n| {
                    (
                        n.u32(nl::node::VHID).unwrap_or(0) as u8,
                        n.u32(nl::node::ADVSKEW).unwrap_or(0),
                        n.u32(nl::node::STATE).unwrap_or(0),
                    )
                })
                .collect();
            Dev {
                up: crate::if_flags(&ifname) & libc::IFF_UP != 0,
                ifname,
                carpdev: d.u32(a::CARPDEV).map(|i| (i, crate::ifname_of(i))),
                advbase: d.u32(a::ADVBASE).unwrap_or(1),
                pass: match (d.get(a::PASS), d.flag(a::PASS_SET)) {
                    (Some(p), _) => Some(p.to_vec()),
                    (None, true) => None,
                    (None, false) => Some(Vec::new()),
                },
                peer: d.get(a::PEER).is_some_and(|p| p != [0; 4])
                    || d.get(a::PEER6).is_some_and(|p| p != [0; 16]),
                nodes,
                demote: d.u32(a::DEMOTE).unwrap_or(0),
            }
        })
        .collect();
    if devs.is_empty() {
        println!("no carp devices in this network namespace");
        return Ok(());
    }
    let secs = o.seconds.unwrap_or_else(|| {
        let slowest = devs.iter().map(|d| d.advbase).max().unwrap_or(1).max(1);
        (3.0 * slowest as f64 + 0.5).max(3.0)
    });
    let before: Vec<[u64; 16]> = devs
        .iter()
        .map(|d| stats_of(&mut carp, Some(&d.ifname)))
        .collect();
    let before_ns = stats_of(&mut carp, None);
    // One capture per carpdev, side by side.
    let mut carpdevs: BTreeMap<u32, String> = BTreeMap::new();
    for d in &devs {
        if let Some((i, n)) = &d.carpdev {
            carpdevs.insert(*i, n.clone());
        }
    }
    println!(
        "capturing advertisements on {} for {secs} s...",
        carpdevs.values().cloned().collect::<Vec<_>>().join(", ")
    );
    let handles: Vec<_> = carpdevs
        .iter()
        .map(|(i, n)| {
            let (i, n) = (*i, n.clone());
            std::thread::spawn(move || (i, capture(i, &n, Duration::from_secs_f64(secs))))
        })
        .collect();
    let mut frames: BTreeMap<u32, Vec<Frame>> = BTreeMap::new();
    for h in handles {
        let (i, r) = h
            .join()
            .map_err(|_| Error("doctor: the capture failed".into()))?;
        frames.insert(i, r?);
    }
    let after: Vec<[u64; 16]> = devs
        .iter()
        .map(|d| stats_of(&mut carp, Some(&d.ifname)))
        .collect();
    let after_ns = stats_of(&mut carp, None);
    if allow.trim() == "0" {
        println!("namespace:");
        say(
            "problem",
            "carp is off in this network namespace (net.inet.carp.allow = 0): advertisements are neither sent nor received; sysctl -w net.inet.carp.allow=1".into(),
        );
    }
    let delta = |name: &str, i: usize| stat(&after[i], name).saturating_sub(stat(&before[i], name));
    for (di, d) in devs.iter().enumerate() {
        let got = d
            .carpdev
            .as_ref()
            .and_then(|(i, _)| frames.get(i))
            .cloned()
            .unwrap_or_default();
        let (v4, v6) = addresses(&d.ifname);
        let key = d.pass.as_ref().and_then(|p| Key::new(p).ok());
        let sent = delta("opackets", di) + delta("opackets6", di);
        let recv = delta("ipackets", di) + delta("ipackets6", di);
        for &(vhid, advskew, state) in &d.nodes {
            let st = nl::STATES.get(state as usize).copied().unwrap_or("?");
            println!(
                "{} vhid {vhid}: {st}, advbase {} advskew {advskew}, carpdev {}; in {secs} s {sent} advertisement{} sent, {recv} received",
                d.ifname,
                d.advbase,
                d.carpdev.as_ref().map(|c| c.1.as_str()).unwrap_or("-"),
                if sent == 1 { "" } else { "s" },
            );
            if state == 0 {
                let why = if !d.up {
                    format!("{} is down (ip link set {} up)", d.ifname, d.ifname)
                } else if d
                    .carpdev
                    .as_ref()
                    .is_some_and(|(_, n)| crate::if_flags(n) & libc::IFF_RUNNING == 0)
                {
                    "its carpdev has no link".to_string()
                } else if v4.is_empty() && v6.is_empty() {
                    format!("it has no address (ip addr add ... dev {})", d.ifname)
                } else {
                    "it is not running".to_string()
                };
                say("problem", format!("INIT: {why}"));
            }
            // Others' CARP advertisements for this vhid.
            let mut others: BTreeMap<String, (Frame, usize)> = BTreeMap::new();
            for f in got.iter().filter(|f| !f.outgoing) {
                if let Advert::Carp { vhid: v, .. } = f.advert {
                    if v == vhid && !v4.iter().any(|a| IpAddr::V4(Ipv4Addr::from(*a)) == f.src) {
                        let e = others.entry(f.src.to_string()).or_insert((f.clone(), 0));
                        e.1 += 1;
                    }
                }
            }
            for (src, (f, n)) in &others {
                let Advert::Carp {
                    advbase,
                    advskew: oskew,
                    demote,
                    counter,
                    hmac,
                    ..
                } = f.advert
                else {
                    continue;
                };
                println!(
                    "  heard: {n} from {src} ({}): advbase {advbase} advskew {oskew} demote {demote}",
                    mac_text(&f.src_mac)
                );
                if f.ttl != 255 {
                    say("problem", format!("{src}'s advertisements arrive with TTL {} (not 255): they were routed; carp peers must share the LAN", f.ttl));
                }
                // The kernel is the authority (it also accepts HMACs over
                // link-local addresses, as older BSDs send): only when it
                // counted failures is a mismatch here a diagnosis.
                let refused = delta("badauth", di) > 0;
                let diag = key
                    .as_ref()
                    .map(|k| auth_diagnosis(k, vhid, &v4, &v6, &counter, &hmac))
                    .map(|r| if refused { r } else { Ok(()) });
                match diag {
                    None => say("note", "the pass is not readable here (needs CAP_NET_ADMIN): authentication not checked".into()),
                    Some(Ok(())) => {}
                    Some(Err(Some(missing))) => say(
                        "problem",
                        format!(
                            "{src} advertises vhid {vhid} with a different address list: it lacks {} (the HMAC covers every address, so each host refuses the other's advertisements and both become MASTER); give both hosts the same addresses on {}",
                            missing.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
                            d.ifname
                        ),
                    ),
                    Some(Err(None)) => say(
                        "problem",
                        format!(
                            "{src}'s advertisements for vhid {vhid} fail authentication (badauth): the pass differs, or {src} has addresses this host lacks (the HMAC covers both). Compare the pass (carpctl {} pass ...) and `ip addr show {}` on both hosts",
                            d.ifname, d.ifname
                        ),
                    ),
                }
                if u32::from(advbase) != d.advbase {
                    say(
                        "problem",
                        format!(
                            "{src} has advbase {advbase}, this host {}: the host with the smaller advbase wins every election whatever its advskew; use the same advbase on both",
                            d.advbase
                        ),
                    );
                } else if u32::from(oskew) == advskew && demote == 0 && d.demote == 0 {
                    say(
                        "problem",
                        format!("{src} has the same advskew ({advskew}): the election is decided by chance; give each host its own advskew"),
                    );
                }
                if state == 2 && *n >= 2 {
                    say(
                        "problem",
                        format!(
                            "both this host and {src} are MASTER of vhid {vhid}: {src} keeps advertising, so it does not hear this host's advertisements. The LAN drops multicast from here to it (IGMP snooping without a querier, a firewall), or it refuses them (see above); on such a LAN set carppeer on both hosts (carpctl {} carppeer ADDRESS-OF-THE-OTHER)",
                            d.ifname
                        ),
                    );
                }
            }
            if others.is_empty() {
                match state {
                    2 if d.peer => say(
                        "note",
                        format!("no advertisement of the carppeer for vhid {vhid} seen: normal while it is BACKUP; if it says it is MASTER too, check that it is reachable and its carppeer is this host"),
                    ),
                    2 => say(
                        "note",
                        format!(
                            "no other host's advertisement for vhid {vhid} seen: normal while the others are BACKUP. If another host says it is MASTER too, the LAN drops multicast between them both ways (IGMP snooping without a querier, a firewall): set carppeer on both (carpctl {} carppeer ADDRESS-OF-THE-OTHER)",
                            d.ifname
                        ),
                    ),
                    1 => say(
                        "problem",
                        format!("BACKUP, but no MASTER was heard for vhid {vhid} in {secs} s: it is about to take over"),
                    ),
                    _ => {}
                }
            }
            // VRRP routers with the same id use the same virtual MAC.
            let mut vrrp: BTreeMap<String, (u8, u8)> = BTreeMap::new();
            for f in &got {
                if let Advert::Vrrp { version, vrid, .. } = f.advert {
                    if vrid == vhid {
                        vrrp.insert(f.src.to_string(), (version, vrid));
                    }
                }
            }
            for (src, (version, vrid)) in vrrp {
                say(
                    "problem",
                    format!(
                        "a VRRPv{version} router ({src}) uses VRID {vrid} on this LAN: it and vhid {vhid} share the virtual MAC 00:00:5e:00:01:{vrid:02x}, and each takes the other's traffic; choose a vhid no VRRP router uses"
                    ),
                );
            }
        }
        // IPv6 on the carpdev: below IPv6's minimum MTU the kernel turns
        // it off there, as disable_ipv6 does (the carp device stops at
        // 1280 and keeps its addresses): its IPv6 advertisements are
        // neither sent nor received. A problem when peers advertise the
        // vhid over IPv6 or advertisements are refused, a note otherwise
        // (an IPv4-only device loses nothing).
        if let Some((_, cd)) = &d.carpdev {
            let read = |f: &str| {
                std::fs::read_to_string(f)
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok())
            };
            // Others advertise this device's vhids over IPv6: they have
            // IPv6 addresses on it, and this host cannot take part.
            let heard_v6 = got.iter().any(|f| {
                !f.outgoing
                    && f.src.is_ipv6()
                    && matches!(f.advert, Advert::Carp { vhid, .. }
                        if d.nodes.iter().any(|n| n.0 == vhid))
            });
            let kind = if heard_v6 || delta("badauth", di) > 0 {
                "problem"
            } else {
                "note"
            };
            let mtu = crate::if_mtu(cd);
            let off = read(&format!("/proc/sys/net/ipv6/conf/{cd}/disable_ipv6"));
            if let Some(m) = mtu.filter(|m| *m < 1280) {
                say(
                    kind,
                    format!(
                        "{cd}'s MTU is {m}, below IPv6's minimum of 1280: the kernel turned IPv6 off on {cd}, so {}'s IPv6 advertisements are neither sent nor received (with IPv6 addresses only, every host becomes MASTER); raise it (ip link set {cd} mtu 1500) on every host",
                        d.ifname
                    ),
                );
            } else if off == Some(1) {
                say(
                    kind,
                    format!(
                        "IPv6 is disabled on {cd} (net.ipv6.conf.{cd}.disable_ipv6 = 1): {}'s IPv6 advertisements are neither sent nor received (with IPv6 addresses only, every host becomes MASTER); enable it (sysctl -w net/ipv6/conf/{cd}/disable_ipv6=0)",
                        d.ifname
                    ),
                );
            }
        }
        if delta("badauth", di) > 0 && got.iter().all(|f| f.outgoing) {
            say(
                "problem",
                format!("{} advertisements failed authentication on {} (badauth), from hosts not captured: compare the pass and the addresses of every host of the vhid", delta("badauth", di), d.ifname),
            );
        }
        if d.demote > 0 {
            say(
                "note",
                format!("demoted by {} (carpctl demote: its parts); the host serves only when no less demoted one can", d.demote),
            );
        }
    }
    let nsd = |name: &str| stat(&after_ns, name).saturating_sub(stat(&before_ns, name));
    if nsd("badttl") > 0 {
        println!("namespace:");
        say("problem", format!("{} advertisements arrived with a TTL other than 255 (routed): carp peers must share the LAN", nsd("badttl")));
    }
    if nsd("badver") > 0 {
        println!("namespace:");
        say(
            "note",
            format!(
                "{} advertisements of another protocol version (VRRPv3?) were dropped",
                nsd("badver")
            ),
        );
    }
    if problems == 0 {
        println!("no problem found");
        Ok(())
    } else {
        Err(Error(format!(
            "doctor: {problems} problem{} found",
            if problems == 1 { "" } else { "s" }
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carp_core::carp_proto::{Header, HDR_LEN};

    fn advert(key: &Key, vhid: u8, v4: &[[u8; 4]]) -> [u8; HDR_LEN] {
        let counter = [7u8; 8];
        let a = Addrs {
            v4,
            v6: &[],
            v6ll: &[],
            lladdr: None,
        };
        let hmac = a.hmac(
            key,
            vhid,
            true,
            &counter,
            &[],
            carp_core::carp_proto::HmacContext::NoV6Ll,
        );
        Header {
            version: 2,
            typ: 1,
            vhid,
            advskew: 100,
            authlen: 7,
            demote: 0,
            advbase: 1,
            cksum: 0,
            counter,
            hmac,
        }
        .encode()
    }

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x01, 0, 0x5e, 0, 0, 0x12, 2, 0, 0, 0, 0, 1, 8, 0];
        let total = 20 + payload.len() as u16;
        f.extend_from_slice(&[0x45, 0xc0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 255, 112, 0, 0, 192, 0, 2, 12, 224, 0, 0, 18]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn frames() {
        let key = Key::new(b"secret").unwrap();
        let p = advert(&key, 1, &[[192, 0, 2, 1]]);
        let f = parse_frame(&frame(&p), false).unwrap();
        assert_eq!(f.src, "192.0.2.12".parse::<IpAddr>().unwrap());
        assert_eq!(f.ttl, 255);
        assert!(matches!(
            f.advert,
            Advert::Carp {
                vhid: 1,
                advskew: 100,
                advbase: 1,
                ..
            }
        ));
        // VRRPv2 (one address, no authentication): 20 bytes.
        let vrrp = [
            0x21, 5, 100, 1, 0, 1, 0, 0, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let f = parse_frame(&frame(&vrrp), false).unwrap();
        assert_eq!(
            f.advert,
            Advert::Vrrp {
                version: 2,
                vrid: 5,
                priority: 100
            }
        );
        let v3 = [0x31, 7, 100, 1, 0, 100, 0, 0, 192, 0, 2, 1];
        assert!(matches!(
            parse_frame(&frame(&v3), false).unwrap().advert,
            Advert::Vrrp {
                version: 3,
                vrid: 7,
                ..
            }
        ));
        assert_eq!(parse_frame(&[0u8; 10], false), None);
    }

    #[test]
    fn authentication_diagnosis() {
        let key = Key::new(b"secret").unwrap();
        let ours = [[192, 0, 2, 1], [192, 0, 2, 5]];
        let get = |p: [u8; HDR_LEN]| {
            let c: [u8; 8] = p[8..16].try_into().unwrap();
            let m: [u8; 20] = p[16..36].try_into().unwrap();
            (c, m)
        };
        // The same pass and addresses: fine.
        let (c, m) = get(advert(&key, 1, &ours));
        assert_eq!(auth_diagnosis(&key, 1, &ours, &[], &c, &m), Ok(()));
        // The sender lacks 192.0.2.5.
        let (c, m) = get(advert(&key, 1, &ours[..1]));
        assert_eq!(
            auth_diagnosis(&key, 1, &ours, &[], &c, &m),
            Err(Some(vec!["192.0.2.5".parse().unwrap()]))
        );
        // Another pass.
        let (c, m) = get(advert(&Key::new(b"other").unwrap(), 1, &ours));
        assert_eq!(auth_diagnosis(&key, 1, &ours, &[], &c, &m), Err(None));
    }
}
