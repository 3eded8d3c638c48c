// SPDX-License-Identifier: GPL-2.0

//! The CARP protocol core: advertisements on the wire, their HMAC, the
//! per-virtual-host state machine, statistics and configuration validation.
//!
//! Pure `no_std` Rust with no kernel types, no allocation and no panics. It
//! is *sans-IO*: time comes in as a value (nanoseconds of a monotonic clock),
//! events come in as method calls, and what must happen (send this packet,
//! announce this state change, send gratuitous ARP) goes out as [`Action`]s
//! through a sink closure. [`Carp::next_deadline`] tells the caller when to
//! call [`Carp::on_timer`] next, so the kernel arms one hrtimer per device.
//!
//! Behaviour follows OpenBSD's `ip_carp.c`; where OpenBSD versions differ the
//! choice is documented in `Documentation/networking/carp-protocol.rst`.

use crate::carp_balance::{self, ArpHashKey, Balancing, Carpnodes, Node, NodesError, MAX_NODES};
use crate::carp_sha1::{self, HmacKey, HmacSha1};
use core::ffi::CStr;
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

/// IP protocol number of CARP (shared with VRRP).
pub const IPPROTO_CARP: u8 = 112;
/// Protocol version sent and accepted.
pub const CARP_VERSION: u8 = 2;
/// The only message type.
pub const CARP_ADVERTISEMENT: u8 = 1;
/// Length of the CARP header (the whole advertisement payload).
pub const HDR_LEN: usize = 36;
/// The authlen field: counter + HMAC in 32-bit words.
pub const AUTHLEN: u8 = 7;
/// TTL / hop limit sent and required on receive.
pub const CARP_TTL: u8 = 255;
/// IPv4 destination of advertisements (224.0.0.18).
pub const GROUP_V4: [u8; 4] = [224, 0, 0, 18];
/// IPv6 destination of advertisements (ff02::12).
pub const GROUP_V6: [u8; 16] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12];
/// Longest passphrase: OpenBSD keeps 20 bytes including a NUL.
pub const MAX_PASS_LEN: usize = 19;
/// advskew advertised by a demoted host (carp(4) group failover).
pub const DEMOTED_ADVSKEW: u8 = 240;
/// Nanoseconds per second.
pub const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Time in nanoseconds of a monotonic clock.
pub type Time = u64;

/// The Internet checksum (RFC 1071) of `data`.
pub fn cksum(data: &[u8]) -> u16 {
    // A u64 accumulator cannot wrap for any slice that fits in memory.
    let mut sum = 0u64;
    let mut it = data.chunks_exact(2);
    for w in &mut it {
        sum = sum.wrapping_add(u64::from(u16::from_be_bytes([w[0], w[1]])));
    }
    if let [last] = it.remainder() {
        sum = sum.wrapping_add(u64::from(*last) << 8);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff).wrapping_add(sum >> 16);
    }
    !(sum as u16)
}

/// A CARP advertisement header as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// Protocol version (high nibble of byte 0).
    pub version: u8,
    /// Message type (low nibble of byte 0).
    pub typ: u8,
    /// Virtual host ID.
    pub vhid: u8,
    /// Advertisement skew.
    pub advskew: u8,
    /// Authentication length in 32-bit words (7).
    pub authlen: u8,
    /// Demotion counter (OpenBSD; 0 from FreeBSD and ucarp).
    pub demote: u8,
    /// Advertisement base interval in seconds.
    pub advbase: u8,
    /// Checksum as received (0 before encoding).
    pub cksum: u16,
    /// Replay counter / cookie.
    pub counter: [u8; 8],
    /// HMAC-SHA1.
    pub hmac: [u8; 20],
}

impl Header {
    /// Serialises the header; the checksum is computed over the result.
    pub fn encode(&self) -> [u8; HDR_LEN] {
        let mut b = [0u8; HDR_LEN];
        b[0] = (self.version << 4) | (self.typ & 0x0f);
        b[1] = self.vhid;
        b[2] = self.advskew;
        b[3] = self.authlen;
        b[4] = self.demote;
        b[5] = self.advbase;
        b[8..16].copy_from_slice(&self.counter);
        b[16..36].copy_from_slice(&self.hmac);
        let c = cksum(&b);
        b[6..8].copy_from_slice(&c.to_be_bytes());
        b
    }

    /// Validates an advertisement as OpenBSD does before looking up the
    /// vhid: TTL, length, checksum (over exactly 36 bytes; trailing bytes are
    /// ignored). The version is checked later, after the vhid lookup.
    pub fn parse(ttl: u8, payload: &[u8]) -> Result<Self, RxError> {
        if ttl != CARP_TTL {
            return Err(RxError::BadTtl(ttl));
        }
        let b: &[u8; HDR_LEN] = payload
            .get(..HDR_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(RxError::BadLen(payload.len()))?;
        if cksum(b) != 0 {
            return Err(RxError::BadSum);
        }
        let mut counter = [0u8; 8];
        counter.copy_from_slice(&b[8..16]);
        let mut hmac = [0u8; 20];
        hmac.copy_from_slice(&b[16..36]);
        Ok(Self {
            version: b[0] >> 4,
            typ: b[0] & 0x0f,
            vhid: b[1],
            advskew: b[2],
            authlen: b[3],
            demote: b[4],
            advbase: b[5],
            cksum: u16::from_be_bytes([b[6], b[7]]),
            counter,
            hmac,
        })
    }
}

/// A statistics counter, like OpenBSD's `struct carpstats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    /// IPv4 advertisements received.
    IPackets = 0,
    /// IPv6 advertisements received.
    IPackets6,
    /// Received on an interface without carp.
    BadIf,
    /// TTL or hop limit not 255.
    BadTtl,
    /// Shorter than the IP header.
    HdrOps,
    /// Bad checksum.
    BadSum,
    /// Bad version.
    BadVer,
    /// Shorter than the CARP header.
    BadLen,
    /// HMAC mismatch or our own advertisement looped back.
    BadAuth,
    /// No such vhid (or that device is not running).
    BadVhid,
    /// Bad address list (kept for OpenBSD parity; never counted).
    BadAddrs,
    /// IPv4 advertisements sent.
    OPackets,
    /// IPv6 advertisements sent.
    OPackets6,
    /// Send failed for lack of memory.
    ONoMem,
    /// Transitions to MASTER.
    Preempt,
    /// Advertisements that passed every check and reached the state
    /// machine (not in OpenBSD's carpstat: with it every received
    /// advertisement is in exactly one counter of
    /// `accepted + badif + badttl + hdrops + badsum + badver + badlen +
    /// badauth + badvhid`, while `net.inet.carp.allow` is 1).
    Accepted,
}

/// Number of statistics counters.
pub const NSTATS: usize = 16;

/// Every counter in uapi order.
pub const STATS: [Stat; NSTATS] = [
    Stat::IPackets,
    Stat::IPackets6,
    Stat::BadIf,
    Stat::BadTtl,
    Stat::HdrOps,
    Stat::BadSum,
    Stat::BadVer,
    Stat::BadLen,
    Stat::BadAuth,
    Stat::BadVhid,
    Stat::BadAddrs,
    Stat::OPackets,
    Stat::OPackets6,
    Stat::ONoMem,
    Stat::Preempt,
    Stat::Accepted,
];

impl Stat {
    /// Short machine name (netlink attribute, JSON key).
    pub const fn name(self) -> &'static str {
        match self {
            Self::IPackets => "ipackets",
            Self::IPackets6 => "ipackets6",
            Self::BadIf => "badif",
            Self::BadTtl => "badttl",
            Self::HdrOps => "hdrops",
            Self::BadSum => "badsum",
            Self::BadVer => "badver",
            Self::BadLen => "badlen",
            Self::BadAuth => "badauth",
            Self::BadVhid => "badvhid",
            Self::BadAddrs => "badaddrs",
            Self::OPackets => "opackets",
            Self::OPackets6 => "opackets6",
            Self::ONoMem => "onomem",
            Self::Preempt => "preempt",
            Self::Accepted => "accepted",
        }
    }

    /// `netstat -s -p carp` wording (singular form).
    pub const fn netstat(self) -> &'static str {
        match self {
            Self::IPackets => "packet received (IPv4)",
            Self::IPackets6 => "packet received (IPv6)",
            Self::BadIf => "packet discarded for bad interface",
            Self::BadTtl => "packet discarded for wrong TTL",
            Self::HdrOps => "packet shorter than header",
            Self::BadSum => "discarded for bad checksum",
            Self::BadVer => "discarded packet with a bad version",
            Self::BadLen => "discarded because packet too short",
            Self::BadAuth => "discarded for bad authentication",
            Self::BadVhid => "discarded for unknown vhid",
            Self::BadAddrs => "discarded because of a bad address list",
            Self::OPackets => "packet sent (IPv4)",
            Self::OPackets6 => "packet sent (IPv6)",
            Self::ONoMem => "send failed due to memory error",
            Self::Preempt => "transition to master",
            Self::Accepted => "advertisement accepted",
        }
    }
}

