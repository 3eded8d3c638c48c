// SPDX-License-Identifier: GPL-2.0

//! Load balancing: carpnodes lists, balancing modes, the IP- and
//! ARP/NDP-balancing decisions and the MAC addresses each mode uses.
//!
//! Pure `no_std` Rust, no allocation, no panics; shared by the kernel module,
//! the host tests and `carpctl`.
//!
//! A carp device runs one virtual host entry (vhe) per carpnode. Entries are
//! kept sorted by vhid; the first one is the *leader*: it gives the device its
//! MAC address and decides ARP/NDP answers outside ARP balancing. Bit `i` of
//! the load-sharing mask is set when this host is MASTER of entry `i`.

/// Most carpnodes a device can have (OpenBSD's `CARP_MAXNODES`).
pub const MAX_NODES: usize = 32;

/// How incoming traffic is shared between the nodes of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Balancing {
    /// No balancing: one MASTER answers and takes all traffic.
    #[default]
    None = 0,
    /// IP balancing with the multicast virtual MAC, so switches flood.
    Ip = 1,
    /// IP balancing, never sending from the virtual MAC (switches flood).
    IpStealth = 2,
    /// IP balancing with the unicast virtual MAC (hub or monitor port).
    IpUnicast = 3,
    /// ARP/NDP balancing: answer a requester only if its hash is ours.
    Arp = 4,
}

/// Every balancing mode, in uapi order.
pub const BALANCING_MODES: [Balancing; 5] = [
    Balancing::None,
    Balancing::Ip,
    Balancing::IpStealth,
    Balancing::IpUnicast,
    Balancing::Arp,
];

impl Balancing {
    /// The mode's name as `carpctl` and carp(4) spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Ip => "ip",
            Self::IpStealth => "ip-stealth",
            Self::IpUnicast => "ip-unicast",
            Self::Arp => "arp",
        }
    }

    /// Parses a mode name (case-insensitive, as OpenBSD's ifconfig).
    pub fn from_name(s: &str) -> Option<Self> {
        BALANCING_MODES
            .iter()
            .copied()
            .find(|m| m.name().eq_ignore_ascii_case(s))
    }

    /// Converts the uapi number.
    pub fn from_u32(v: u32) -> Option<Self> {
        BALANCING_MODES.get(v as usize).copied()
    }

    /// Whether this is one of the IP-balancing modes (netfilter filter on).
    pub const fn is_ip(self) -> bool {
        matches!(self, Self::Ip | Self::IpStealth | Self::IpUnicast)
    }
}

/// One `vhid:advskew` pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Node {
    /// Virtual host ID, 1..=255.
    pub vhid: u8,
    /// Advertisement skew, 0..=254.
    pub advskew: u8,
}

/// Why a carpnodes list was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodesError {
    /// The list is empty.
    Empty,
    /// More than [`MAX_NODES`] entries.
    TooMany,
    /// A vhid is 0 or above 255.
    BadVhid,
    /// An advskew is 255 or above.
    BadAdvskew,
    /// The same vhid appears twice.
    Duplicate,
    /// The text is not `vhid:advskew[,vhid:advskew...]`.
    Syntax,
}

impl NodesError {
    /// A message fit for a netlink extack or a command-line error.
    pub const fn message(self) -> &'static core::ffi::CStr {
        match self {
            Self::Empty => c"carpnodes list is empty",
            Self::TooMany => c"too many carpnodes (at most 32)",
            Self::BadVhid => c"carpnodes vhid must be 1..255",
            Self::BadAdvskew => c"carpnodes advskew must be 0..254",
            Self::Duplicate => c"duplicate vhid in carpnodes",
            Self::Syntax => c"carpnodes must be vhid:advskew[,vhid:advskew...]",
        }
    }
}

/// Insertion sort by vhid: at most 32 entries, and unlike `core`'s sort it
/// has no panic path.
fn sort_by_vhid(list: &mut [Node]) {
    for i in 1..list.len() {
        let mut j = i;
        while j > 0 {
            match list.get_mut(j - 1..=j) {
                Some([a, b]) if a.vhid > b.vhid => core::mem::swap(a, b),
                _ => break,
            }
            j -= 1;
        }
    }
}

