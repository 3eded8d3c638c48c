// SPDX-License-Identifier: GPL-2.0

//! carpctl: configure and watch carp(4) devices with carp(4)'s own words.
//!
//! ```text
//! carpctl carp0 vhid 1 advskew 100 pass secret carpdev eth0
//! carpctl carp0 carpnodes 1:0,2:100 balancing ip
//! carpctl carp0            # status, like OpenBSD's ifconfig carp lines
//! carpctl stats            # like netstat -s -p carp
//! carpctl monitor          # state changes as they happen
//! carpctl hooks            # run /etc/carp/hooks.d/* on every change
//! carpctl metrics          # for Prometheus (node_exporter's textfile)
//! carpctl doctor           # what is wrong, in plain words
//! carpctl track            # /etc/carp/track.conf's checks demote the group
//! carpctl maintenance on   # demoted until `off`, across reboots
//! carpctl demote carp +50  # demote the group (OpenBSD's carpdemote)
//! ```
//!
//! Talks to the kernel through the "carp" generic netlink family; a change
//! is one request, validated as a whole by the kernel (nothing changes on
//! error). Every failure prints one line and exits non-zero.

mod child;
mod doctor;
mod file;
mod hooks;
mod maintenance;
mod metrics;
mod nl;
mod track;

use nl::{a, cmd, Attr, Attrs, Carp, Error};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;

const USAGE: &str = "\
Usage: carpctl [-j] [IFNAME]            show carp devices (all, or one)
       carpctl IFNAME SETTING...        change a carp device
       carpctl [-j] stats [IFNAME]      statistics of the namespace or a device
       carpctl [-j] monitor             print state changes as they happen
       carpctl doctor [-t S] [IFNAME]   capture advertisements for a few
                                        seconds (root) and say what is
                                        wrong: pass, address lists,
                                        advbase, multicast, VRRP ids
       carpctl metrics [-o FILE]        state, transitions, demotion and
                                        counters for Prometheus (FILE:
                                        node_exporter's textfile
                                        collector, replaced atomically)
       carpctl maintenance [on [N]|off|sync]
                                        maintenance mode across reboots:
                                        /etc/carp/maintenance demotes group
                                        carp by N (100); sync applies the
                                        file (at boot)
       carpctl track [--check|--release] [FILE]
                                        health tracking: the checks of FILE
                                        (default /etc/carp/track.conf:
                                        interface, script, file, process,
                                        with weight, interval, timeout,
                                        rise, fall) demote group carp
       carpctl hooks [OPTION...] [DIR]  run DIR's executables (default
                                        /etc/carp/hooks.d) on every state
                                        change, in order per entry, with
                                        keepalived's arguments INSTANCE
                                        IFNAME STATE PRIORITY; the current
                                        states at start. Options:
                                        -t, --timeout S (30), --up FILE,
                                        --down FILE (ucarp's scripts, with
                                        IFNAME), --rcvbuf BYTES
       carpctl [-j] demote [GROUP]      the group's demotion counter and
                                        its parts
       carpctl demote GROUP [+|-]N      raise (+N) or lower (-N) the part
                                        of the counter set from userspace,
                                        or set it (N), as OpenBSD's
                                        ifconfig -g GROUP carpdemote N; the
                                        result must be 0..255. Every carp
                                        device is in group carp, the only
                                        one.

Settings (any number, applied together; on error nothing changes):
  vhid N            virtual host ID, 1..255 (a single node)
  advskew N         skew of the first node, 0..254; higher is less preferred
  advbase N         advertisement base interval in seconds, 0..254
  pass PASS         HMAC-SHA1 passphrase, at most 19 bytes; \"\" clears it
  passfile FILE     the passphrase read from FILE (- for standard input),
                    without one trailing newline: in no command line
  carpdev IF        the interface carp runs on (default: the one given to
                    ip link add ... link IF)
  carpnodes V:S,... load-balancing nodes as vhid:advskew pairs, at most 32
  balancing MODE    none, ip, ip-stealth, ip-unicast or arp
  carppeer ADDR     send advertisements to the unicast peer ADDR instead of
                    224.0.0.18 (an IPv4 ADDR) or ff02::12 (an IPv6 ADDR);
                    routed out of the carpdev, the peer must be on-link
  -carppeer         back to multicast (both families)
  state STATE       force master or backup

Options:
  -j, --json        machine-readable output (monitor: one object per line)
  -n, --netns NAME  act in the network namespace NAME (/run/netns/NAME, as
                    ip -n NAME), without ip netns exec's mount namespace
  -h, --help        this text
  -V, --version     version

The device itself is created with ip(8):
  ip link add carp0 link eth0 type carp
  carpctl carp0 vhid 1 pass secret
  ip addr add 192.0.2.1/24 dev carp0 && ip link set carp0 up