/// syslog(3) priorities, for `net.inet.carp.log`.
pub mod log {
    /// Critical: state changes (the default level).
    pub const CRIT: u8 = 2;
    /// Errors: demotion changes.
    pub const ERR: u8 = 3;
    /// Warnings: INIT transitions, loops, send failures.
    pub const WARNING: u8 = 4;
    /// Notices: bad TTL, bad version.
    pub const NOTICE: u8 = 5;
    /// Informational: bad length, checksum, authentication.
    pub const INFO: u8 = 6;
    /// Debugging: load-sharing mask changes.
    pub const DEBUG: u8 = 7;
}

/// Why a received advertisement was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxError {
    /// `net.inet.carp.allow` is 0.
    NotAllowed,
    /// Arrived on an interface without carp devices.
    BadIf,
    /// TTL / hop limit not 255 (the value seen).
    BadTtl(u8),
    /// IP header truncated.
    HdrOps,
    /// Payload shorter than 36 bytes (its length).
    BadLen(usize),
    /// Checksum mismatch.
    BadSum,
    /// No device with that vhid, or it is not running.
    BadVhid(u8),
    /// Version not 2 (the version seen).
    BadVer(u8),
    /// HMAC mismatch.
    BadAuth,
    /// Our own cookie: a replay or a network loop.
    Loop,
}

impl RxError {
    /// The counter this drop increments, if any.
    pub const fn stat(self) -> Option<Stat> {
        match self {
            Self::NotAllowed => None,
            Self::BadIf => Some(Stat::BadIf),
            Self::BadTtl(_) => Some(Stat::BadTtl),
            Self::HdrOps => Some(Stat::HdrOps),
            Self::BadLen(_) => Some(Stat::BadLen),
            Self::BadSum => Some(Stat::BadSum),
            Self::BadVhid(_) => Some(Stat::BadVhid),
            Self::BadVer(_) => Some(Stat::BadVer),
            Self::BadAuth | Self::Loop => Some(Stat::BadAuth),
        }
    }

    /// The syslog priority its log message has (OpenBSD's choice).
    pub const fn level(self) -> u8 {
        match self {
            Self::Loop => log::WARNING,
            Self::BadTtl(_) | Self::BadVer(_) => log::NOTICE,
            Self::NotAllowed | Self::BadVhid(_) => log::DEBUG,
            _ => log::INFO,
        }
    }

    /// The log message (without device prefix).
    pub const fn message(self) -> &'static str {
        match self {
            Self::NotAllowed => "carp not allowed",
            Self::BadIf => "packet received on non-carp interface",
            Self::BadTtl(_) => "received ttl != 255",
            Self::HdrOps => "packet shorter than IP header",
            Self::BadLen(_) => "packet too short",
            Self::BadSum => "checksum failed",
            Self::BadVhid(_) => "unknown vhid",
            Self::BadVer(_) => "invalid version != 2",
            Self::BadAuth => "incorrect hash",
            Self::Loop => "replay or network loop detected",
        }
    }
}

/// State of a virtual host entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum State {
    /// Not running.
    #[default]
    Init = 0,
    /// Listening; takes over when the master goes quiet.
    Backup = 1,
    /// Answering for the virtual addresses and advertising.
    Master = 2,
}

impl State {
    /// Upper-case name as carp(4) prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Init => "INIT",
            Self::Backup => "BACKUP",
            Self::Master => "MASTER",
        }
    }

    /// Converts the uapi number.
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::Init),
            1 => Some(Self::Backup),
            2 => Some(Self::Master),
            _ => None,
        }
    }
}

/// Why a state changed (carried in events and log lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Came up: INIT to BACKUP.
    Start,
    /// The master-down timer expired.
    MasterDown,
    /// Preempted a slower master (`net.inet.carp.preempt`).
    Preempt,
    /// The master is more demoted than we are.
    MasterDemoted,
    /// The master advertises so rarely it would time out anyway.
    MasterTooSlow,
    /// A better master advertised (we step down).
    BetterMaster,
    /// Forced by the administrator (`state master|backup`).
    User,
    /// Stopped: admin down, carpdev down, no address or no vhid.
    Stopped,
    /// Restarted after a configuration or address change.
    Restart,
    /// The master bowed out (advbase and advskew 255).
    BowOut,
}

impl Reason {
    /// How many reasons there are (the discriminants are 0..COUNT, in the
    /// order of the generic netlink family's `reason` enum).
    pub const COUNT: usize = Self::BowOut as usize + 1;

    /// A short phrase for logs and `carpctl monitor`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Start => "started",
            Self::MasterDown => "master timed out",
            Self::Preempt => "preempting a slower master",
            Self::MasterDemoted => "master is demoted",
            Self::MasterTooSlow => "master advertises too rarely",
            Self::BetterMaster => "more frequent advertisement received",
            Self::User => "user request",
            Self::Stopped => "stopped",
            Self::Restart => "restarted",
            Self::BowOut => "master bowed out",
        }
    }
}

/// Address family of an advertisement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// IPv4 to 224.0.0.18 (or the carppeer).
    V4 = 0,
    /// IPv6 to ff02::12.
    V6 = 1,
}

/// The destination of an advertisement and the mode that picks its source
/// MAC, from the configuration in force when it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendTo {
    /// Unicast IPv4 peer instead of 224.0.0.18.
    pub peer: Option<[u8; 4]>,
    /// Unicast IPv6 peer instead of ff02::12.
    pub peer6: Option<[u8; 16]>,
    /// Balancing mode (decides the source MAC).
    pub balancing: Balancing,
}

/// Something the caller must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this advertisement, over IPv4 and/or IPv6.
    Send {
        /// Index of the virtual host entry sending it.
        vhe: usize,
        /// The 36-byte CARP header, checksum and HMAC included.
        packet: [u8; HDR_LEN],
        /// Send over IPv4.
        v4: bool,
        /// Send over IPv6.
        v6: bool,
        /// Where to and with which source MAC: the configuration when the
        /// advertisement was made (a change that advertises at once, such
        /// as a new carppeer or balancing mode, sends with the new one).
        to: SendTo,
    },
    /// A virtual host entry changed state: update carrier, notify, log.
    State {
        /// Index of the entry.
        vhe: usize,
        /// Its vhid.
        vhid: u8,
        /// Previous state.
        old: State,
        /// New state.
        new: State,
        /// Why.
        reason: Reason,
    },
    /// Send gratuitous ARP for every IPv4 address of the device.
    GratuitousArp,
    /// Send unsolicited neighbour advertisements for every IPv6 address.
    UnsolicitedNa,
}

/// Why a configuration was rejected; `message` suits a netlink extack
/// (a static C string, as `NL_SET_ERR_MSG` stores the pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The attribute at fault.
    pub attr: ConfigAttr,
    /// Human-readable reason.
    pub message: &'static CStr,
}

impl ConfigError {
    /// The message as text.
    pub fn text(&self) -> &'static str {
        self.message.to_str().unwrap_or("invalid configuration")
    }
}

/// The configuration attributes, for pointing at the bad one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigAttr {
    /// `vhid`.
    Vhid,
    /// `advskew`.
    Advskew,
    /// `advbase`.
    Advbase,
    /// `carpnodes`.
    Carpnodes,
    /// `pass`.
    Pass,
    /// `balancing`.
    Balancing,
    /// `carppeer` (IPv4).
    Peer,
    /// `carppeer` (IPv6).
    Peer6,
    /// `state`.
    State,
}