/// A validated carpnodes list: 1..=32 nodes, unique vhids, sorted by vhid.
///
/// # Invariants
///
/// `1 <= len <= MAX_NODES`; `nodes[..len]` is sorted by strictly increasing
/// vhid, every vhid is non-zero and every advskew is below 255.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Carpnodes {
    nodes: [Node; MAX_NODES],
    len: usize,
}

impl Carpnodes {
    /// A list with one node (what `vhid N advskew S` configures).
    pub fn single(vhid: u32, advskew: u32) -> Result<Self, NodesError> {
        Self::from_pairs([(vhid, advskew)].into_iter())
    }

    /// Validates and sorts a list of `(vhid, advskew)` pairs.
    pub fn from_pairs(pairs: impl Iterator<Item = (u32, u32)>) -> Result<Self, NodesError> {
        let mut nodes = [Node::default(); MAX_NODES];
        let mut len = 0usize;
        for (vhid, advskew) in pairs {
            if !(1..=255).contains(&vhid) {
                return Err(NodesError::BadVhid);
            }
            if advskew >= 255 {
                return Err(NodesError::BadAdvskew);
            }
            let node = Node {
                vhid: vhid as u8,
                advskew: advskew as u8,
            };
            let slot = nodes.get_mut(len).ok_or(NodesError::TooMany)?;
            *slot = node;
            len += 1;
        }
        if len == 0 {
            return Err(NodesError::Empty);
        }
        let list = nodes.get_mut(..len).ok_or(NodesError::TooMany)?;
        sort_by_vhid(list);
        if list.windows(2).any(|w| w[0].vhid == w[1].vhid) {
            return Err(NodesError::Duplicate);
        }
        // INVARIANT: checked above: 1..=32 entries, sorted, unique, in range.
        Ok(Self { nodes, len })
    }

    /// Parses carp(4)'s `vhid:advskew,...` text.
    ///
    /// Userspace only (`carpctl`, tests): the kernel receives carpnodes as
    /// netlink attributes, and `core`'s string searching would bring
    /// overflow-check panic paths into the module.
    #[cfg(not(MODULE))]
    pub fn parse(s: &str) -> Result<Self, NodesError> {
        let mut err = None;
        let pairs = s.split(',').map(|item| {
            let parsed = item.split_once(':').and_then(|(v, a)| {
                Some((v.trim().parse::<u32>().ok()?, a.trim().parse::<u32>().ok()?))
            });
            match parsed {
                Some(p) => p,
                None => {
                    err.get_or_insert(NodesError::Syntax);
                    // A value that fails validation, so the list is rejected.
                    (0, 0)
                }
            }
        });
        let res = Self::from_pairs(pairs);
        match err {
            Some(e) => Err(e),
            None => res,
        }
    }

    /// The nodes, sorted by vhid.
    pub fn as_slice(&self) -> &[Node] {
        self.nodes.get(..self.len).unwrap_or(&[])
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a list has at least one node.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The leader (lowest vhid).
    pub fn leader(&self) -> Node {
        self.nodes[0]
    }

    /// Whether `vhid` is one of the nodes.
    pub fn contains(&self, vhid: u8) -> bool {
        self.as_slice().iter().any(|n| n.vhid == vhid)
    }

    /// The first vhid present in both lists, if any (two carp devices on one
    /// carpdev must not share a vhid).
    pub fn overlap(&self, other: &Carpnodes) -> Option<u8> {
        self.as_slice()
            .iter()
            .find(|n| other.contains(n.vhid))
            .map(|n| n.vhid)
    }
}

/// The unicast virtual MAC of `vhid`: 00:00:5e:00:01:vhid.
pub const fn virtual_mac(vhid: u8) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, 0x01, vhid]
}

/// The multicast virtual MAC of `vhid` used in `ip` mode: 01:00:5e:00:01:vhid.
pub const fn multicast_mac(vhid: u8) -> [u8; 6] {
    [0x01, 0x00, 0x5e, 0x00, 0x01, vhid]
}