See Documentation/networking/carp.rst for the full description.";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Version,
    Show(Option<String>),
    Set(String, Vec<Setting>),
    Stats(Option<String>),
    Monitor,
    Hooks(hooks::Options),
    Metrics(metrics::Options),
    Doctor(doctor::Options),
    Track(track::Options),
    Maintenance(maintenance::Options),
    Demote(Option<String>, Option<Demote>),
}

/// A change of the userspace part of a group's demotion counter.
#[derive(Debug, PartialEq)]
enum Demote {
    /// `N`: set it.
    Set(u32),
    /// `+N` / `-N`: change it.
    Adjust(i32),
}

/// Parses `N`, `+N` or `-N` (`demote GROUP ...`).
fn parse_demote(v: &str) -> Result<Demote, Error> {
    let bad = || Error(format!("demote: '{v}' is not N, +N or -N (N 0..255)"));
    let num = |d: &str| {
        if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        d.parse::<u32>().ok().filter(|n| *n <= 255).ok_or_else(bad)
    };
    Ok(match v.as_bytes().first() {
        Some(b'+') => Demote::Adjust(num(&v[1..])? as i32),
        Some(b'-') => Demote::Adjust(-(num(&v[1..])? as i32)),
        _ => Demote::Set(num(v)?),
    })
}

/// One `KEY VALUE` setting, parsed.
#[derive(Debug, PartialEq)]
enum Setting {
    Vhid(u32),
    Advskew(u32),
    Advbase(u32),
    Pass(Vec<u8>),
    Carpdev(String),
    Carpnodes(Vec<(u32, u32)>),
    Balancing(u32),
    Peer(Option<IpAddr>),
    State(u32),
}

fn number(key: &str, v: &str, max: u32, min: u32) -> Result<u32, Error> {
    match v.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error(format!("{key} must be {min}..{max}"))),
    }
}

/// The passphrase from a file, or from standard input for `-`: so that it
/// is in no command line (`ps` shows those to every user). One trailing
/// newline (LF or CRLF) is not part of it.
fn read_pass(path: &str) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let mut buf = Vec::new();
    let res = if path == "-" {
        std::io::stdin().lock().read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut buf))
    };
    res.map_err(|e| Error(format!("passfile: {path}: {e}")))?;
    for end in [&b"\r\n"[..], b"\n"] {
        if buf.ends_with(end) {
            buf.truncate(buf.len() - end.len());
            break;
        }
    }
    Ok(buf)
}

fn parse_nodes(v: &str) -> Result<Vec<(u32, u32)>, Error> {
    v.split(',')
        .map(|item| {
            let (vh, sk) = item.split_once(':').unwrap_or((item, "0"));
            match (vh.trim().parse::<u32>(), sk.trim().parse::<u32>()) {
                (Ok(vh), Ok(sk)) => Ok((vh, sk)),
                _ => Err(Error(format!(
                    "carpnodes: '{item}' is not vhid:advskew (e.g. 1:0,2:100)"
                ))),
            }
        })
        .collect()
}

fn parse_setting(key: &str, args: &mut impl Iterator<Item = String>) -> Result<Setting, Error> {
    if key == "-carppeer" {
        return Ok(Setting::Peer(None));
    }
    let known = [
        "vhid",
        "advskew",
        "advbase",
        "pass",
        "passfile",
        "carpdev",
        "carpnodes",
        "balancing",
        "carppeer",
        "state",
    ];
    if !known.contains(&key) {
        return Err(Error(format!(
            "unknown setting '{key}' (see carpctl --help)"
        )));
    }
    let v = args
        .next()
        .ok_or_else(|| Error(format!("{key} needs a value")))?;
    Ok(match key {
        "vhid" => Setting::Vhid(number(key, &v, 255, 1)?),
        "advskew" => Setting::Advskew(number(key, &v, 254, 0)?),
        "advbase" => Setting::Advbase(number(key, &v, 254, 0)?),
        "pass" => Setting::Pass(v.into_bytes()),
        "passfile" => Setting::Pass(read_pass(&v)?),
        "carpdev" => Setting::Carpdev(v),
        "carpnodes" => Setting::Carpnodes(parse_nodes(&v)?),
        "balancing" => match nl::BALANCING.iter().position(|m| *m == v) {
            Some(i) => Setting::Balancing(i as u32),
            None => {
                return Err(Error(format!(
                    "unknown balancing mode '{v}' (none, ip, ip-stealth, ip-unicast, arp)"
                )))
            }
        },
        "carppeer" => match v.parse::<IpAddr>() {
            Ok(p) => Setting::Peer(Some(p)),
            Err(_) => return Err(Error(format!("carppeer: '{v}' is not an IP address"))),
        },
        _ => match v.to_ascii_lowercase().as_str() {
            "backup" => Setting::State(1),
            "master" => Setting::State(2),
            _ => return Err(Error("state must be backup or master".into())),
        },
    })
}