/// A CARP passphrase (key), at most [`MAX_PASS_LEN`] bytes.
///
/// # Invariants
///
/// `len <= MAX_PASS_LEN`, `bytes[len..]` are zero and `hmac` is
/// `HmacKey::new(&bytes[..len])`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key {
    bytes: [u8; 20],
    len: usize,
    hmac: HmacKey,
}

impl Default for Key {
    /// The empty passphrase (unauthenticated in practice, as in OpenBSD).
    fn default() -> Self {
        // INVARIANT: empty, and the HMAC state of the empty key.
        Self {
            bytes: [0; 20],
            len: 0,
            hmac: HmacKey::new(&[]),
        }
    }
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the secret.
        write!(f, "Key(<{} bytes>)", self.len)
    }
}

impl Key {
    /// Validates a passphrase. Longer than 19 bytes is an error rather than
    /// a silent truncation; an embedded NUL would end it early in OpenBSD and
    /// is rejected too.
    pub fn new(pass: &[u8]) -> Result<Self, ConfigError> {
        if pass.len() > MAX_PASS_LEN {
            return Err(ConfigError {
                attr: ConfigAttr::Pass,
                message: c"pass is longer than 19 bytes",
            });
        }
        if pass.contains(&0) {
            return Err(ConfigError {
                attr: ConfigAttr::Pass,
                message: c"pass must not contain a NUL byte",
            });
        }
        let mut bytes = [0u8; 20];
        if let Some(dst) = bytes.get_mut(..pass.len()) {
            dst.copy_from_slice(pass);
        }
        // INVARIANT: length checked above, rest zero, the HMAC state of
        // exactly these bytes.
        Ok(Self {
            bytes,
            len: pass.len(),
            hmac: HmacKey::new(pass),
        })
    }

    /// The key's precomputed HMAC-SHA1 state.
    pub const fn hmac_key(&self) -> &HmacKey {
        &self.hmac
    }

    /// The passphrase bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// A carp device's configuration (everything `carpctl` can set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The virtual host entries (`vhid`/`advskew` or `carpnodes`).
    pub nodes: Option<Carpnodes>,
    /// Advertisement base interval in seconds, 0..=254.
    pub advbase: u8,
    /// Balancing mode.
    pub balancing: Balancing,
    /// Passphrase.
    pub key: Key,
    /// Unicast IPv4 peer instead of 224.0.0.18.
    pub peer: Option<[u8; 4]>,
    /// Unicast IPv6 peer instead of ff02::12.
    pub peer6: Option<[u8; 16]>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            nodes: None,
            advbase: 1,
            balancing: Balancing::None,
            key: Key::default(),
            peer: None,
            peer6: None,
        }
    }
}

/// A requested change: raw values as they arrive from netlink, each `None`
/// when not given. Validated as a whole by [`Config::apply`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ConfigUpdate<'a> {
    /// `vhid N`: a single node, keeping the leader's advskew unless
    /// `advskew` is given too.
    pub vhid: Option<u32>,
    /// `advskew N`: the first node's advskew.
    pub advskew: Option<u32>,
    /// `carpnodes`: `(vhid, advskew)` pairs.
    pub carpnodes: Option<&'a [(u32, u32)]>,
    /// `advbase N`.
    pub advbase: Option<u32>,
    /// `pass P`.
    pub pass: Option<&'a [u8]>,
    /// `balancing MODE` (uapi number).
    pub balancing: Option<u32>,
    /// `carppeer A` (`Some(None)` removes it).
    pub peer: Option<Option<[u8; 4]>>,
    /// `carppeer A` with an IPv6 address (`Some(None)` removes it).
    pub peer6: Option<Option<[u8; 16]>>,
}

fn nodes_err(e: NodesError) -> ConfigError {
    ConfigError {
        attr: ConfigAttr::Carpnodes,
        message: e.message(),
    }
}

impl Config {
    /// Validates `upd` against this configuration and returns the new one.
    /// Nothing is applied on error: the caller keeps `self`.
    pub fn apply(&self, upd: &ConfigUpdate<'_>) -> Result<Config, ConfigError> {
        let mut c = *self;
        if upd.vhid.is_some() && upd.carpnodes.is_some() {
            return Err(ConfigError {
                attr: ConfigAttr::Carpnodes,
                message: c"give either vhid or carpnodes, not both",
            });
        }
        if let Some(v) = upd.vhid {
            if !(1..=255).contains(&v) {
                return Err(ConfigError {
                    attr: ConfigAttr::Vhid,
                    message: c"vhid must be 1..255",
                });
            }
            let skew = c.nodes.map(|n| u32::from(n.leader().advskew)).unwrap_or(0);
            c.nodes = Some(Carpnodes::single(v, skew).map_err(nodes_err)?);
        }
        if let Some(pairs) = upd.carpnodes {
            if pairs.len() > MAX_NODES {
                return Err(nodes_err(NodesError::TooMany));
            }
            c.nodes = Some(Carpnodes::from_pairs(pairs.iter().copied()).map_err(nodes_err)?);
            // Several nodes and no mode chosen: IP balancing (OpenBSD).
            if pairs.len() > 1 && upd.balancing.is_none() && c.balancing == Balancing::None {
                c.balancing = Balancing::Ip;
            }
        }
        if let Some(s) = upd.advskew {
            if s >= 255 {
                return Err(ConfigError {
                    attr: ConfigAttr::Advskew,
                    message: c"advskew must be 0..254",
                });
            }
            let Some(n) = c.nodes else {
                return Err(ConfigError {
                    attr: ConfigAttr::Advskew,
                    message: c"advskew needs a vhid",
                });
            };
            let mut pairs = [(0u32, 0u32); MAX_NODES];
            for (p, node) in pairs.iter_mut().zip(n.as_slice()) {
                *p = (u32::from(node.vhid), u32::from(node.advskew));
            }
            pairs[0].1 = s;
            c.nodes = Some(
                Carpnodes::from_pairs(pairs.iter().copied().take(n.len())).map_err(nodes_err)?,
            );
        }
        if let Some(b) = upd.advbase {
            if b > 254 {
                return Err(ConfigError {
                    attr: ConfigAttr::Advbase,
                    message: c"advbase must be 0..254",
                });
            }
            c.advbase = b as u8;
        }
        if let Some(m) = upd.balancing {
            c.balancing = Balancing::from_u32(m).ok_or(ConfigError {
                attr: ConfigAttr::Balancing,
                message: c"unknown balancing mode (none, ip, ip-stealth, ip-unicast, arp)",
            })?;
        }
        if let Some(p) = upd.pass {
            c.key = Key::new(p)?;
        }
        if let Some(p) = upd.peer {
            if let Some(a) = p {
                if a[0] >= 224 || a[0] == 127 || a == [0; 4] {
                    return Err(ConfigError {
                        attr: ConfigAttr::Peer,
                        message: c"carppeer must be a unicast IPv4 address, not loopback",
                    });
                }
            }
            c.peer = p;
        }
        if let Some(p) = upd.peer6 {
            if let Some(a) = p {
                let loopback = a[..15] == [0; 15] && a[15] == 1;
                if a[0] == 0xff || a == [0; 16] || loopback {
                    return Err(ConfigError {
                        attr: ConfigAttr::Peer6,
                        message: c"carppeer must be a unicast IPv6 address, not loopback",
                    });
                }
            }
            c.peer6 = p;
        }
        c.check()?;
        Ok(c)
    }

    /// Cross-field rules that hold for every configuration.
    pub fn check(&self) -> Result<(), ConfigError> {
        let n = self.nodes.map(|n| n.len()).unwrap_or(0);
        if self.balancing != Balancing::None && n < 2 {
            return Err(ConfigError {
                attr: ConfigAttr::Balancing,
                message: c"balancing needs at least two carpnodes",
            });
        }
        // advbase 0 with advskew 0 is allowed, as in OpenBSD: the interval
        // is then 1/256 s (ucarp refuses it).
        Ok(())
    }

    /// Number of virtual host entries.
    pub fn count(&self) -> usize {
        self.nodes.map(|n| n.len()).unwrap_or(0)
    }
}

/// The advertisement interval in nanoseconds for `advbase` and `advskew`:
/// advbase + advskew/256 seconds, at least 1/256 s.
pub fn adv_interval(advbase: u8, advskew: u8) -> Time {
    // u8 inputs: at most 255.996 s in ns, far from overflowing.
    let skew = u64::from(advskew).wrapping_mul(NSEC_PER_SEC) / 256;
    let t = u64::from(advbase)
        .wrapping_mul(NSEC_PER_SEC)
        .wrapping_add(skew);
    if t == 0 {
        NSEC_PER_SEC / 256
    } else {
        t
    }
}