/// The device's shared MAC: the leader's virtual MAC, multicast in `ip` mode.
pub const fn shared_mac(mode: Balancing, leader_vhid: u8) -> [u8; 6] {
    match mode {
        Balancing::Ip => multicast_mac(leader_vhid),
        _ => virtual_mac(leader_vhid),
    }
}

/// The Ethernet source for frames the device sends: in `ip` and
/// `ip-stealth` the lower device's real MAC (a multicast source is invalid,
/// and stealth must never let a switch learn the shared MAC), otherwise the
/// device's shared MAC (`own`).
pub const fn source_mac(mode: Balancing, own: [u8; 6], real: [u8; 6]) -> [u8; 6] {
    match mode {
        Balancing::Ip | Balancing::IpStealth => real,
        _ => own,
    }
}

/// The XOR fold of an IPv4 source/destination pair (network-order words).
/// Symmetric: `fold_v4(a, b) == fold_v4(b, a)`.
pub fn fold_v4(src: [u8; 4], dst: [u8; 4]) -> u32 {
    u32::from_be_bytes(src) ^ u32::from_be_bytes(dst)
}

/// The XOR fold of an IPv6 pair: all four 32-bit words of both addresses.
pub fn fold_v6(src: &[u8; 16], dst: &[u8; 16]) -> u32 {
    let mut f = 0u32;
    for (s, d) in src.chunks_exact(4).zip(dst.chunks_exact(4)) {
        f ^= u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
        f ^= u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    }
    f
}

/// The node index a fold maps to, or `None` with no nodes.
pub fn node_index(fold: u32, count: usize) -> Option<usize> {
    // (checked_rem: no division-by-zero panic path for the compiler to
    // keep, which objtool saw falling through in the clippy build.)
    let n = u32::try_from(count).ok()?;
    fold.checked_rem(n).map(|i| i as usize)
}

/// The IP-balancing decision: accept a packet iff we are MASTER of the node
/// its address pair hashes to. Link-layer broadcast/multicast packets
/// (`l2_group`, after the `ip` mode multicast MAC was turned back into
/// unicast) are never dropped: advertisements, ARP, ND must get through.
pub fn ip_accept(fold: u32, l2_group: bool, count: usize, mask: u32) -> bool {
    if l2_group {
        return true;
    }
    match node_index(fold, count) {
        Some(i) if i < 32 => mask & (1 << i) != 0,
        _ => false,
    }
}

/// Bob Jenkins' lookup2 mix, as OpenBSD's `bridge_hash` and the ARP
/// balancing of carp(4) use it.
fn mix(mut a: u32, mut b: u32, mut c: u32) -> u32 {
    macro_rules! step {
        ($x:ident, $y:ident, $z:ident, $sh:expr, $left:expr) => {
            $x = $x.wrapping_sub($y).wrapping_sub($z);
            $x ^= if $left { $z << $sh } else { $z >> $sh };
        };
    }
    step!(a, b, c, 13, false);
    step!(b, c, a, 8, true);
    step!(c, a, b, 13, false);
    step!(a, b, c, 12, false);
    step!(b, c, a, 16, true);
    step!(c, a, b, 5, false);
    step!(a, b, c, 3, false);
    step!(b, c, a, 10, true);
    step!(c, a, b, 15, false);
    c
}

/// The per-cluster key of the ARP-balancing hash, derived from the
/// passphrase so that all nodes of a cluster agree (see [`arp_hash`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ArpHashKey {
    words: [u32; 3],
}

impl ArpHashKey {
    /// Derives the key like carp(4) of the ARP-balancing era: two words
    /// folded from SHA1(ipad ‖ 0x02 ‖ 0x01) (little-endian words, as on the
    /// amd64 machines that ran it) and the first four passphrase bytes.
    pub fn new(key: &[u8]) -> Self {
        let mut ipad = [0x36u8; 64];
        for (p, k) in ipad.iter_mut().zip(key.iter()) {
            *p ^= k;
        }
        let mut s = crate::carp_sha1::Sha1::new();
        s.update(&ipad);
        s.update(&[2, 1]);
        let d = s.finish();
        let w = |i: usize| {
            let b = d.get(i * 4..i * 4 + 4).unwrap_or(&[0; 4]);
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        let k = |i: usize| u32::from(key.get(i).copied().unwrap_or(0));
        Self {
            words: [
                w(0) ^ w(1),
                w(2) ^ w(3),
                k(0) | k(1) << 8 | k(2) << 16 | k(3) << 24,
            ],
        }
    }
}

impl ArpHashKey {
    /// The key's words (to publish it for lock-free readers).
    pub fn words(&self) -> [u32; 3] {
        self.words
    }

