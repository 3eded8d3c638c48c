// SPDX-License-Identifier: GPL-2.0

//! The "carp" generic netlink family from userspace, on the `neli` crate.
//!
//! Numbers are those of `include/uapi/linux/carp_genl.h` (generated from
//! `Documentation/netlink/specs/carp.yaml`); a test checks them against the
//! header.

use neli::consts::nl::{NlmF, NlmsgerrAttr};
use neli::consts::socket::NlFamily;
use neli::err::{DeError, RouterError, SocketError};
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder, NoUserHeader};
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::router::synchronous::{NlRouter, NlRouterReceiverHandle};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, GenlBuffer};
use neli::utils::Groups;
use std::fmt;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Family name and version (`CARP_FAMILY_NAME`, `CARP_FAMILY_VERSION`).
pub const FAMILY: &str = "carp";
const VERSION: u8 = 1;
/// The multicast group for state changes (`CARP_MCGRP_EVENTS`).
pub const MCGRP_EVENTS: &str = "events";

/// `CARP_CMD_*`.
pub mod cmd {
    pub const DEV_GET: u8 = 1;
    pub const DEV_SET: u8 = 2;
    pub const STATS_GET: u8 = 3;
    pub const STATE_NTF: u8 = 4;
    pub const GROUP_GET: u8 = 5;
    pub const GROUP_SET: u8 = 6;
}

/// `CARP_A_GROUP_*`.
pub mod group {
    pub const NAME: u16 = 1;
    pub const DEMOTE: u16 = 2;
    pub const DEMOTE_USER: u16 = 3;
    pub const DEMOTE_ADJUST: u16 = 4;
    pub const DEMOTE_DOWN: u16 = 5;
    pub const DEMOTE_SENDERR: u16 = 6;
}

/// `CARP_A_DEV_*`.
pub mod a {
    pub const IFINDEX: u16 = 1;
    pub const IFNAME: u16 = 2;
    pub const CARPDEV: u16 = 3;
    pub const VHID: u16 = 4;
    pub const ADVSKEW: u16 = 5;
    pub const ADVBASE: u16 = 6;
    pub const PASS: u16 = 7;
    pub const PASS_SET: u16 = 8;
    pub const NODE: u16 = 9;
    pub const BALANCING: u16 = 10;
    pub const PEER: u16 = 11;
    pub const STATE: u16 = 12;
    pub const DEMOTE: u16 = 13;
    pub const OLD_STATE: u16 = 14;
    pub const REASON: u16 = 15;
    pub const STATS: u16 = 16;
    pub const PEER6: u16 = 17;
}

/// `CARP_A_NODE_*`.
pub mod node {
    pub const VHID: u16 = 1;
    pub const ADVSKEW: u16 = 2;
    pub const STATE: u16 = 3;
    pub const ACCEPTED: u16 = 4;
    pub const DROPPED: u16 = 5;
    pub const ANSWERED: u16 = 6;
    pub const IGNORED: u16 = 7;
    /// A nest of counts by reason: attribute r + 1 counts reason r
    /// (`CARP_A_TRANSITIONS_*`, in [`REASONS`](super::REASONS) order).
    pub const TRANSITIONS: u16 = 8;
}

/// The per-entry load-balancing counters, as the spec names them, in
/// `CARP_A_NODE_*` order from `node::ACCEPTED`.
pub const NODE_COUNTERS: [&str; 4] = ["accepted", "dropped", "answered", "ignored"];

/// `enum carp_state`.
pub const STATES: [&str; 3] = ["INIT", "BACKUP", "MASTER"];

/// A state's name (`STATES`), `UNKNOWN` for a value the kernel may add.
pub fn state_name(s: u32) -> &'static str {
    STATES.get(s as usize).copied().unwrap_or("UNKNOWN")
}

/// `enum carp_balancing`.
pub const BALANCING: [&str; 5] = ["none", "ip", "ip-stealth", "ip-unicast", "arp"];
/// `enum carp_reason`, as the spec names them.
pub const REASONS: [&str; 10] = [
    "start",
    "master-down",
    "preempt",
    "master-demoted",
    "master-too-slow",
    "better-master",
    "user",
    "stopped",
    "restart",
    "bow-out",
];
/// `CARP_A_STATS_*` in order (1..=16), as the spec names them.
pub const STATS: [&str; 16] = [
    "ipackets",
    "ipackets6",
    "badif",
    "badttl",
    "hdrops",
    "badsum",
    "badver",
    "badlen",
    "badauth",
    "badvhid",
    "badaddrs",
    "opackets",
    "opackets6",
    "onomem",
    "preempt",
    "accepted",
];