/// The master-down interval: 3 × advbase + advskew/256 seconds (carp(4) of
/// the seed's era, FreeBSD, ucarp and VRRP), at least three minimal intervals.
pub fn master_down_interval(advbase: u8, advskew: u8) -> Time {
    // u8 inputs: at most 766 s in ns, far from overflowing.
    let skew = u64::from(advskew).wrapping_mul(NSEC_PER_SEC) / 256;
    let t = u64::from(advbase)
        .wrapping_mul(3 * NSEC_PER_SEC)
        .wrapping_add(skew);
    core::cmp::max(t, 3 * NSEC_PER_SEC / 256)
}

/// An advertisement's "speed" in 1/256 s: lower is more frequent, better.
const fn speed(advbase: u8, advskew: u8) -> u32 {
    // At most 255 * 256 + 255: no overflow.
    (advbase as u32)
        .wrapping_mul(256)
        .wrapping_add(advskew as u32)
}

fn is_v6_linklocal(a: &[u8; 16]) -> bool {
    a[0] == 0xfe && (a[1] & 0xc0) == 0x80
}

/// Feeds the addresses of all `lists` to `f` in ascending order with
/// duplicates collapsed, without allocating. The kernel keeps its lists
/// sorted and free of duplicates from the time they change
/// ([`sort_addrs`]), so this is a merge: linear in the number of
/// addresses. A list that is not sorted (a caller that built one by hand)
/// gets OpenBSD's selection loop, quadratic but the same order.
fn for_each_sorted<const N: usize>(lists: &[&[[u8; N]]], mut f: impl FnMut(&[u8; N])) {
    if !lists.iter().all(|l| is_sorted_set(l)) {
        return for_each_selected(lists, f);
    }
    // One cursor per list (at most four lists are merged).
    let mut at = [0usize; 4];
    let Some(at) = at.get_mut(..lists.len()) else {
        return for_each_selected(lists, f);
    };
    let mut prev: Option<[u8; N]> = None;
    loop {
        let mut next: Option<&[u8; N]> = None;
        for (l, i) in lists.iter().zip(at.iter()) {
            if let Some(a) = l.get(*i) {
                if next.map_or(true, |n| a < n) {
                    next = Some(a);
                }
            }
        }
        let Some(a) = next else {
            break;
        };
        for (l, i) in lists.iter().zip(at.iter_mut()) {
            if l.get(*i) == Some(a) {
                // Below the list's length: no overflow.
                *i = i.wrapping_add(1);
            }
        }
        if prev.as_ref() != Some(a) {
            f(a);
            prev = Some(*a);
        }
    }
}

/// Heapsort's sift-down of `root` in the max-heap `l[..end]`.
fn sift_down<T: Ord>(l: &mut [T], mut root: usize, end: usize) {
    let end = end.min(l.len());
    loop {
        let Some(mut child) = root.checked_mul(2).and_then(|c| c.checked_add(1)) else {
            return;
        };
        if child >= end || root >= end {
            return;
        }
        // child < end <= len: child + 1 cannot overflow.
        let right = child.wrapping_add(1);
        if right < end && l.get(child) < l.get(right) {
            child = right;
        }
        if l.get(root) >= l.get(child) {
            return;
        }
        // Both below end <= len.
        if let (Some(_), Some(_)) = (l.get(root), l.get(child)) {
            l.swap(root, child);
        }
        root = child;
    }
}

/// Whether `l` is strictly ascending (sorted, no duplicates).
fn is_sorted_set<const N: usize>(l: &[[u8; N]]) -> bool {
    l.windows(2).all(|w| matches!(w, [a, b] if a < b))
}

/// OpenBSD's selection loop: the smallest address above the previous one,
/// found by scanning every list each time.
fn for_each_selected<const N: usize>(lists: &[&[[u8; N]]], mut f: impl FnMut(&[u8; N])) {
    let mut prev: Option<[u8; N]> = None;
    loop {
        let next = lists
            .iter()
            .flat_map(|l| l.iter())
            .filter(|a| prev.map_or(true, |p| **a > p))
            .min();
        match next {
            Some(a) => {
                f(a);
                prev = Some(*a);
            }
            None => break,
        }
    }
}

/// Sorts an address list and drops duplicates, in place; returns the new
/// length. O(n log n), no allocation: what the kernel does to a device's
/// lists when they change, so that every HMAC over them is a linear merge.
/// (A heapsort of our own: core's sorts keep panic paths, which objtool
/// reports in the module.)
pub fn sort_addrs<const N: usize>(l: &mut [[u8; N]]) -> usize {
    let len = l.len();
    for start in (0..len / 2).rev() {
        sift_down(l, start, len);
    }
    for end in (1..len).rev() {
        if let Some((first, rest)) = l.split_first_mut() {
            if let Some(last) = rest.get_mut(end.wrapping_sub(1)) {
                core::mem::swap(first, last);
            }
        }
        sift_down(l, 0, end);
    }
    let mut n = 0usize;
    for i in 0..l.len() {
        let Some(&a) = l.get(i) else {
            break;
        };
        if n.checked_sub(1).and_then(|p| l.get(p)) == Some(&a) {
            continue;
        }
        if let Some(d) = l.get_mut(n) {
            *d = a;
        }
        // At most i + 1 <= len: no overflow.
        n = n.wrapping_add(1);
    }
    n
}

/// The IPv6 link-local address a host derives from a MAC address (modified
/// EUI-64), as OpenBSD gives its carp interfaces from their lladdr.
pub fn eui64_linklocal(mac: [u8; 6]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8..11].copy_from_slice(&[mac[0] ^ 2, mac[1], mac[2]]);
    a[11..13].copy_from_slice(&[0xff, 0xfe]);
    a[13..16].copy_from_slice(&mac[3..6]);
    a
}

/// Which of OpenBSD's two HMAC contexts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmacContext {
    /// IPv6 link-local addresses included (scope bytes zeroed).
    Orig = 0,
    /// IPv6 link-local addresses omitted (what is sent).
    NoV6Ll = 1,
}

/// The HMAC state of one vhe after the fixed part of the message
/// (version, type, [lladdr], vhid, addresses); per packet only the counter
/// is added. `v6` may hold link-local addresses; `ll` are more of them, for
/// the `Orig` context only.
pub fn hmac_prefix(
    key: &Key,
    vhid: u8,
    lladdr: Option<&[u8; 6]>,
    v4: &[[u8; 4]],
    v6: &[[u8; 16]],
    ll: &[[u8; 16]],
    ctx: HmacContext,
) -> HmacSha1 {
    let mut h = HmacSha1::keyed(key.hmac_key());
    h.update(&[CARP_VERSION, CARP_ADVERTISEMENT]);
    if let Some(mac) = lladdr {
        h.update(mac);
    }
    h.update(&[vhid]);
    for_each_sorted(&[v4], |a| {
        if *a != [0; 4] && *a != [0xff; 4] {
            h.update(a);
        }
    });
    let ll = match ctx {
        HmacContext::Orig => ll,
        HmacContext::NoV6Ll => &[],
    };
    for_each_sorted(&[v6, ll], |a| {
        if *a == [0; 16] || *a == [0xff; 16] {
            return;
        }
        if is_v6_linklocal(a) {
            if ctx == HmacContext::Orig {
                let mut z = *a;
                z[2] = 0;
                z[3] = 0;
                h.update(&z);
            }
        } else {
            h.update(a);
        }
    });
    h
}

/// Finishes an HMAC prefix with the counter.
pub fn hmac_finish(prefix: &HmacSha1, counter: &[u8; 8]) -> [u8; 20] {
    let mut h = prefix.clone();
    h.update(counter);
    h.finish()
}

/// The device's addresses, which every advertisement's HMAC covers. The
/// caller keeps them (in any order, duplicates allowed) and passes the same
/// lists to every call after [`Carp::set_addresses`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Addrs<'a> {
    /// IPv4 addresses.
    pub v4: &'a [[u8; 4]],
    /// IPv6 addresses (not link-local).
    pub v6: &'a [[u8; 16]],
    /// The device's IPv6 link-local addresses: never in the HMAC we send,
    /// but peers that include them (older OpenBSD, FreeBSD) are verified
    /// with them.
    pub v6ll: &'a [[u8; 16]],
    /// A custom lladdr of the device, hashed into the leader's HMAC as
    /// OpenBSD does (carp devices keep their virtual MAC, so normally none).
    pub lladdr: Option<[u8; 6]>,
}