    /// A key from [`ArpHashKey::words`].
    pub fn from_words(words: [u32; 3]) -> Self {
        Self { words }
    }
}

/// The ARP/NDP-balancing hash of a requester's MAC address.
pub fn arp_hash(key: &ArpHashKey, mac: &[u8; 6]) -> u32 {
    let m = |i: usize| u32::from(mac[i]);
    let a = 0x9e37_79b9u32
        .wrapping_add(m(0))
        .wrapping_add(m(1) << 8)
        .wrapping_add(m(2) << 16)
        .wrapping_add(m(3) << 24);
    let b = key.words[0].wrapping_add(m(4)).wrapping_add(m(5) << 8);
    let c = key.words[1].wrapping_add(key.words[2]);
    mix(a, b, c)
}

/// The ARP-balancing decision: the node index whose MAC answers a request
/// from `mac`, if this host is MASTER of it (otherwise stay silent).
pub fn arp_select(key: &ArpHashKey, mac: &[u8; 6], count: usize, mask: u32) -> Option<usize> {
    let i = node_index(arp_hash(key, mac), count)?;
    if i < 32 && mask & (1 << i) != 0 {
        Some(i)
    } else {
        None
    }
}

/// What the per-packet paths (receive steering, transmit, the IP-balancing
/// filter) need to know about a carp device, packed into one 64-bit word so
/// that they read it with a single atomic load, without a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Bit `i` set iff this host is MASTER of entry `i`.
    pub mask: u32,
    /// Number of entries (0..=32).
    pub count: u8,
    /// Balancing mode.
    pub mode: Balancing,
    /// Whether CARP runs on the device (up, carpdev up, address, vhid).
    pub running: bool,
}

impl Snapshot {
    /// The packed form.
    pub const fn encode(&self) -> u64 {
        (self.mask as u64)
            | (self.count as u64) << 32
            | (self.mode as u64) << 40
            | (self.running as u64) << 48
    }

    /// Unpacks [`Snapshot::encode`]'s word (unknown modes read as `None`).
    pub fn decode(w: u64) -> Self {
        Self {
            mask: w as u32,
            count: (w >> 32) as u8,
            mode: Balancing::from_u32(((w >> 40) & 0xff) as u32).unwrap_or_default(),
            running: (w >> 48) & 1 != 0,
        }
    }

    /// Whether this host is MASTER of the leader entry.
    pub const fn leader_master(&self) -> bool {
        self.running && self.mask & 1 != 0
    }

    /// Whether this host answers ARP/NDP for the device's addresses outside
    /// ARP balancing: only the leader's MASTER (carp(4)'s `carp_iamatch`).
    pub const fn answers_neighbours(&self) -> bool {
        self.leader_master()
    }

    /// Whether the device may send: without balancing the leader's MASTER,
    /// with balancing a host that is MASTER of at least one entry (it
    /// serves the flows of its entries).
    pub const fn may_send(&self) -> bool {
        match self.mode {
            Balancing::None => self.leader_master(),
            _ => self.running && self.mask != 0,
        }
    }

    /// Whether frames to the device's shared MAC are taken in: without
    /// balancing by the leader's MASTER; in the `ip` modes by every running
    /// host (the IP filter then picks one); in `arp` mode by a host that is
    /// MASTER of the leader (other entries have their own MACs).
    pub const fn accepts_shared_mac(&self) -> bool {
        if self.mode.is_ip() {
            self.running
        } else {
            self.leader_master()
        }
    }

    /// Whether this host is MASTER of entry `i`.
    pub const fn master_of(&self, i: usize) -> bool {
        self.running && i < 32 && self.mask & (1 << i) != 0
    }
}