/// A failure, with the one line to print.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<T: fmt::Debug, P: fmt::Debug> From<RouterError<T, P>> for Error {
    fn from(e: RouterError<T, P>) -> Self {
        Error(format!("netlink: {e}"))
    }
}

impl From<SocketError> for Error {
    fn from(e: SocketError) -> Self {
        Error(format!("netlink: {e}"))
    }
}

impl From<DeError> for Error {
    fn from(e: DeError) -> Self {
        Error(format!("netlink: malformed reply: {e}"))
    }
}

/// The line for a netlink error reply: its extack message if it has one
/// (without the kernel's "carp: " prefix), else the errno's text.
fn error_of(errno: i32, ext_ack: &GenlBuffer<NlmsgerrAttr, Buffer>) -> Error {
    let msg = ext_ack
        .iter()
        .find(|a| *a.nla_type().nla_type() == NlmsgerrAttr::Msg)
        .map(|a| {
            let b = a.nla_payload().as_ref();
            let b = b.split(|&c| c == 0).next().unwrap_or(b);
            String::from_utf8_lossy(b).into_owned()
        });
    match msg {
        Some(m) => Error(m.strip_prefix("carp: ").unwrap_or(&m).to_string()),
        None if -errno == libc::EPERM => {
            Error("operation not permitted (needs CAP_NET_ADMIN)".into())
        }
        None => {
            let os = std::io::Error::from_raw_os_error(-errno).to_string();
            Error(os.split(" (os error").next().unwrap_or(&os).to_lowercase())
        }
    }
}

/// One attribute to send: type, payload, nested.
pub struct Attr(u16, Vec<u8>, bool);

impl Attr {
    pub fn u32(t: u16, v: u32) -> Self {
        Attr(t, v.to_ne_bytes().to_vec(), false)
    }

    pub fn bytes(t: u16, v: &[u8]) -> Self {
        Attr(t, v.to_vec(), false)
    }

    pub fn string(t: u16, v: &str) -> Self {
        let mut b = v.as_bytes().to_vec();
        b.push(0);
        Attr(t, b, false)
    }

    /// A nest of u32 attributes.
    pub fn nest_u32(t: u16, inner: &[(u16, u32)]) -> Self {
        let mut b = Vec::new();
        for (it, v) in inner {
            b.extend_from_slice(&8u16.to_ne_bytes());
            b.extend_from_slice(&it.to_ne_bytes());
            b.extend_from_slice(&v.to_ne_bytes());
        }
        Attr(t, b, true)
    }
}

/// A received message's attributes, in order.
#[derive(Debug, Default)]
pub struct Attrs(pub Vec<(u16, Vec<u8>)>);

impl Attrs {
    /// Parses raw attribute bytes (the payload of a nest).
    pub fn parse(mut b: &[u8]) -> Self {
        let mut v = Vec::new();
        while b.len() >= 4 {
            let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
            let t = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
            if len < 4 || len > b.len() {
                break;
            }
            v.push((t, b[4..len].to_vec()));
            b = b.get((len + 3) & !3..).unwrap_or(&[]);
        }
        Attrs(v)
    }

    pub fn get(&self, t: u16) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(at, _)| *at == t)
            .map(|(_, p)| p.as_slice())
    }

    pub fn all(&self, t: u16) -> impl Iterator<Item = &[u8]> {
        self.0
            .iter()
            .filter(move |(at, _)| *at == t)
            .map(|(_, p)| p.as_slice())
    }

    pub fn u32(&self, t: u16) -> Option<u32> {
        self.get(t)?
            .get(..4)?
            .try_into()
            .ok()
            .map(u32::from_ne_bytes)
    }

    /// A `uint` attribute (4 or 8 bytes).
    pub fn uint(&self, t: u16) -> Option<u64> {
        let b = self.get(t)?;
        match b.len() {
            4 => Some(u64::from(u32::from_ne_bytes(b.try_into().ok()?))),
            8 => Some(u64::from_ne_bytes(b.try_into().ok()?)),
            _ => None,
        }
    }

    pub fn string(&self, t: u16) -> Option<String> {
        let b = self.get(t)?;
        let b = b.split(|&c| c == 0).next().unwrap_or(b);
        Some(String::from_utf8_lossy(b).into_owned())
    }

    pub fn flag(&self, t: u16) -> bool {
        self.get(t).is_some()
    }
}