impl Addrs<'_> {
    /// The HMAC of entry `vhid` (the leader if `leader`) over these
    /// addresses, the link-local addresses `ll` (context `Orig` only) and
    /// `counter`.
    pub fn hmac(
        &self,
        key: &Key,
        vhid: u8,
        leader: bool,
        counter: &[u8; 8],
        ll: &[[u8; 16]],
        ctx: HmacContext,
    ) -> [u8; 20] {
        let lladdr = if leader { self.lladdr.as_ref() } else { None };
        hmac_finish(
            &hmac_prefix(key, vhid, lladdr, self.v4, self.v6, ll, ctx),
            counter,
        )
    }

    /// Whether `mac` authenticates an advertisement of entry `vhid` with
    /// `counter` in any context a peer may have used: without link-local
    /// addresses (what we and current OpenBSD send), with the device's
    /// link-local addresses, or with those and `derived_ll`, the link-local
    /// address a BSD carp interface has from the shared MAC (older OpenBSD;
    /// ours appears only with carrier, i.e. while MASTER).
    pub fn verify(
        &self,
        key: &Key,
        vhid: u8,
        leader: bool,
        counter: &[u8; 8],
        derived_ll: Option<[u8; 16]>,
        mac: &[u8; 20],
    ) -> bool {
        let ok = |ll: &[[u8; 16]], ctx| {
            carp_sha1::ct_eq(&self.hmac(key, vhid, leader, counter, ll, ctx), mac)
        };
        if ok(&[], HmacContext::NoV6Ll) {
            return true;
        }
        if !self.v6ll.is_empty() && ok(self.v6ll, HmacContext::Orig) {
            return true;
        }
        let Some(d) = derived_ll else {
            return false;
        };
        if self.v6ll.contains(&d) {
            return false;
        }
        // The device's link-local addresses and `d`, sorted (the HMAC is
        // then a linear merge; at most 9 addresses).
        let mut ll = [[0u8; 16]; 9];
        let mut k = 0usize;
        for (slot, a) in ll
            .iter_mut()
            .zip(self.v6ll.iter().take(8).chain([d].iter()))
        {
            *slot = *a;
            k = k.wrapping_add(1);
        }
        let k = ll.get_mut(..k).map_or(0, sort_addrs);
        ok(ll.get(..k).unwrap_or(&[]), HmacContext::Orig)
    }
}

/// One virtual host entry: an independent CARP instance.
#[derive(Clone, Copy, Debug)]
pub struct Vhe {
    /// Virtual host ID.
    pub vhid: u8,
    /// Configured advertisement skew.
    pub advskew: u8,
    /// Current state.
    pub state: State,
    cookie: [u8; 8],
    ad_at: Option<Time>,
    down_at: [Option<Time>; 2],
    delayed_arp: u8,
    /// The HMAC of this entry's advertisements: it covers the key, the
    /// vhid, the addresses and the cookie, none of which changes between
    /// two configuration or address changes, so it is computed once after
    /// each ([`Carp::forget_macs`]), not per advertisement.
    sent_mac: Option<[u8; 20]>,
    /// The counter and HMAC of the last advertisement authenticated for
    /// this entry: a peer that sends the same counter every time (this
    /// implementation, with its fixed cookie) is verified in constant time
    /// until the configuration or the addresses change.
    heard: Option<([u8; 8], [u8; 20])>,
}

impl Vhe {
    const fn new(vhid: u8, advskew: u8, cookie: [u8; 8]) -> Self {
        Self {
            vhid,
            advskew,
            state: State::Init,
            cookie,
            ad_at: None,
            down_at: [None, None],
            delayed_arp: 0,
            sent_mac: None,
            heard: None,
        }
    }

    /// The replay cookie this entry sends in the counter field.
    pub fn cookie(&self) -> [u8; 8] {
        self.cookie
    }
}

/// The host's part of a carp device's operating conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Link {
    /// The device is administratively up.
    pub up: bool,
    /// The carpdev is up and has carrier.
    pub carpdev_up: bool,
}

fn splitmix(seed: &mut u64) -> [u8; 8] {
    *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // Never all zero: a zero cookie would match hand-made packets.
    (z | 1).to_be_bytes()
}

/// Counts consecutive send failures; demote after 3 × entries of them and
/// undo it after as many successes (OpenBSD's snderrors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendErrors {
    count: u32,
    demoted: bool,
}

impl SendErrors {
    /// Records one send; returns +1 or -1 when the demotion changes.
    pub fn record(&mut self, ok: bool, entries: usize) -> i8 {
        let limit = (core::cmp::min(entries, 32) as u32)
            .saturating_mul(3)
            .max(3);
        if ok == self.demoted {
            // A streak that may end the current condition.
            self.count = self.count.saturating_add(1);
            if self.count >= limit {
                self.count = 0;
                self.demoted = !self.demoted;
                return if self.demoted { 1 } else { -1 };
            }
        } else {
            self.count = 0;
        }
        0
    }

    /// Whether the failures demote the group now.
    pub fn demoted(&self) -> bool {
        self.demoted
    }

    /// Forgets the count (the device stopped sending); returns whether it
    /// was demoting.
    pub fn reset(&mut self) -> bool {
        let was = self.demoted;
        *self = Self::default();
        was
    }
}

/// The CARP state of one carp device: its configuration, its virtual host
/// entries and their timers.
///
/// # Invariants
///
/// `vhes[..cfg.count()]` are the entries of `cfg.nodes` in vhid order, and
/// the others are unused (INIT, no timers).
#[derive(Clone, Debug)]
pub struct Carp {
    cfg: Config,
    vhes: [Vhe; MAX_NODES],
    link: Link,
    has_v4: bool,
    has_v6: bool,
    demote: u8,
    seed: u64,
    arp_key: ArpHashKey,
    /// [`Carp::bow_out`] ran: no entry becomes MASTER (by its timer, a
    /// peer's bow-out or preemption) until the change that follows it.
    leaving: bool,
    /// When address changes were last announced ([`Carp::announce`]).
    announced_at: Option<Time>,
    /// Address changes not announced yet: the first advertisement of the
    /// first entry after [`ANNOUNCE_INTERVAL`] announces them.
    announce_due: bool,
}

/// Address changes are announced (gratuitous ARP, unsolicited NA: the
/// kernel sends one frame per address of the device) at most once per this
/// interval: a burst of N changes costs a few announcements, not N frames N
/// times over.
pub const ANNOUNCE_INTERVAL: Time = NSEC_PER_SEC;

impl Carp {
    /// A device with `cfg`, stopped. `seed` must be random: it gives the
    /// replay cookies that detect our own looped-back advertisements.
    pub fn new(cfg: Config, seed: u64) -> Self {
        let mut s = MaybeUninit::uninit();
        Self::init(&mut s, cfg, seed);
        // SAFETY: `init` initialised every field.
        unsafe { s.assume_init() }
    }

    /// [`Carp::new`] in place: a `Carp` is a few KB, so the kernel builds
    /// it where it lives (the device's private area) instead of moving it
    /// through the stack. Whatever `slot` held is overwritten, not dropped
    /// (a `Carp` owns nothing to drop).
    pub fn init(slot: &mut MaybeUninit<Self>, cfg: Config, seed: u64) -> &mut Self {
        let p = slot.as_mut_ptr();
        // SAFETY: `p` is valid for writes and aligned (it comes from a
        // `&mut MaybeUninit<Self>`); every field is written exactly once,
        // the entries one by one, before the reference is made.
        unsafe {
            addr_of_mut!((*p).cfg).write(Config::default());
            let vhes = addr_of_mut!((*p).vhes).cast::<Vhe>();
            for i in 0..MAX_NODES {
                vhes.add(i).write(Vhe::new(0, 0, [0; 8]));
            }
            addr_of_mut!((*p).link).write(Link::default());
            addr_of_mut!((*p).has_v4).write(false);
            addr_of_mut!((*p).has_v6).write(false);
            addr_of_mut!((*p).demote).write(0);
            addr_of_mut!((*p).seed).write(seed);
            addr_of_mut!((*p).arp_key).write(ArpHashKey::default());
            addr_of_mut!((*p).leaving).write(false);
            addr_of_mut!((*p).announced_at).write(None);
            addr_of_mut!((*p).announce_due).write(false);
        }
        // SAFETY: all fields are initialised above.
        let s = unsafe { slot.assume_init_mut() };
        s.install(cfg);
        s
    }