/// Parses the command line (without the program name); returns the
/// command and whether JSON output was asked for.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<(Command, bool), Error> {
    let mut json = false;
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    for a in it.by_ref() {
        match a.as_str() {
            "-j" | "--json" => json = true,
            "-h" | "--help" | "help" => return Ok((Command::Help, json)),
            "-V" | "--version" => return Ok((Command::Version, json)),
            _ => {
                rest.push(a);
                break;
            }
        }
    }
    rest.extend(it);
    let mut it = rest.into_iter();
    let cmd = match it.next() {
        None => Command::Show(None),
        Some(w) if w == "stats" => Command::Stats(it.next()),
        Some(w) if w == "monitor" => Command::Monitor,
        Some(w) if w == "hooks" => Command::Hooks(hooks::parse(&mut it)?),
        Some(w) if w == "metrics" => Command::Metrics(metrics::parse(&mut it)?),
        Some(w) if w == "doctor" => Command::Doctor(doctor::parse(&mut it)?),
        Some(w) if w == "track" => Command::Track(track::parse_args(&mut it)?),
        Some(w) if w == "maintenance" => Command::Maintenance(maintenance::parse(&mut it)?),
        Some(w) if w == "demote" => {
            let group = it.next();
            let change = match it.next() {
                Some(v) => Some(parse_demote(&v)?),
                None => None,
            };
            Command::Demote(group, change)
        }
        Some(w) if w.starts_with('-') => {
            return Err(Error(format!("unknown option '{w}' (see carpctl --help)")))
        }
        Some(dev) => {
            let mut settings = Vec::new();
            while let Some(key) = it.next() {
                settings.push(parse_setting(&key, &mut it)?);
            }
            if settings.is_empty() {
                Command::Show(Some(dev))
            } else {
                Command::Set(dev, settings)
            }
        }
    };
    if matches!(
        cmd,
        Command::Stats(_) | Command::Monitor | Command::Demote(..)
    ) {
        if let Some(extra) = it.next() {
            return Err(Error(format!("unexpected '{extra}' (see carpctl --help)")));
        }
    }
    Ok((cmd, json))
}

/// Takes `-n NAME` / `--netns NAME` out of the leading options.
fn split_netns(args: Vec<String>) -> Result<(Option<String>, Vec<String>), Error> {
    let mut netns = None;
    let mut rest = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-n" | "--netns" => match it.next() {
                Some(n) if valid_netns_name(&n) => netns = Some(n),
                Some(n) => return Err(Error(format!("invalid netns name '{n}'"))),
                None => return Err(Error(format!("{a} needs a namespace name"))),
            },
            "-j" | "--json" => rest.push(a),
            _ => {
                rest.push(a);
                break;
            }
        }
    }
    rest.extend(it);
    Ok((netns, rest))
}

/// A name under /run/netns, as ip netns accepts it.
fn valid_netns_name(n: &str) -> bool {
    !n.is_empty() && n != "." && n != ".." && !n.contains('/') && n.len() < 256
}

/// Enters the named network namespace (`ip netns add` made it).
fn enter_netns(name: &str) -> Result<(), Error> {
    use std::os::fd::AsRawFd;
    let path = format!("/run/netns/{name}");
    let f = std::fs::File::open(&path)
        .map_err(|e| Error(format!("cannot open network namespace \"{name}\": {e}")))?;
    // SAFETY: `f` is an open file descriptor for the call's duration.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error(format!(
            "setting the network namespace \"{name}\" failed: {e}"
        )));
    }
    Ok(())
}

fn ifindex_of(name: &str) -> Result<u32, Error> {
    let c = std::ffi::CString::new(name).map_err(|_| Error(format!("bad name '{name}'")))?;
    // SAFETY: `c` is a valid C string.
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(Error(format!("carpdev {name}: no such interface"))),
        i => Ok(i),
    }
}