type Msg = Genlmsghdr<u8, u16>;

/// A connection to the carp family.
///
/// Requests go through a plain socket: neli's router drops the extack
/// attributes of error replies (0.7.5), and the message is what users need.
pub struct Carp {
    sock: NlSocketHandle,
    router: NlRouter,
    mcast: NlRouterReceiverHandle<u16, Msg>,
    family: u16,
    seq: u32,
}

impl Carp {
    /// Connects and resolves the family.
    pub fn open() -> Result<Self, Error> {
        let (router, mcast) = NlRouter::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| Error(format!("netlink: {e}")))?;
        let family = router.resolve_genl_family(FAMILY).map_err(|_| {
            Error("the carp netlink family is not available (is carp.ko loaded?)".into())
        })?;
        let sock = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())?;
        sock.enable_ext_ack(true)?;
        Ok(Carp {
            sock,
            router,
            mcast,
            family,
            seq: 1,
        })
    }

    /// Sends a request; returns the replies (all of a dump).
    pub fn request(&mut self, cmd: u8, attrs: Vec<Attr>, dump: bool) -> Result<Vec<Attrs>, Error> {
        let family = self.family;
        self.request_to(family, VERSION, cmd, attrs, dump)
    }

    /// The carp family's id now, from a dump of the generic netlink
    /// controller's families (not a request by name: that would load the
    /// module); `None` when it is not registered.
    pub fn family_now(&mut self) -> Result<Option<u16>, Error> {
        let fams = self.request_to(GENL_ID_CTRL, 2, CTRL_CMD_GETFAMILY, vec![], true)?;
        Ok(fams
            .iter()
            .find(|f| f.string(CTRL_ATTR_FAMILY_NAME).as_deref() == Some(FAMILY))
            .and_then(|f| f.get(CTRL_ATTR_FAMILY_ID))
            .and_then(|b| b.get(..2))
            .map(|b| u16::from_ne_bytes([b[0], b[1]])))
    }

    fn request_to(
        &mut self,
        family: u16,
        version: u8,
        cmd: u8,
        attrs: Vec<Attr>,
        dump: bool,
    ) -> Result<Vec<Attrs>, Error> {
        let mut buf = GenlBuffer::<u16, Buffer>::new();
        for Attr(t, p, nested) in attrs {
            let ty = AttrTypeBuilder::default()
                .nla_type(t)
                .nla_nested(nested)
                .build()
                .map_err(|e| Error(e.to_string()))?;
            let at = NlattrBuilder::default()
                .nla_type(ty)
                .nla_payload(Buffer::from(p))
                .build()
                .map_err(|e| Error(e.to_string()))?;
            buf.push(at);
        }
        let hdr = GenlmsghdrBuilder::<u8, u16, NoUserHeader>::default()
            .cmd(cmd)
            .version(version)
            .attrs(buf)
            .build()
            .map_err(|e| Error(e.to_string()))?;
        // A dump ends with NLMSG_DONE, anything else with the ACK.
        let flags = NlmF::REQUEST | if dump { NlmF::DUMP } else { NlmF::ACK };
        self.seq = self.seq.wrapping_add(1);
        let msg = NlmsghdrBuilder::default()
            .nl_type(family)
            .nl_flags(flags)
            .nl_seq(self.seq)
            .nl_payload(NlPayload::Payload(hdr))
            .build()
            .map_err(|e| Error(e.to_string()))?;
        self.sock.send(&msg)?;
        let mut out = Vec::new();
        loop {
            let (msgs, _) = self.sock.recv::<u16, Buffer>()?;
            for m in msgs {
                let m: Nlmsghdr<u16, Buffer> = m?;
                if *m.nl_seq() != self.seq {
                    continue;
                }
                if *m.nl_type() == NLMSG_DONE {
                    return Ok(out);
                }
                match m.nl_payload() {
                    NlPayload::Payload(b) => {
                        // The genetlink header (4 bytes), then attributes.
                        out.push(Attrs::parse(b.as_ref().get(4..).unwrap_or(&[])));
                    }
                    NlPayload::Err(e) => return Err(error_of(*e.error(), e.ext_ack())),
                    NlPayload::Ack(_) => return Ok(out),
                    _ => {}
                }
            }
        }
    }

    /// Changes group carp's userspace demotion by `delta`, clamped so that
    /// it stays within 0..255; returns the change made (a tracker's or the
    /// maintenance mode's part, which others' changes add to).
    pub fn adjust_user_demotion(&mut self, delta: i32) -> Result<i32, Error> {
        if delta == 0 {
            return Ok(0);
        }
        // Read, then change by what fits: another writer in between makes
        // the kernel refuse (the range is checked there); once more then.
        let mut tries = 0;
        loop {
            let user = self.user_demotion()? as i32;
            let d = delta.clamp(-user, 255 - user);
            if d == 0 {
                return Ok(0);
            }
            let r = self.request(
                cmd::GROUP_SET,
                vec![
                    Attr::string(group::NAME, "carp"),
                    Attr::bytes(group::DEMOTE_ADJUST, &d.to_ne_bytes()),
                ],
                false,
            );
            match r {
                Ok(_) => return Ok(d),
                Err(_) if tries == 0 => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Group carp's userspace part of the demotion, as the kernel has it.
    pub fn user_demotion(&mut self) -> Result<u32, Error> {
        let r = self.request(
            cmd::GROUP_GET,
            vec![Attr::string(group::NAME, "carp")],
            false,
        )?;
        Ok(r.first()
            .and_then(|m| m.u32(group::DEMOTE_USER))
            .unwrap_or(0))
    }

    /// Joins the `events` group; then [`Carp::next_event`] returns them.
    pub fn subscribe(&self) -> Result<(), Error> {
        let id = self.router.resolve_nl_mcast_group(FAMILY, MCGRP_EVENTS)?;
        self.router
            .add_mcast_membership(Groups::new_groups(&[id]))?;
        Ok(())
    }

    /// The next event (blocks).
    pub fn next_event(&mut self) -> Result<Option<Attrs>, Error> {
        loop {
            match self.mcast.next_typed::<u16, Msg>() {
                None => return Ok(None),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(m)) => {
                    if let Some(p) = m.get_payload() {
                        if *p.cmd() == cmd::STATE_NTF {
                            return Ok(Some(attrs_of(p)));
                        }
                    }
                }
            }
        }
    }
}

/// What [`Events::next`] returns.
pub enum Event {
    /// A `state-ntf`.
    Change(Attrs),
    /// The socket overran: changes were lost; the receiver must
    /// resynchronise from a dump (after [`Events::drain`]).
    Overrun,
    /// The family was unregistered (the module unloaded): no more changes
    /// until it is back, and then on a new subscription.
    FamilyGone,
    /// The family was registered again (the module loaded).
    FamilyBack,
}

/// `GENL_ID_CTRL`, `CTRL_CMD_NEWFAMILY`, `CTRL_CMD_DELFAMILY`,
/// `CTRL_ATTR_FAMILY_NAME`.
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_NEWFAMILY: u8 = 1;
const CTRL_CMD_DELFAMILY: u8 = 2;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_CMD_GETFAMILY: u8 = 3;

/// A socket subscribed to the `events` group that reports overruns, and to
/// the generic netlink controller's `notify` group for the family's
/// unregistration and return.
///
/// [`Carp::next_event`] runs on neli's router, whose thread drops socket
/// errors of multicast messages: an overrun (`ENOBUFS`) would be lost in
/// silence. This one is read directly.
pub struct Events {
    sock: NlSocketHandle,
    family: u16,
}

impl Events {
    /// Subscribes (before the caller's first dump, so that no change
    /// falls between the two).
    pub fn open(carp: &Carp) -> Result<Self, Error> {
        let id = carp.router.resolve_nl_mcast_group(FAMILY, MCGRP_EVENTS)?;
        let ctrl = carp.router.resolve_nl_mcast_group("nlctrl", "notify")?;
        let sock = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())?;
        sock.add_mcast_membership(Groups::new_groups(&[id, ctrl]))?;
        Ok(Events {
            sock,
            family: carp.family,
        })
    }

    /// Sets the receive buffer (SO_RCVBUF; the kernel doubles it).
    pub fn set_rcvbuf(&self, bytes: usize) -> Result<(), Error> {
        Ok(self.sock.set_recv_buffer_size(bytes)?)
    }

    /// One datagram's events; `Ok(None)` when `nonblocking` and there is
    /// none.
    fn recv(&self, buf: &mut [u8], nonblocking: bool) -> Result<Option<Vec<Event>>, Error> {
        let flags = if nonblocking { libc::MSG_DONTWAIT } else { 0 };
        loop {
            // SAFETY: `buf` is a live, writable buffer of `buf.len()` bytes
            // for the duration of the call; the descriptor is owned by
            // `self.sock`, open while `self` lives.
            let n = unsafe {
                libc::recv(
                    self.sock.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    flags,
                )
            };
            if n >= 0 {
                let n = usize::try_from(n).unwrap_or(0).min(buf.len());
                return Ok(Some(self.parse(&buf[..n])));
            }
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOBUFS) => return Ok(Some(vec![Event::Overrun])),
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) if nonblocking => return Ok(None),
                _ => return Err(Error(format!("netlink: {e}"))),
            }
        }
    }

    /// The events of one datagram (netlink messages, each a generic
    /// netlink header and attributes).
    fn parse(&self, mut b: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        while b.len() >= 16 {
            let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
            let ty = u16::from_ne_bytes([b[4], b[5]]);
            if len < 16 || len > b.len() {
                break;
            }
            let payload = &b[16..len];
            let attrs = || Attrs::parse(payload.get(4..).unwrap_or(&[]));
            match (ty, payload.first().copied()) {
                (t, Some(cmd::STATE_NTF)) if t == self.family => out.push(Event::Change(attrs())),
                (GENL_ID_CTRL, Some(c @ (CTRL_CMD_NEWFAMILY | CTRL_CMD_DELFAMILY)))
                    if attrs().string(CTRL_ATTR_FAMILY_NAME).as_deref() == Some(FAMILY) =>
                {
                    out.push(if c == CTRL_CMD_NEWFAMILY {
                        Event::FamilyBack
                    } else {
                        Event::FamilyGone
                    })
                }
                _ => {}
            }
            b = b.get((len + 3) & !3..).unwrap_or(&[]);
        }
        out
    }

    /// The next events; at least one, or none after `timeout`.
    pub fn next(&self, timeout: Duration) -> Result<Vec<Event>, Error> {
        let mut buf = vec![0u8; 32768];
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Vec::new());
            }
            let mut pfd = libc::pollfd {
                fd: self.sock.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().clamp(1, 60_000) as i32) };
            if n <= 0 {
                continue;
            }
            if let Some(ev) = self.recv(&mut buf, true)? {
                if !ev.is_empty() {
                    return Ok(ev);
                }
            }
        }
    }

    /// The family id it is subscribed for.
    pub fn family(&self) -> u16 {
        self.family
    }

    /// Discards the changes the socket holds (those from before an
    /// overrun, older than the dump that follows); returns the family's
    /// comings and goings among them, which must not be lost.
    pub fn drain(&self) -> Result<Vec<Event>, Error> {
        let mut buf = vec![0u8; 32768];
        let mut kept = Vec::new();
        while let Some(ev) = self.recv(&mut buf, true)? {
            kept.extend(
                ev.into_iter()
                    .filter(|e| matches!(e, Event::FamilyGone | Event::FamilyBack)),
            );
        }
        Ok(kept)
    }
}