    fn install(&mut self, cfg: Config) {
        let mut seed = self.seed;
        for (i, v) in self.vhes.iter_mut().enumerate() {
            *v = match cfg.nodes.and_then(|n| n.as_slice().get(i).copied()) {
                Some(n) => Vhe::new(n.vhid, n.advskew, splitmix(&mut seed)),
                None => Vhe::new(0, 0, [0; 8]),
            };
        }
        self.seed = seed;
        self.arp_key = ArpHashKey::new(cfg.key.as_bytes());
        // INVARIANT: entries rebuilt from `cfg.nodes`.
        self.cfg = cfg;
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The virtual host entries in vhid order.
    pub fn vhes(&self) -> &[Vhe] {
        self.vhes.get(..self.cfg.count()).unwrap_or(&[])
    }

    /// Index of the entry with `vhid`.
    pub fn find(&self, vhid: u8) -> Option<usize> {
        self.vhes().iter().position(|v| v.vhid == vhid)
    }

    /// The group demotion counter currently advertised.
    pub fn demote(&self) -> u8 {
        self.demote
    }

    /// Whether CARP runs: up, carpdev up, an address and a vhid.
    pub fn running(&self) -> bool {
        self.link.up && self.link.carpdev_up && (self.has_v4 || self.has_v6) && self.cfg.count() > 0
    }

    /// The device's summary state: MASTER if any entry is MASTER, else
    /// BACKUP if any is BACKUP, else INIT. Carrier is up iff MASTER.
    pub fn link_state(&self) -> State {
        self.vhes()
            .iter()
            .map(|v| v.state)
            .max_by_key(|s| *s as u8)
            .unwrap_or(State::Init)
    }

    /// The leader's state (decides ARP/NDP answers outside ARP balancing).
    pub fn leader_state(&self) -> State {
        self.vhes().first().map(|v| v.state).unwrap_or(State::Init)
    }

    /// The load-sharing mask: bit `i` set iff we are MASTER of entry `i`.
    pub fn lsmask(&self) -> u32 {
        self.vhes()
            .iter()
            .enumerate()
            .filter(|(_, v)| v.state == State::Master)
            .fold(0, |m, (i, _)| m | 1u32.checked_shl(i as u32).unwrap_or(0))
    }

    /// The lock-free view of this state for the per-packet paths.
    pub fn snapshot(&self) -> carp_balance::Snapshot {
        carp_balance::Snapshot {
            mask: self.lsmask(),
            count: self.cfg.count() as u8,
            mode: self.cfg.balancing,
            running: self.running(),
        }
    }

    /// The key of the ARP-balancing hash.
    pub fn arp_key(&self) -> &ArpHashKey {
        &self.arp_key
    }

    /// The device's shared MAC address.
    pub fn mac(&self) -> [u8; 6] {
        match self.cfg.nodes {
            Some(n) => carp_balance::shared_mac(self.cfg.balancing, n.leader().vhid),
            None => [0; 6],
        }
    }

    /// The skew an entry advertises: 240 while the group is demoted (the
    /// carp(4) group failover), otherwise its own.
    pub fn effective_skew(&self, advskew: u8) -> u8 {
        if self.demote > 0 && advskew < DEMOTED_ADVSKEW {
            DEMOTED_ADVSKEW
        } else {
            advskew
        }
    }

    fn set_state(&mut self, i: usize, new: State, reason: Reason, sink: &mut impl FnMut(Action)) {
        let Some(v) = self.vhes.get_mut(i) else {
            return;
        };
        let old = v.state;
        if old == new {
            return;
        }
        v.state = new;
        sink(Action::State {
            vhe: i,
            vhid: v.vhid,
            old,
            new,
            reason,
        });
    }

    /// Builds the advertisement of entry `i` (`bowout`: advbase and advskew
    /// 255, telling backups to take over now).
    pub fn advert(&self, i: usize, bowout: bool, addrs: &Addrs<'_>) -> Option<[u8; HDR_LEN]> {
        let v = self.vhes().get(i)?;
        let (advbase, advskew) = if bowout {
            (255, 255)
        } else {
            (self.cfg.advbase, self.effective_skew(v.advskew))
        };
        let hmac = match v.sent_mac {
            Some(m) => m,
            None => self.sent_hmac(i, v, addrs),
        };
        Some(
            Header {
                version: CARP_VERSION,
                typ: CARP_ADVERTISEMENT,
                vhid: v.vhid,
                advskew,
                authlen: AUTHLEN,
                demote: self.demote,
                advbase,
                cksum: 0,
                counter: v.cookie,
                hmac,
            }
            .encode(),
        )
    }

    /// The HMAC entry `i` (`v`) sends, computed over `addrs`.
    fn sent_hmac(&self, i: usize, v: &Vhe, addrs: &Addrs<'_>) -> [u8; 20] {
        addrs.hmac(
            &self.cfg.key,
            v.vhid,
            i == 0,
            &v.cookie,
            &[],
            HmacContext::NoV6Ll,
        )
    }

    /// Forgets every entry's cached HMACs: the key, the entries or the
    /// addresses changed. (`Carp`'s contract with its caller: every change
    /// of the addresses it is given, `lladdr` included, goes through
    /// [`Carp::set_addresses`], which calls this, a change of the IPv6
    /// link-local list alone through [`Carp::forget_heard`]; a caller
    /// that swaps its lists under a lock calls this in the same section.)
    pub fn forget_macs(&mut self) {
        for v in self.vhes.iter_mut() {
            v.sent_mac = None;
            v.heard = None;
        }
    }

    /// The device's IPv6 link-local addresses changed (and nothing else):
    /// advertisements authenticated with the old ones are verified again.
    pub fn forget_heard(&mut self) {
        for v in self.vhes.iter_mut() {
            v.heard = None;
        }
    }

    fn send(&mut self, i: usize, bowout: bool, addrs: &Addrs<'_>, sink: &mut impl FnMut(Action)) {
        if let Some(v) = self.vhes.get(i).copied() {
            if v.sent_mac.is_none() {
                let m = self.sent_hmac(i, &v, addrs);
                if let Some(v) = self.vhes.get_mut(i) {
                    v.sent_mac = Some(m);
                }
            }
        }
        if let Some(packet) = self.advert(i, bowout, addrs) {
            sink(Action::Send {
                vhe: i,
                packet,
                v4: self.has_v4,
                v6: self.has_v6,
                to: SendTo {
                    peer: self.cfg.peer,
                    peer6: self.cfg.peer6,
                    balancing: self.cfg.balancing,
                },
            });
        }
    }

    /// Arms the timers of entry `i` for its state (OpenBSD's `carp_setrun`).
    fn setrun(&mut self, now: Time, i: usize, sink: &mut impl FnMut(Action)) {
        if !self.running() {
            return;
        }
        let advbase = self.cfg.advbase;
        let (has_v4, has_v6) = (self.has_v4, self.has_v6);
        let Some(state) = self.vhes.get(i).map(|v| v.state) else {
            return;
        };
        if state == State::Init {
            self.set_state(i, State::Backup, Reason::Start, sink);
        }
        let Some(skew) = self.vhes.get(i).map(|v| self.effective_skew(v.advskew)) else {
            return;
        };
        let Some(v) = self.vhes.get_mut(i) else {
            return;
        };
        match v.state {
            State::Backup => {
                v.ad_at = None;
                v.delayed_arp = 0;
                let md = now.saturating_add(master_down_interval(advbase, skew));
                v.down_at = [has_v4.then_some(md), has_v6.then_some(md)];
            }
            State::Master => {
                v.down_at = [None, None];
                if v.ad_at.is_none() {
                    v.ad_at = Some(now.saturating_add(adv_interval(advbase, skew)));
                }
            }
            State::Init => {}
        }
    }

    fn stop_all(&mut self, sink: &mut impl FnMut(Action)) {
        for i in 0..self.cfg.count() {
            if let Some(v) = self.vhes.get_mut(i) {
                v.ad_at = None;
                v.down_at = [None, None];
                v.delayed_arp = 0;
            }
            self.set_state(i, State::Init, Reason::Stopped, sink);
        }
    }

    /// BACKUP to MASTER (OpenBSD's `carp_master_down`).
    fn become_master(
        &mut self,
        now: Time,
        i: usize,
        reason: Reason,
        addrs: &Addrs<'_>,
        sink: &mut impl FnMut(Action),
    ) {
        if self.leaving || self.vhes.get(i).map(|v| v.state) != Some(State::Backup) {
            return;
        }
        self.set_state(i, State::Master, reason, sink);
        self.send(i, false, addrs, sink);
        if self.cfg.balancing == Balancing::None && i == 0 {
            if self.has_v4 {
                sink(Action::GratuitousArp);
            }
            if self.has_v6 {
                sink(Action::UnsolicitedNa);
            }
            if let Some(v) = self.vhes.get_mut(0) {
                v.delayed_arp = 2;
            }
        }
        if let Some(v) = self.vhes.get_mut(i) {
            v.ad_at = None;
        }
        self.setrun(now, i, sink);
    }

    /// Replaces the configuration (already validated by [`Config::apply`])
    /// without disturbing what the change does not decide: an entry whose
    /// vhid stays keeps its state, timers and cookie; a MASTER advertises
    /// the new settings at once (so a change of advskew, advbase or demotion
    /// takes effect on the peers now, and may hand over the election when
    /// that is what it decides); a BACKUP restarts its master-down timer
    /// only when its interval changed. New entries start as BACKUP, and a
    /// MASTER entry that is removed bows out so its peers take over at once.
    pub fn set_config(
        &mut self,
        now: Time,
        cfg: Config,
        addrs: &Addrs<'_>,
        sink: &mut impl FnMut(Action),
    ) {
        let was_running = self.running();
        let new_nodes = cfg.nodes.as_ref().map_or(&[][..], |n| n.as_slice());
        // Entries that go: a MASTER bows out first, with the old settings
        // (the ones its peers know), then it is reported stopped.
        for i in 0..self.cfg.count() {
            let Some(v) = self.vhes.get(i) else {
                continue;
            };
            if new_nodes.iter().any(|n| n.vhid == v.vhid) {
                continue;
            }
            if was_running && v.state == State::Master {
                self.send(i, true, addrs, sink);
            }
            self.set_state(i, State::Init, Reason::Stopped, sink);
        }
        let old_advbase = self.cfg.advbase;
        let old_skews: [u8; MAX_NODES] = core::array::from_fn(|i| {
            self.vhes
                .get(i)
                .map_or(0, |v| self.effective_skew(v.advskew))
        });
        let old_index = self.carry_entries(new_nodes);
        self.arp_key = ArpHashKey::new(cfg.key.as_bytes());
        // INVARIANT: `carry_entries` laid the entries out as `cfg.nodes`.
        self.cfg = cfg;
        self.forget_macs();
        self.leaving = false;
        if !self.running() {
            if was_running {
                self.stop_all(sink);
            }
            return;
        }
        for i in 0..self.cfg.count() {
            let Some(v) = self.vhes.get(i) else {
                continue;
            };
            let kept = old_index.get(i).copied().flatten();
            let timing_changed = kept.map_or(true, |o| {
                old_advbase != self.cfg.advbase
                    || old_skews.get(o).copied() != Some(self.effective_skew(v.advskew))
            });
            match v.state {
                State::Master if was_running => {
                    self.send(i, false, addrs, sink);
                    if let Some(v) = self.vhes.get_mut(i) {
                        v.ad_at = None;
                    }
                    self.setrun(now, i, sink);
                }
                State::Backup if was_running && !timing_changed => {}
                _ => {
                    if let Some(v) = self.vhes.get_mut(i) {
                        v.ad_at = None;
                    }
                    self.setrun(now, i, sink);
                }
            }
        }
    }

    /// Lays the entries out for `nodes` (in vhid order, as the current
    /// ones): an entry whose vhid stays moves to its new index with its
    /// state, timers and cookie and takes its new advskew; new ones start
    /// in INIT with a fresh cookie. Returns, per new index, the old index
    /// of a kept entry. Moves in place, as `memmove` does: entries moving
    /// down first in ascending order, then those moving up in descending
    /// order (both lists are sorted, so no source is overwritten first).
    fn carry_entries(&mut self, nodes: &[Node]) -> [Option<usize>; MAX_NODES] {
        let count = self.cfg.count();
        let mut from = [None; MAX_NODES];
        for (i, n) in nodes.iter().enumerate() {
            if let Some(f) = from.get_mut(i) {
                *f = self
                    .vhes
                    .get(..count)
                    .and_then(|old| old.iter().position(|v| v.vhid == n.vhid));
            }
        }
        for i in 0..MAX_NODES {
            if let Some(Some(src)) = from.get(i).copied() {
                if src > i {
                    if let Some(v) = self.vhes.get(src).copied() {
                        if let Some(d) = self.vhes.get_mut(i) {
                            *d = v;
                        }
                    }
                }
            }
        }
        for i in (0..MAX_NODES).rev() {
            if let Some(Some(src)) = from.get(i).copied() {
                if src < i {
                    if let Some(v) = self.vhes.get(src).copied() {
                        if let Some(d) = self.vhes.get_mut(i) {
                            *d = v;
                        }
                    }
                }
            }
        }
        let mut seed = self.seed;
        for (i, v) in self.vhes.iter_mut().enumerate() {
            match (nodes.get(i), from.get(i).copied().flatten()) {
                (Some(n), Some(_)) => v.advskew = n.advskew,
                (Some(n), None) => *v = Vhe::new(n.vhid, n.advskew, splitmix(&mut seed)),
                (None, _) => *v = Vhe::new(0, 0, [0; 8]),
            }
        }
        self.seed = seed;
        from
    }

    /// The device's addresses changed. Entries keep their state while the
    /// device keeps running: a MASTER advertises at once (the HMAC covers
    /// the addresses) and announces them; a family that appears gets its
    /// own master-down timer on BACKUP entries, one that goes loses it.
    /// Without any address left the device stops.
    pub fn set_addresses(&mut self, now: Time, addrs: &Addrs<'_>, sink: &mut impl FnMut(Action)) {
        self.forget_macs();
        self.leaving = false;
        let was_running = self.running();
        let had = [self.has_v4, self.has_v6];
        self.has_v4 = !addrs.v4.is_empty();
        self.has_v6 = !addrs.v6.is_empty();
        let has = [self.has_v4, self.has_v6];
        if !self.running() {
            if was_running {
                self.stop_all(sink);
            }
            return;
        }
        if !was_running {
            for i in 0..self.cfg.count() {
                self.setrun(now, i, sink);
            }
            return;
        }
        let advbase = self.cfg.advbase;
        let mut announce = false;
        for i in 0..self.cfg.count() {
            let Some(v) = self.vhes.get(i) else {
                continue;
            };
            let skew = self.effective_skew(v.advskew);
            match v.state {
                State::Master => {
                    self.send(i, false, addrs, sink);
                    if let Some(v) = self.vhes.get_mut(i) {
                        v.ad_at = None;
                    }
                    self.setrun(now, i, sink);
                    announce |= i == 0;
                }
                State::Backup => {
                    let md = now.saturating_add(master_down_interval(advbase, skew));
                    if let Some(v) = self.vhes.get_mut(i) {
                        for (f, slot) in v.down_at.iter_mut().enumerate() {
                            match (had.get(f), has.get(f)) {
                                (Some(false), Some(true)) => *slot = Some(md),
                                (_, Some(false)) => *slot = None,
                                _ => {}
                            }
                        }
                    }
                }
                State::Init => self.setrun(now, i, sink),
            }
        }
        if announce && self.cfg.balancing == Balancing::None {
            self.announce(now, sink);
        }
    }

    /// Announces the addresses of a MASTER (entry 0) after a change: at
    /// once if the last announcement is [`ANNOUNCE_INTERVAL`] old, else
    /// with the first advertisement after that.
    fn announce(&mut self, now: Time, sink: &mut impl FnMut(Action)) {
        if self
            .announced_at
            .is_some_and(|t| now < t.saturating_add(ANNOUNCE_INTERVAL))
        {
            self.announce_due = true;
            return;
        }
        self.announced_at = Some(now);
        self.announce_due = false;
        if self.has_v4 {
            sink(Action::GratuitousArp);
        }
        if self.has_v6 {
            sink(Action::UnsolicitedNa);
        }
    }

    /// Admin state and carpdev state changed. Going admin down while running
    /// sends the bow-out advertisement for every MASTER entry first.
    pub fn set_link(
        &mut self,
        now: Time,
        link: Link,
        addrs: &Addrs<'_>,
        sink: &mut impl FnMut(Action),
    ) {
        if link == self.link {
            return;
        }
        self.leaving = false;
        let was_running = self.running();
        if was_running && !link.up && link.carpdev_up {
            self.bow_out(addrs, sink);
        }
        self.link = link;
        if !self.running() {
            self.stop_all(sink);
        } else if !was_running {
            for i in 0..self.cfg.count() {
                self.setrun(now, i, sink);
            }
        }
    }

    /// The device is about to stop (it is deleted, leaves its carpdev, or
    /// loses its last address): every MASTER entry of a running device
    /// sends the bow-out advertisement (advbase and advskew 255), signed
    /// over `addrs`, the addresses its peers know, so they take over at
    /// once. The device then goes quiet until the caller's next change
    /// (which stops it): no entry's timer runs, and no BACKUP entry
    /// becomes MASTER (a master-down timer, a peer's bow-out), so no
    /// ordinary advertisement follows the bow-out.
    pub fn bow_out(&mut self, addrs: &Addrs<'_>, sink: &mut impl FnMut(Action)) {
        if !self.running() {
            return;
        }
        for i in 0..self.cfg.count() {
            if self.vhes.get(i).map(|v| v.state) == Some(State::Master) {
                self.send(i, true, addrs, sink);
            }
            if let Some(v) = self.vhes.get_mut(i) {
                v.ad_at = None;
                v.down_at = [None, None];
            }
        }
        self.leaving = true;
    }

    /// The group demotion counter changed. When it rises, MASTER entries
    /// advertise at once so peers take over without waiting.
    pub fn set_demote(
        &mut self,
        now: Time,
        demote: u8,
        addrs: &Addrs<'_>,
        sink: &mut impl FnMut(Action),
    ) {
        let rose = demote > self.demote;
        self.demote = demote;
        if !rose || !self.running() {
            return;
        }
        for i in 0..self.cfg.count() {
            if self.vhes.get(i).map(|v| v.state) == Some(State::Master) {
                self.send(i, false, addrs, sink);
                if let Some(v) = self.vhes.get_mut(i) {
                    v.ad_at = None;
                }
                self.setrun(now, i, sink);
            }
        }
    }

    /// Forces every entry to MASTER or BACKUP (`carpctl carp0 state ...`).
    /// Ignored while not running, like OpenBSD.
    pub fn force_state(
        &mut self,
        now: Time,
        state: State,
        addrs: &Addrs<'_>,
        sink: &mut impl FnMut(Action),
    ) {
        if !self.running() {
            return;
        }
        for i in 0..self.cfg.count() {
            match state {
                State::Master => self.become_master(now, i, Reason::User, addrs, sink),
                State::Backup => {
                    if let Some(v) = self.vhes.get_mut(i) {
                        v.ad_at = None;
                    }
                    self.set_state(i, State::Backup, Reason::User, sink);
                    self.setrun(now, i, sink);
                }
                State::Init => {}
            }
        }
    }

    /// The earliest timer deadline, if any.
    pub fn next_deadline(&self) -> Option<Time> {
        self.vhes()
            .iter()
            .flat_map(|v| [v.ad_at, v.down_at[0], v.down_at[1]])
            .flatten()
            .min()
    }

    /// Runs every timer that expired at `now`.
    pub fn on_timer(&mut self, now: Time, addrs: &Addrs<'_>, sink: &mut impl FnMut(Action)) {
        for i in 0..self.cfg.count() {
            let Some(v) = self.vhes.get(i).copied() else {
                continue;
            };
            let down = v.down_at.iter().flatten().any(|t| *t <= now);
            let ad = v.ad_at.is_some_and(|t| t <= now);
            if down && v.state == State::Backup {
                if let Some(v) = self.vhes.get_mut(i) {
                    v.down_at = [None, None];
                }
                self.become_master(now, i, Reason::MasterDown, addrs, sink);
            } else if ad && v.state == State::Master {
                self.send(i, false, addrs, sink);
                let advbase = self.cfg.advbase;
                let skew = self.effective_skew(v.advskew);
                let mut garp = false;
                if let Some(v) = self.vhes.get_mut(i) {
                    v.ad_at = Some(now.saturating_add(adv_interval(advbase, skew)));
                    if v.delayed_arp > 0 {
                        v.delayed_arp -= 1;
                        garp = v.delayed_arp == 0;
                    }
                }
                if garp && self.has_v4 {
                    sink(Action::GratuitousArp);
                }
                if i == 0 && self.announce_due && self.cfg.balancing == Balancing::None {
                    self.announce(now, sink);
                }
            }
        }
    }

    /// Authenticates an advertisement for this device and runs the state
    /// machine on it. `hdr` passed [`Header::parse`]; the caller found this
    /// device by `hdr.vhid`.
    pub fn input(
        &mut self,
        now: Time,
        fam: Family,
        hdr: &Header,
        preempt: bool,
        addrs: &Addrs<'_>,
        sink: &mut impl FnMut(Action),
    ) -> Result<(), RxError> {
        let i = self.find(hdr.vhid).ok_or(RxError::BadVhid(hdr.vhid))?;
        if !self.running() {
            return Err(RxError::BadVhid(hdr.vhid));
        }
        if hdr.version != CARP_VERSION {
            return Err(RxError::BadVer(hdr.version));
        }
        let v = self.vhes.get(i).ok_or(RxError::BadVhid(hdr.vhid))?;
        let known = v
            .heard
            .is_some_and(|(c, m)| c == hdr.counter && carp_sha1::ct_eq(&m, &hdr.hmac));
        if !known {
            let key = &self.cfg.key;
            let derived = (!addrs.v6.is_empty()).then(|| eui64_linklocal(self.mac()));
            if !addrs.verify(key, v.vhid, i == 0, &hdr.counter, derived, &hdr.hmac) {
                return Err(RxError::BadAuth);
            }
            if let Some(v) = self.vhes.get_mut(i) {
                v.heard = Some((hdr.counter, hdr.hmac));
            }
        }
        let v = self.vhes.get(i).ok_or(RxError::BadVhid(hdr.vhid))?;
        if hdr.counter == v.cookie {
            return Err(RxError::Loop);
        }
        let mine = speed(self.cfg.advbase, self.effective_skew(v.advskew));
        let theirs = speed(hdr.advbase, hdr.advskew);
        let (md, td) = (self.demote, hdr.demote);
        match v.state {
            State::Init => {}
            State::Master => {
                if (theirs <= mine && td <= md) || td < md {
                    if let Some(v) = self.vhes.get_mut(i) {
                        v.ad_at = None;
                    }
                    self.set_state(i, State::Backup, Reason::BetterMaster, sink);
                    self.setrun(now, i, sink);
                }
            }
            State::Backup => {
                let my_skew = u32::from(self.effective_skew(v.advskew));
                if hdr.advbase == 255 && hdr.advskew == 255 {
                    // A bow-out: the master is going down. Taken as such
                    // whatever our own advbase (OpenBSD only sees it as a
                    // too slow master, which misses it with advbase 0).
                    self.become_master(now, i, Reason::BowOut, addrs, sink);
                } else if preempt && mine < theirs && td >= md {
                    self.become_master(now, i, Reason::Preempt, addrs, sink);
                } else if td > md {
                    self.become_master(now, i, Reason::MasterDemoted, addrs, sink);
                } else if self.cfg.advbase != 0
                    && u32::from(self.cfg.advbase)
                        .wrapping_mul(3 * 256)
                        .wrapping_add(my_skew)
                        < theirs
                {
                    self.become_master(now, i, Reason::MasterTooSlow, addrs, sink);
                } else {
                    let skew = self.effective_skew(v.advskew);
                    let t = now.saturating_add(master_down_interval(self.cfg.advbase, skew));
                    if let Some(v) = self.vhes.get_mut(i) {
                        if let Some(slot) = v.down_at.get_mut(fam as usize) {
                            *slot = Some(t);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