/// What the IP-balancing filter does with a packet that arrived on a carp
/// device in an `ip` mode as layer-2 unicast (for the shared MAC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Never dropped (CARP itself, neighbour discovery, MLD).
    Pass,
    /// Accepted only by the MASTER of the entry this fold maps to.
    Fold(u32),
    /// Not a well-formed IP header: dropped by every host (the IP layer
    /// would drop it anyway), so no two hosts accept it.
    Malformed,
}

/// ICMP (v4) types that quote the packet they are about: destination
/// unreachable, source quench, redirect, time exceeded, parameter problem.
fn icmp4_error(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12)
}

/// Classifies an IPv4 packet for the filter from its first bytes `p` (the
/// header, then at least 28 more bytes when there are: an ICMP error's
/// header and the start of the packet it quotes). As OpenBSD's
/// `carp_lsdrop`: the fold of source and destination; for ICMP errors the
/// fold of the quoted packet's destination and the outer destination, so
/// the error reaches the host that owns the flow; garbage quoted packets
/// fall back to the outer pair.
pub fn filter_v4(p: &[u8]) -> Filter {
    let (Some(&vihl), Some(&proto)) = (p.first(), p.get(9)) else {
        return Filter::Malformed;
    };
    let ihl = usize::from(vihl & 0x0f) * 4;
    let (Some(src), Some(dst)) = (addr4(p, 12), addr4(p, 16)) else {
        return Filter::Malformed;
    };
    if vihl >> 4 != 4 || ihl < 20 || p.len() < ihl {
        return Filter::Malformed;
    }
    if proto == 112 {
        return Filter::Pass;
    }
    // The first fragment (offset 0) carries the ICMP header.
    let first = p.get(6..8).is_some_and(|f| f[0] & 0x1f == 0 && f[1] == 0);
    if proto == 1 && first && p.get(ihl).copied().is_some_and(icmp4_error) {
        let inner = ihl.saturating_add(8);
        if let (Some(&v), Some(idst)) = (p.get(inner), addr4(p, inner.saturating_add(16))) {
            if v >> 4 == 4 {
                return Filter::Fold(fold_v4(idst, dst));
            }
        }
    }
    Filter::Fold(fold_v4(src, dst))
}

/// Classifies an IPv6 packet for the filter from its first bytes (the
/// header, then up to 48 more: an ICMPv6 header and the header of the
/// packet an error quotes). Neighbour discovery and MLD pass; ICMPv6
/// errors are folded on the quoted packet's destination and the outer
/// destination; everything else on source and destination.
pub fn filter_v6(p: &[u8]) -> Filter {
    let (Some(&v), Some(&nh)) = (p.first(), p.get(6)) else {
        return Filter::Malformed;
    };
    let (Some(src), Some(dst)) = (addr16(p, 8), addr16(p, 24)) else {
        return Filter::Malformed;
    };
    if v >> 4 != 6 {
        return Filter::Malformed;
    }
    if nh == 112 {
        return Filter::Pass;
    }
    if nh == 58 {
        match p.get(40).copied() {
            // MLD queries/reports (130-132, 143), router/neighbour
            // discovery and redirects (133-137).
            Some(130..=137 | 143) => return Filter::Pass,
            // Errors: unreachable, too big, time exceeded, parameter.
            Some(1..=4) => {
                if let (Some(&iv), Some(idst)) = (p.get(48), addr16(p, 48 + 24)) {
                    if iv >> 4 == 6 {
                        return Filter::Fold(fold_v6(&idst, &dst));
                    }
                }
            }
            _ => {}
        }
    }
    Filter::Fold(fold_v6(&src, &dst))
}

fn addr4(p: &[u8], at: usize) -> Option<[u8; 4]> {
    p.get(at..at.saturating_add(4))?.try_into().ok()
}

fn addr16(p: &[u8], at: usize) -> Option<[u8; 16]> {
    p.get(at..at.saturating_add(16))?.try_into().ok()
}

impl Snapshot {
    /// The entry a fold maps to.
    pub fn fold_index(&self, fold: u32) -> Option<usize> {
        node_index(fold, usize::from(self.count))
    }
}