fn ifname_of(index: u32) -> String {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes, as if_indextoname needs.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return format!("if{index}");
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into `buf`.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// An interface's flags (`SIOCGIFFLAGS`) in the caller's network namespace
/// (unlike /sys, which shows the mount's); 0 when it does not exist.
fn if_flags(name: &str) -> i32 {
    // SAFETY: `ifreq` zeroes the request before the kernel fills it, and a
    // c_short is valid for any bits: the read is sound (and SIOCGIFFLAGS
    // fills this member).
    ifreq(name, libc::SIOCGIFFLAGS)
        .map(|r| i32::from(unsafe { r.ifr_ifru.ifru_flags }))
        .unwrap_or(0)
}

/// An interface's MTU in this network namespace (SIOCGIFMTU: sysfs shows
/// the namespace it was mounted in, not necessarily ours).
fn if_mtu(name: &str) -> Option<u32> {
    // SAFETY: `ifreq` zeroes the request before the kernel fills it, and a
    // c_int is valid for any bits: the read is sound (and SIOCGIFMTU fills
    // this member).
    ifreq(name, libc::SIOCGIFMTU).and_then(|r| u32::try_from(unsafe { r.ifr_ifru.ifru_mtu }).ok())
}

/// Runs one of the SIOCGIF* requests that fill an `ifreq` for `name`.
fn ifreq(name: &str, request: libc::c_ulong) -> Option<libc::ifreq> {
    if name.len() >= libc::IFNAMSIZ {
        return None;
    }
    // SAFETY: a plain socket(2) call; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: all-zero is a valid `ifreq`.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: `ifr` is a valid, NUL-terminated `ifreq` (the name is shorter
    // than IFNAMSIZ and the rest zero) that lives across the call; `fd` is
    // ours; `request` is a SIOCGIF* request, which writes only into `ifr`.
    let r = unsafe { libc::ioctl(fd, request, &mut ifr) };
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    (r >= 0).then_some(ifr)
}

fn state_name(s: Option<u32>) -> &'static str {
    s.map_or("UNKNOWN", nl::state_name)
}

/// One device's reply as JSON (the fields `carpctl -j` prints).
fn dev_json(d: &Attrs) -> Value {
    let mut m = Map::new();
    m.insert("ifname".into(), json!(d.string(a::IFNAME)));
    m.insert("ifindex".into(), json!(d.u32(a::IFINDEX)));
    m.insert("carpdev".into(), json!(d.u32(a::CARPDEV).map(ifname_of)));
    m.insert("state".into(), json!(state_name(d.u32(a::STATE))));
    m.insert("vhid".into(), json!(d.u32(a::VHID)));
    m.insert("advskew".into(), json!(d.u32(a::ADVSKEW)));
    m.insert("advbase".into(), json!(d.u32(a::ADVBASE)));
    let bal = d.u32(a::BALANCING).unwrap_or(0) as usize;
    m.insert("balancing".into(), json!(nl::BALANCING.get(bal)));
    let nodes: Vec<Value> = d
        .all(a::NODE)
        .map(Attrs::parse)
        .map(|n| {
            json!({
                "vhid": n.u32(nl::node::VHID),
                "advskew": n.u32(nl::node::ADVSKEW),
                "state": state_name(n.u32(nl::node::STATE)),
            })
        })
        .collect();
    m.insert("carpnodes".into(), Value::Array(nodes));
    let peer = d
        .get(a::PEER)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| Ipv4Addr::from(b).to_string());
    m.insert("carppeer".into(), json!(peer));
    let peer6 = d
        .get(a::PEER6)
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .map(|b| Ipv6Addr::from(b).to_string());
    m.insert("carppeer6".into(), json!(peer6));
    m.insert("demote".into(), json!(d.u32(a::DEMOTE)));
    m.insert("pass_set".into(), json!(d.flag(a::PASS_SET)));
    if let Some(p) = d.get(a::PASS) {
        m.insert("pass".into(), json!(String::from_utf8_lossy(p)));
    }
    Value::Object(m)
}