/// `NLMSG_DONE`.
const NLMSG_DONE: u16 = 3;

fn attrs_of(p: &Msg) -> Attrs {
    Attrs(
        p.attrs()
            .iter()
            .map(|a| {
                (
                    *a.nla_type().nla_type() & 0x3fff,
                    a.nla_payload().as_ref().to_vec(),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers above match the generated uapi header.
    #[test]
    fn matches_uapi_header() {
        let h = include_str!("../../../include/uapi/linux/carp_genl.h");
        let block = |first: &str| -> Vec<String> {
            let start = h.find(first).expect(first);
            h[start..]
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(|l| {
                    l.trim()
                        .trim_end_matches(',')
                        .split(' ')
                        .next()
                        .unwrap()
                        .to_string()
                })
                .collect()
        };
        let dev = block("CARP_A_DEV_IFINDEX = 1");
        let names = [
            "IFINDEX",
            "IFNAME",
            "CARPDEV",
            "VHID",
            "ADVSKEW",
            "ADVBASE",
            "PASS",
            "PASS_SET",
            "NODE",
            "BALANCING",
            "PEER",
            "STATE",
            "DEMOTE",
            "OLD_STATE",
            "REASON",
            "STATS",
            "PEER6",
        ];
        let ours = [
            a::IFINDEX,
            a::IFNAME,
            a::CARPDEV,
            a::VHID,
            a::ADVSKEW,
            a::ADVBASE,
            a::PASS,
            a::PASS_SET,
            a::NODE,
            a::BALANCING,
            a::PEER,
            a::STATE,
            a::DEMOTE,
            a::OLD_STATE,
            a::REASON,
            a::STATS,
            a::PEER6,
        ];
        for ((i, n), v) in names.iter().enumerate().zip(ours) {
            assert_eq!(dev[i], format!("CARP_A_DEV_{n}"));
            assert_eq!(usize::from(v), i + 1);
        }
        let stats = block("CARP_A_STATS_IPACKETS = 1");
        for (i, n) in STATS.iter().enumerate() {
            assert_eq!(stats[i], format!("CARP_A_STATS_{}", n.to_uppercase()));
        }
        let reasons = block("CARP_REASON_START,");
        for (i, n) in REASONS.iter().enumerate() {
            assert_eq!(
                reasons[i],
                format!("CARP_REASON_{}", n.to_uppercase().replace('-', "_"))
            );
        }
        let trans = block("CARP_A_TRANSITIONS_START = 1");
        for (i, n) in REASONS.iter().enumerate() {
            assert_eq!(
                trans[i],
                format!("CARP_A_TRANSITIONS_{}", n.to_uppercase().replace('-', "_"))
            );
        }
        let node = block("CARP_A_NODE_VHID = 1");
        assert_eq!(
            node[usize::from(node::TRANSITIONS) - 1],
            "CARP_A_NODE_TRANSITIONS"
        );
        assert_eq!(node[usize::from(node::IGNORED) - 1], "CARP_A_NODE_IGNORED");
        let cmds = block("CARP_CMD_DEV_GET = 1");
        assert_eq!(
            cmds[..6],
            [
                "CARP_CMD_DEV_GET",
                "CARP_CMD_DEV_SET",
                "CARP_CMD_STATS_GET",
                "CARP_CMD_STATE_NTF",
                "CARP_CMD_GROUP_GET",
                "CARP_CMD_GROUP_SET"
            ]
        );
        assert_eq!(
            (
                cmd::DEV_GET,
                cmd::DEV_SET,
                cmd::STATS_GET,
                cmd::STATE_NTF,
                cmd::GROUP_GET,
                cmd::GROUP_SET
            ),
            (1, 2, 3, 4, 5, 6)
        );
        let groups = block("CARP_A_GROUP_NAME = 1");
        assert_eq!(
            groups[..6],
            [
                "CARP_A_GROUP_NAME",
                "CARP_A_GROUP_DEMOTE",
                "CARP_A_GROUP_DEMOTE_USER",
                "CARP_A_GROUP_DEMOTE_ADJUST",
                "CARP_A_GROUP_DEMOTE_DOWN",
                "CARP_A_GROUP_DEMOTE_SENDERR"
            ]
        );
        assert_eq!(
            (
                group::NAME,
                group::DEMOTE,
                group::DEMOTE_USER,
                group::DEMOTE_ADJUST,
                group::DEMOTE_DOWN,
                group::DEMOTE_SENDERR
            ),
            (1, 2, 3, 4, 5, 6)
        );
        let nodes = block("CARP_A_NODE_VHID = 1");
        assert_eq!(
            nodes[..3],
            [
                "CARP_A_NODE_VHID",
                "CARP_A_NODE_ADVSKEW",
                "CARP_A_NODE_STATE"
            ]
        );
        assert_eq!((node::VHID, node::ADVSKEW, node::STATE), (1, 2, 3));
        for (i, n) in NODE_COUNTERS.iter().enumerate() {
            assert_eq!(nodes[3 + i], format!("CARP_A_NODE_{}", n.to_uppercase()));
        }
        assert_eq!(
            (node::ACCEPTED, node::DROPPED, node::ANSWERED, node::IGNORED),
            (4, 5, 6, 7)
        );
        let uapi = include_str!("../../../include/uapi/linux/carp.h");
        let bal = uapi.find("CARP_BALANCING_NONE").unwrap();
        for (i, n) in BALANCING.iter().enumerate() {
            let want = format!("CARP_BALANCING_{}", n.to_uppercase().replace('-', "_"));
            let line = uapi[bal..].lines().nth(i).unwrap().trim();
            assert_eq!(line.trim_end_matches(','), want);
        }
    }
}