/// One device in the words of OpenBSD's ifconfig.
fn dev_text(d: &Value) -> String {
    let s = |k: &str| match &d[k] {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        v => v.to_string(),
    };
    let nodes = d["carpnodes"].as_array().cloned().unwrap_or_default();
    let mut out = format!("{}:\n", s("ifname"));
    if nodes.len() > 1 {
        out += &format!(
            "\tcarp: carpdev {} advbase {} balancing {}\n",
            s("carpdev"),
            s("advbase"),
            s("balancing")
        );
        for n in &nodes {
            out += &format!(
                "\t\tstate {} vhid {} advskew {}\n",
                n["state"].as_str().unwrap_or("-"),
                n["vhid"],
                n["advskew"]
            );
        }
    } else if nodes.is_empty() {
        out += &format!(
            "\tcarp: {} carpdev {} advbase {} (no vhid)\n",
            s("state"),
            s("carpdev"),
            s("advbase")
        );
    } else {
        out += &format!(
            "\tcarp: {} carpdev {} vhid {} advbase {} advskew {}\n",
            s("state"),
            s("carpdev"),
            s("vhid"),
            s("advbase"),
            s("advskew")
        );
    }
    for k in ["carppeer", "carppeer6"] {
        if let Some(p) = d[k].as_str() {
            out += &format!("\tcarp: carppeer {p}\n");
        }
    }
    if d["demote"].as_u64().unwrap_or(0) > 0 {
        out += &format!("\tcarp: demote {}\n", s("demote"));
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One entry's load-balancing counters as JSON.
fn node_counters_json(n: &Attrs) -> Value {
    let mut m = Map::new();
    m.insert("vhid".into(), json!(n.u32(nl::node::VHID)));
    m.insert("state".into(), json!(state_name(n.u32(nl::node::STATE))));
    let ids = [
        nl::node::ACCEPTED,
        nl::node::DROPPED,
        nl::node::ANSWERED,
        nl::node::IGNORED,
    ];
    for (name, id) in nl::NODE_COUNTERS.iter().zip(ids) {
        m.insert((*name).into(), json!(n.uint(id).unwrap_or(0)));
    }
    let t = n
        .get(nl::node::TRANSITIONS)
        .map(Attrs::parse)
        .unwrap_or_default();
    let by_reason: Map<String, Value> = nl::REASONS
        .iter()
        .zip(1u16..)
        .map(|(r, id)| ((*r).to_string(), json!(t.uint(id).unwrap_or(0))))
        .collect();
    m.insert("transitions".into(), Value::Object(by_reason));
    Value::Object(m)
}

/// One entry's load-balancing counters, one line.
fn node_counters_text(n: &Value) -> String {
    let c = |k: &str| n[k].as_u64().unwrap_or(0);
    let mut out = format!(
        "\tvhid {} ({}): {} accepted, {} dropped by the IP filter; {} answered, {} ignored ARP/NDP requests\n",
        n["vhid"],
        n["state"].as_str().unwrap_or("?"),
        plural(c("accepted"), "packet", "packets"),
        c("dropped"),
        c("answered"),
        c("ignored")
    );
    let changes: Vec<String> = nl::REASONS
        .iter()
        .filter_map(|r| {
            let k = n["transitions"][*r].as_u64().unwrap_or(0);
            (k > 0).then(|| format!("{k} {r}"))
        })
        .collect();
    if !changes.is_empty() {
        out += &format!("\t\tstate changes: {}\n", changes.join(", "));
    }
    out
}

/// Counters in the words of OpenBSD's `netstat -s -p carp`.
fn stats_text(st: &[u64; 16]) -> String {
    let [ip4, ip6, badif, badttl, hdrops, badsum, badver, badlen, badauth, badvhid, badaddrs, op4, op6, onomem, preempt, accepted] =
        *st;
    let p = |n| plural(n, "packet", "packets");
    [
        "carp:".to_string(),
        format!("\t{} received (IPv4)", p(ip4)),
        format!("\t{} received (IPv6)", p(ip6)),
        format!("\t\t{} discarded for bad interface", p(badif)),
        format!("\t\t{} discarded for wrong TTL", p(badttl)),
        format!("\t\t{} shorter than header", p(hdrops)),
        format!(
            "\t\t{badsum} discarded for bad checksum{}",
            if badsum == 1 { "" } else { "s" }
        ),
        format!(
            "\t\t{badver} discarded {} with a bad version",
            plural_word(badver)
        ),
        format!("\t\t{badlen} discarded because packet too short"),
        format!("\t\t{badauth} discarded for bad authentication"),
        format!("\t\t{badvhid} discarded for unknown vhid"),
        format!("\t\t{badaddrs} discarded because of a bad address list"),
        format!("\t\t{accepted} accepted"),
        format!("\t{} sent (IPv4)", p(op4)),
        format!("\t{} sent (IPv6)", p(op6)),
        format!("\t\t{onomem} send failed due to mbuf memory error"),
        format!(
            "\t{}",
            plural(preempt, "transition to master", "transitions to master")
        ),
    ]
    .join("\n")
        + "\n"
}

fn plural_word(n: u64) -> &'static str {
    if n == 1 {
        "packet"
    } else {
        "packets"
    }
}

fn dev_attrs(dev: &Option<String>) -> Vec<Attr> {
    dev.iter().map(|d| Attr::string(a::IFNAME, d)).collect()
}

fn run(cmd: Command, json_out: bool) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    let w = |out: &mut std::io::StdoutLock<'_>, s: &str| {
        out.write_all(s.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error(format!("stdout: {e}")))
    };
    match cmd {
        Command::Help => w(&mut out, &format!("{USAGE}\n")),
        Command::Version => w(
            &mut out,
            &format!("carpctl {}\n", env!("CARGO_PKG_VERSION")),
        ),
        Command::Show(dev) => {
            let mut carp = Carp::open()?;
            let devs = carp.request(cmd::DEV_GET, dev_attrs(&dev), dev.is_none())?;
            let devs: Vec<Value> = devs.iter().map(dev_json).collect();
            if json_out {
                let v = if dev.is_some() {
                    devs.into_iter().next().unwrap_or(Value::Null)
                } else {
                    Value::Array(devs)
                };
                w(&mut out, &format!("{v}\n"))
            } else {
                let text: String = devs.iter().map(dev_text).collect();
                w(&mut out, &text)
            }
        }
        Command::Set(dev, settings) => {
            let mut attrs = vec![Attr::string(a::IFNAME, &dev)];
            for s in settings {
                attrs.extend(match s {
                    Setting::Vhid(v) => vec![Attr::u32(a::VHID, v)],
                    Setting::Advskew(v) => vec![Attr::u32(a::ADVSKEW, v)],
                    Setting::Advbase(v) => vec![Attr::u32(a::ADVBASE, v)],
                    Setting::Pass(p) => vec![Attr::bytes(a::PASS, &p)],
                    Setting::Carpdev(c) => vec![Attr::u32(a::CARPDEV, ifindex_of(&c)?)],
                    Setting::Carpnodes(n) => n
                        .iter()
                        .map(|&(v, s)| {
                            Attr::nest_u32(a::NODE, &[(nl::node::VHID, v), (nl::node::ADVSKEW, s)])
                        })
                        .collect(),
                    Setting::Balancing(b) => vec![Attr::u32(a::BALANCING, b)],
                    Setting::Peer(Some(IpAddr::V4(p))) => vec![Attr::bytes(a::PEER, &p.octets())],
                    Setting::Peer(Some(IpAddr::V6(p))) => vec![Attr::bytes(a::PEER6, &p.octets())],
                    Setting::Peer(None) => vec![
                        Attr::bytes(a::PEER, &[0; 4]),
                        Attr::bytes(a::PEER6, &[0; 16]),
                    ],
                    Setting::State(s) => vec![Attr::u32(a::STATE, s)],
                });
            }
            let mut carp = Carp::open()?;
            carp.request(cmd::DEV_SET, attrs, false)
                .map(|_| ())
                .map_err(|e| Error(format!("{dev}: {e}")))
        }
        Command::Demote(group, Some(change)) => {
            let group = group.unwrap_or_else(|| "carp".into());
            let mut attrs = vec![Attr::string(nl::group::NAME, &group)];
            attrs.push(match change {
                Demote::Set(n) => Attr::u32(nl::group::DEMOTE_USER, n),
                Demote::Adjust(n) => Attr::bytes(nl::group::DEMOTE_ADJUST, &n.to_ne_bytes()),
            });
            let mut carp = Carp::open()?;
            carp.request(cmd::GROUP_SET, attrs, false)
                .map(|_| ())
                .map_err(|e| Error(format!("group {group}: {e}")))
        }
        Command::Demote(group, None) => {
            let group = group.unwrap_or_else(|| "carp".into());
            let mut carp = Carp::open()?;
            let r = carp
                .request(
                    cmd::GROUP_GET,
                    vec![Attr::string(nl::group::NAME, &group)],
                    false,
                )
                .map_err(|e| Error(format!("group {group}: {e}")))?;
            let m = r.into_iter().next().unwrap_or_default();
            let g = |t| m.u32(t).unwrap_or(0);
            let (d, user, down, senderr) = (
                g(nl::group::DEMOTE),
                g(nl::group::DEMOTE_USER),
                g(nl::group::DEMOTE_DOWN),
                g(nl::group::DEMOTE_SENDERR),
            );
            if json_out {
                let v = json!({
                    "group": group,
                    "demote": d,
                    "demote_user": user,
                    "demote_down": down,
                    "demote_senderr": senderr,
                });
                w(&mut out, &format!("{v}\n"))
            } else {
                w(
                    &mut out,
                    &format!(
                        "{group}: carp demote count {d} (userspace {user}, carpdev down {down}, send errors {senderr})\n"
                    ),
                )
            }
        }
        Command::Stats(dev) => {
            let mut carp = Carp::open()?;
            let r = carp.request(cmd::STATS_GET, dev_attrs(&dev), false)?;
            let st = r
                .first()
                .and_then(|m| m.get(a::STATS))
                .map(Attrs::parse)
                .unwrap_or_default();
            let mut counters = [0u64; 16];
            for (i, c) in counters.iter_mut().enumerate() {
                *c = st.uint(i as u16 + 1).unwrap_or(0);
            }
            let nodes: Vec<Value> = r
                .first()
                .map(|m| {
                    m.all(a::NODE)
                        .map(|n| node_counters_json(&Attrs::parse(n)))
                        .collect()
                })
                .unwrap_or_default();
            if json_out {
                let mut m: Map<String, Value> = nl::STATS
                    .iter()
                    .zip(counters)
                    .map(|(n, v)| (n.to_string(), json!(v)))
                    .collect();
                if dev.is_some() {
                    m.insert("nodes".into(), Value::Array(nodes));
                }
                w(&mut out, &format!("{}\n", Value::Object(m)))
            } else {
                let mut text = stats_text(&counters);
                text += &nodes.iter().map(node_counters_text).collect::<String>();
                w(&mut out, &text)
            }
        }
        Command::Hooks(o) => hooks::run(o),
        Command::Metrics(o) => metrics::run(o),
        Command::Doctor(o) => doctor::run(o),
        Command::Track(o) => track::run(o),
        Command::Maintenance(o) => maintenance::run(o),
        Command::Monitor => {
            let mut carp = Carp::open()?;
            carp.subscribe()?;
            while let Some(ev) = carp.next_event()? {
                let name = ev.string(a::IFNAME).unwrap_or_default();
                let vhid = ev.u32(a::VHID).unwrap_or(0);
                let old = state_name(ev.u32(a::OLD_STATE));
                let new = state_name(ev.u32(a::STATE));
                let why = ev
                    .u32(a::REASON)
                    .and_then(|r| nl::REASONS.get(r as usize).copied())
                    .unwrap_or("unknown");
                let line = if json_out {
                    // When carpctl read it (seconds since the epoch), for
                    // tools that time failovers.
                    let time = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs_f64())
                        .unwrap_or(0.0);
                    json!({"ifname": name, "vhid": vhid, "old": old, "state": new, "reason": why, "time": time})
                        .to_string()
                } else {
                    format!("{name} vhid {vhid}: {old} -> {new} ({why})")
                };
                w(&mut out, &format!("{line}\n"))?;
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let parsed = split_netns(std::env::args().skip(1).collect())
        .and_then(|(ns, rest)| Ok((ns, parse_args(rest)?)));
    let (netns, (cmd, json_out)) = match parsed {
        Ok(c) => c,
        Err(e) => {
            eprintln!("carpctl: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(ns) = netns {
        if let Err(e) = enter_netns(&ns) {
            eprintln!("carpctl: {e}");
            return ExitCode::FAILURE;
        }
    }
    match run(cmd, json_out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carpctl: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<(Command, bool), Error> {
        parse_args(s.split_whitespace().map(String::from))
    }

    fn split(s: &str) -> Result<(Option<String>, Vec<String>), Error> {
        split_netns(s.split_whitespace().map(String::from).collect())
    }

    #[test]
    fn netns_option() {
        let (ns, rest) = split("-n a -j carp0 vhid 1").unwrap();
        assert_eq!(ns.as_deref(), Some("a"));
        assert_eq!(rest, ["-j", "carp0", "vhid", "1"]);
        let (ns, rest) = split("-j --netns b stats").unwrap();
        assert_eq!(ns.as_deref(), Some("b"));
        assert_eq!(rest, ["-j", "stats"]);
        // Only leading options: a setting's value is never taken.
        let (ns, rest) = split("carp0 pass -n").unwrap();
        assert_eq!(ns, None);
        assert_eq!(rest, ["carp0", "pass", "-n"]);
        for bad in ["-n", "-n ..", "-n a/b", "-n ."] {
            assert!(split(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_seed_words() {
        let (c, j) = parse("carp0 vhid 1 advskew 100 pass secret carpdev eth0").unwrap();
        assert!(!j);
        assert_eq!(
            c,
            Command::Set(
                "carp0".into(),
                vec![
                    Setting::Vhid(1),
                    Setting::Advskew(100),
                    Setting::Pass(b"secret".to_vec()),
                    Setting::Carpdev("eth0".into()),
                ]
            )
        );
        let (c, _) = parse("carp0 carpnodes 1:0,2:100 balancing ip").unwrap();
        assert_eq!(
            c,
            Command::Set(
                "carp0".into(),
                vec![
                    Setting::Carpnodes(vec![(1, 0), (2, 100)]),
                    Setting::Balancing(1)
                ]
            )
        );
        assert_eq!(
            parse("carp0 state MASTER").unwrap().0,
            Command::Set("carp0".into(), vec![Setting::State(2)])
        );
        assert_eq!(
            parse("carp0 carppeer 192.0.2.5 -carppeer").unwrap().0,
            Command::Set(
                "carp0".into(),
                vec![
                    Setting::Peer(Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5)))),
                    Setting::Peer(None)
                ]
            )
        );
    }

    #[test]
    fn passfile() {
        let dir = std::env::temp_dir().join(format!("carpctl-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (content, want) in [
            (&b"secret\n"[..], &b"secret"[..]),
            (b"secret\r\n", b"secret"),
            (b"secret", b"secret"),
            (b"two words\n\n", b"two words\n"),
            (b"\n", b""),
        ] {
            let f = dir.join("pass");
            std::fs::write(&f, content).unwrap();
            let line = format!("carp0 vhid 1 passfile {}", f.display());
            assert_eq!(
                parse(&line).unwrap().0,
                Command::Set(
                    "carp0".into(),
                    vec![Setting::Vhid(1), Setting::Pass(want.to_vec())]
                ),
                "{content:?}"
            );
        }
        let missing = dir.join("none");
        let err = parse(&format!("carp0 passfile {}", missing.display())).unwrap_err();
        assert!(
            err.0.starts_with("passfile: ") && err.0.contains("none"),
            "{}",
            err.0
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn show_stats_monitor() {
        assert_eq!(parse("").unwrap(), (Command::Show(None), false));
        assert_eq!(
            parse("-j carp0").unwrap(),
            (Command::Show(Some("carp0".into())), true)
        );
        assert_eq!(parse("stats").unwrap().0, Command::Stats(None));
        assert_eq!(
            parse("-j stats carp1").unwrap(),
            (Command::Stats(Some("carp1".into())), true)
        );
        assert_eq!(parse("monitor").unwrap().0, Command::Monitor);
        assert_eq!(parse("demote").unwrap().0, Command::Demote(None, None));
        assert_eq!(
            parse("demote carp").unwrap().0,
            Command::Demote(Some("carp".into()), None)
        );
        for (arg, want) in [
            ("50", Demote::Set(50)),
            ("0", Demote::Set(0)),
            ("+50", Demote::Adjust(50)),
            ("-255", Demote::Adjust(-255)),
        ] {
            assert_eq!(
                parse(&format!("demote carp {arg}")).unwrap().0,
                Command::Demote(Some("carp".into()), Some(want)),
                "{arg}"
            );
        }
        for bad in ["256", "+256", "-", "+", "x", "1.5", "--5", "+-5", ""] {
            assert!(parse_demote(bad).is_err(), "{bad}");
        }
        assert!(parse("demote carp 5 extra").is_err());
        assert_eq!(parse("--help").unwrap().0, Command::Help);
        assert_eq!(parse("-V").unwrap().0, Command::Version);
    }

    #[test]
    fn errors_are_one_clear_line() {
        for (args, msg) in [
            ("carp0 vhid 0", "vhid must be 1..255"),
            ("carp0 vhid 256", "vhid must be 1..255"),
            ("carp0 advskew 255", "advskew must be 0..254"),
            ("carp0 advbase x", "advbase must be 0..254"),
            ("carp0 vhid", "vhid needs a value"),
            (
                "carp0 balancing round-robin",
                "unknown balancing mode 'round-robin'",
            ),
            ("carp0 carppeer 192.0.2", "not an IP address"),
            ("carp0 carpnodes 1:0,x", "is not vhid:advskew"),
            ("carp0 state init", "state must be backup or master"),
            ("carp0 colour red", "unknown setting 'colour'"),
            ("--bogus", "unknown option"),
            ("monitor now", "unexpected 'now'"),
        ] {
            let e = parse(args).unwrap_err().0;
            assert!(e.contains(msg), "{args}: {e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn ifconfig_style_status() {
        let one = json!({"ifname": "carp0", "state": "MASTER", "carpdev": "eth0", "vhid": 1,
            "advbase": 1, "advskew": 0, "carpnodes": [{"vhid": 1, "advskew": 0, "state": "MASTER"}],
            "carppeer": null, "demote": 0});
        assert_eq!(
            dev_text(&one),
            "carp0:\n\tcarp: MASTER carpdev eth0 vhid 1 advbase 1 advskew 0\n"
        );
        let two = json!({"ifname": "carp1", "state": "MASTER", "carpdev": "eth0", "vhid": 1,
            "advbase": 1, "advskew": 0, "balancing": "ip", "carppeer": "192.0.2.9", "demote": 1,
            "carpnodes": [{"vhid": 1, "advskew": 0, "state": "MASTER"},
                          {"vhid": 2, "advskew": 100, "state": "BACKUP"}]});
        assert_eq!(
            dev_text(&two),
            "carp1:\n\tcarp: carpdev eth0 advbase 1 balancing ip\n\
             \t\tstate MASTER vhid 1 advskew 0\n\t\tstate BACKUP vhid 2 advskew 100\n\
             \tcarp: carppeer 192.0.2.9\n\tcarp: demote 1\n"
        );
        let mut three = two.clone();
        three["carppeer6"] = json!("2001:db8::9");
        assert!(
            dev_text(&three).contains("\tcarp: carppeer 192.0.2.9\n\tcarp: carppeer 2001:db8::9\n")
        );
    }

    #[test]
    fn netstat_words() {
        let mut st = [0u64; 16];
        st[0] = 1;
        st[11] = 5;
        st[14] = 1;
        st[15] = 3;
        let t = stats_text(&st);
        assert!(t.contains("\t\t3 accepted\n"));
        assert!(t.starts_with("carp:\n\t1 packet received (IPv4)\n"));
        assert!(t.contains("\t5 packets sent (IPv4)\n"));
        assert!(t.contains("\t1 transition to master\n"));
        assert!(t.contains("\t\t0 discarded for bad authentication\n"));
    }
}
