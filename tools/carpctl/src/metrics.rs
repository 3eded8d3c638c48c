// SPDX-License-Identifier: GPL-2.0

//! `carpctl metrics`: the namespace's carp state and counters in
//! Prometheus' text exposition format, for node_exporter's textfile
//! collector (`--output FILE` replaces FILE atomically;
//! carp-metrics.timer runs it).
//!
//! Why the textfile collector and no endpoint of our own: a firewall pair
//! already runs node_exporter (Debian's prometheus-node-exporter reads
//! /var/lib/prometheus/node-exporter/*.prom), with its TLS and
//! authentication configured; carpctl opens no port, links no HTTP
//! server, and node_exporter parses the file and reports a malformed one
//! (`node_textfile_scrape_error`). Every value comes from the kernel
//! (generic netlink: dev-get, stats-get, group-get), transitions too: the
//! kernel counts them, so nothing is lost between two runs.

use crate::nl::{self, a, cmd, group, Attr, Attrs, Carp, Error};
use std::fmt::Write as _;
use std::path::Path;

/// `metrics`' command line.
#[derive(Debug, PartialEq, Clone, Default)]
pub struct Options {
    pub output: Option<String>,
}

pub fn parse(args: &mut impl Iterator<Item = String>) -> Result<Options, Error> {
    let mut o = Options::default();
    while let Some(w) = args.next() {
        match w.as_str() {
            "-o" | "--output" => {
                o.output = Some(
                    args.next()
                        .ok_or_else(|| Error(format!("metrics: {w} needs a file")))?,
                )
            }
            _ => {
                return Err(Error(format!(
                    "metrics: unexpected '{w}' (see carpctl --help)"
                )))
            }
        }
    }
    Ok(o)
}

/// A label value, escaped as the exposition format wants.
fn esc(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Builds the text: one family (HELP, TYPE, samples) after the other.
#[derive(Default)]
struct Text {
    out: String,
}

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        for (labels, v) in samples {
            if labels.is_empty() {
                let _ = writeln!(self.out, "{name} {v}");
            } else {
                let _ = writeln!(self.out, "{name}{{{labels}}} {v}");
            }
        }
    }
}

/// What the kernel says, already parsed (separate from the requests, for
/// tests).
pub struct Snapshot {
    /// dev-get's replies.
    pub devs: Vec<Attrs>,
    /// stats-get's reply for each device, by ifindex.
    pub dev_stats: Vec<(u32, Attrs)>,
    /// stats-get's reply for the namespace.
    pub stats: Attrs,
    /// group-get's reply for group carp.
    pub group: Attrs,
}

impl Snapshot {
    pub fn read(carp: &mut Carp) -> Result<Self, Error> {
        let devs = carp.request(cmd::DEV_GET, vec![], true)?;
        let mut dev_stats = Vec::new();
        for d in &devs {
            let (Some(i), Some(n)) = (d.u32(a::IFINDEX), d.string(a::IFNAME)) else {
                continue;
            };
            // A device deleted meanwhile has no statistics: skip it.
            if let Ok(r) = carp.request(cmd::STATS_GET, vec![Attr::string(a::IFNAME, &n)], false) {
                if let Some(s) = r.into_iter().next() {
                    if s.u32(a::IFINDEX) == Some(i) {
                        dev_stats.push((i, s));
                    }
                }
            }
        }
        let stats = carp
            .request(cmd::STATS_GET, vec![], false)?
            .into_iter()
            .next()
            .unwrap_or_default();
        let group = carp
            .request(
                cmd::GROUP_GET,
                vec![Attr::string(group::NAME, "carp")],
                false,
            )?
            .into_iter()
            .next()
            .unwrap_or_default();
        Ok(Snapshot {
            devs,
            dev_stats,
            stats,
            group,
        })
    }

    /// The exposition text.
    pub fn text(&self) -> String {
        let mut t = Text::default();
        let mut state = Vec::new();
        let mut skew = Vec::new();
        let mut advbase = Vec::new();
        for d in &self.devs {
            let ifname = esc(&d.string(a::IFNAME).unwrap_or_default());
            let carpdev = esc(&d.u32(a::CARPDEV).map(crate::ifname_of).unwrap_or_default());
            advbase.push((
                format!("ifname=\"{ifname}\""),
                u64::from(d.u32(a::ADVBASE).unwrap_or(0)),
            ));
            for n in d.all(a::NODE).map(Attrs::parse) {
                let vhid = n.u32(nl::node::VHID).unwrap_or(0);
                let st = n.u32(nl::node::STATE).unwrap_or(0);
                for (i, s) in ["init", "backup", "master"].iter().enumerate() {
                    state.push((
                        format!("ifname=\"{ifname}\",vhid=\"{vhid}\",carpdev=\"{carpdev}\",state=\"{s}\""),
                        u64::from(st as usize == i),
                    ));
                }
                skew.push((
                    format!("ifname=\"{ifname}\",vhid=\"{vhid}\""),
                    u64::from(n.u32(nl::node::ADVSKEW).unwrap_or(0)),
                ));
            }
        }
        t.family(
            "carp_entry_state",
            "gauge",
            "1 for the state a virtual host entry is in (init, backup, master), 0 for the others.",
            &state,
        );
        t.family(
            "carp_entry_advskew",
            "gauge",
            "The entry's configured advskew (lower is preferred).",
            &skew,
        );
        t.family(
            "carp_device_advbase_seconds",
            "gauge",
            "The device's advertisement base interval.",
            &advbase,
        );

        let mut transitions = Vec::new();
        let mut packets = Vec::new();
        let mut requests = Vec::new();
        for (ifindex, s) in &self.dev_stats {
            let ifname = esc(&s
                .string(a::IFNAME)
                .unwrap_or_else(|| format!("if{ifindex}")));
            for n in s.all(a::NODE).map(Attrs::parse) {
                let vhid = n.u32(nl::node::VHID).unwrap_or(0);
                let l = format!("ifname=\"{ifname}\",vhid=\"{vhid}\"");
                let tr = n
                    .get(nl::node::TRANSITIONS)
                    .map(Attrs::parse)
                    .unwrap_or_default();
                for (r, id) in nl::REASONS.iter().zip(1u16..) {
                    transitions.push((format!("{l},reason=\"{r}\""), tr.uint(id).unwrap_or(0)));
                }
                for (v, id) in [
                    ("accepted", nl::node::ACCEPTED),
                    ("dropped", nl::node::DROPPED),
                ] {
                    packets.push((format!("{l},verdict=\"{v}\""), n.uint(id).unwrap_or(0)));
                }
                for (v, id) in [
                    ("answered", nl::node::ANSWERED),
                    ("ignored", nl::node::IGNORED),
                ] {
                    requests.push((format!("{l},verdict=\"{v}\""), n.uint(id).unwrap_or(0)));
                }
            }
        }
        t.family(
            "carp_entry_transitions_total",
            "counter",
            "The entry's state changes by reason, since its device's entries last changed.",
            &transitions,
        );
        t.family(
            "carp_entry_balancing_packets_total",
            "counter",
            "Packets the IP-balancing filter accepted for the entry (this host is its MASTER) or dropped.",
            &packets,
        );
        t.family(
            "carp_entry_neighbour_requests_total",
            "counter",
            "ARP requests and neighbour solicitations answered for the entry or left to another host.",
            &requests,
        );

        let g = |id| u64::from(self.group.u32(id).unwrap_or(0));
        t.family(
            "carp_group_demotion",
            "gauge",
            "The demotion counter every carp device advertises (0 when not demoted).",
            &[("group=\"carp\"".into(), g(group::DEMOTE))],
        );
        t.family(
            "carp_group_demotion_part",
            "gauge",
            "The demotion counter's parts: set from userspace, carpdevs down, devices whose advertisements cannot be sent.",
            &[
                ("group=\"carp\",source=\"userspace\"".into(), g(group::DEMOTE_USER)),
                ("group=\"carp\",source=\"carpdev_down\"".into(), g(group::DEMOTE_DOWN)),
                ("group=\"carp\",source=\"send_errors\"".into(), g(group::DEMOTE_SENDERR)),
            ],
        );

        let st = self
            .stats
            .get(a::STATS)
            .map(Attrs::parse)
            .unwrap_or_default();
        let c = |name: &str| {
            nl::STATS
                .iter()
                .position(|n| *n == name)
                .and_then(|i| st.uint(i as u16 + 1))
                .unwrap_or(0)
        };
        t.family(
            "carp_advertisements_received_total",
            "counter",
            "Advertisements received (netstat -s -p carp: packets received).",
            &[
                ("family=\"ipv4\"".into(), c("ipackets")),
                ("family=\"ipv6\"".into(), c("ipackets6")),
            ],
        );
        t.family(
            "carp_advertisements_accepted_total",
            "counter",
            "Advertisements that passed every check.",
            &[(String::new(), c("accepted"))],
        );
        let drops: Vec<(String, u64)> = [
            "badif", "badttl", "hdrops", "badsum", "badver", "badlen", "badauth", "badvhid",
            "badaddrs",
        ]
        .iter()
        .map(|r| (format!("reason=\"{r}\""), c(r)))
        .collect();
        t.family(
            "carp_advertisements_dropped_total",
            "counter",
            "Advertisements dropped, by carpstats counter (badauth: wrong pass; badaddrs: different address lists; badvhid: no such vhid; badttl: not from the LAN).",
            &drops,
        );
        t.family(
            "carp_advertisements_sent_total",
            "counter",
            "Advertisements sent.",
            &[
                ("family=\"ipv4\"".into(), c("opackets")),
                ("family=\"ipv6\"".into(), c("opackets6")),
            ],
        );
        t.family(
            "carp_send_nomem_total",
            "counter",
            "Advertisements not sent for want of memory.",
            &[(String::new(), c("onomem"))],
        );
        t.family(
            "carp_preemptions_total",
            "counter",
            "Transitions from BACKUP to MASTER.",
            &[(String::new(), c("preempt"))],
        );
        t.out
    }
}

pub fn run(o: Options) -> Result<(), Error> {
    let mut carp = Carp::open()?;
    let text = Snapshot::read(&mut carp)?.text();
    match o.output {
        Some(p) => crate::file::write_atomically(Path::new(&p), &text)
            .map_err(|e| Error(format!("metrics: {e}"))),
        None => {
            use std::io::Write;
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .map_err(|e| Error(format!("stdout: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(t: u16, p: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(4 + p.len() as u16).to_ne_bytes());
        v.extend_from_slice(&t.to_ne_bytes());
        v.extend_from_slice(p);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn exposition() {
        let node = [
            attr(nl::node::VHID, &1u32.to_ne_bytes()),
            attr(nl::node::ADVSKEW, &100u32.to_ne_bytes()),
            attr(nl::node::STATE, &2u32.to_ne_bytes()),
        ]
        .concat();
        let dev = [
            attr(a::IFINDEX, &5u32.to_ne_bytes()),
            attr(a::IFNAME, b"carp\"0\0"),
            attr(a::ADVBASE, &1u32.to_ne_bytes()),
            attr(a::NODE, &node),
        ]
        .concat();
        let trans = attr(2, &7u64.to_ne_bytes()); // master-down
        let snode = [
            attr(nl::node::VHID, &1u32.to_ne_bytes()),
            attr(nl::node::ACCEPTED, &9u64.to_ne_bytes()),
            attr(nl::node::TRANSITIONS, &trans),
        ]
        .concat();
        let dstats = [
            attr(a::IFINDEX, &5u32.to_ne_bytes()),
            attr(a::IFNAME, b"carp\"0\0"),
            attr(a::NODE, &snode),
        ]
        .concat();
        let stats = attr(a::STATS, &attr(9, &3u64.to_ne_bytes())); // badauth
        let group = [
            attr(group::DEMOTE, &51u32.to_ne_bytes()),
            attr(group::DEMOTE_USER, &50u32.to_ne_bytes()),
            attr(group::DEMOTE_DOWN, &1u32.to_ne_bytes()),
        ]
        .concat();
        let s = Snapshot {
            devs: vec![Attrs::parse(&dev)],
            dev_stats: vec![(5, Attrs::parse(&dstats))],
            stats: Attrs::parse(&stats),
            group: Attrs::parse(&group),
        };
        let t = s.text();
        for want in [
            "carp_entry_state{ifname=\"carp\\\"0\",vhid=\"1\",carpdev=\"\",state=\"master\"} 1\n",
            "carp_entry_state{ifname=\"carp\\\"0\",vhid=\"1\",carpdev=\"\",state=\"backup\"} 0\n",
            "carp_entry_advskew{ifname=\"carp\\\"0\",vhid=\"1\"} 100\n",
            "carp_entry_transitions_total{ifname=\"carp\\\"0\",vhid=\"1\",reason=\"master-down\"} 7\n",
            "carp_entry_transitions_total{ifname=\"carp\\\"0\",vhid=\"1\",reason=\"start\"} 0\n",
            "carp_entry_balancing_packets_total{ifname=\"carp\\\"0\",vhid=\"1\",verdict=\"accepted\"} 9\n",
            "carp_group_demotion{group=\"carp\"} 51\n",
            "carp_group_demotion_part{group=\"carp\",source=\"userspace\"} 50\n",
            "carp_group_demotion_part{group=\"carp\",source=\"carpdev_down\"} 1\n",
            "carp_advertisements_dropped_total{reason=\"badauth\"} 3\n",
            "carp_advertisements_received_total{family=\"ipv4\"} 0\n",
            "# TYPE carp_entry_transitions_total counter\n",
        ] {
            assert!(t.contains(want), "missing {want:?} in\n{t}");
        }
        // Every sample line belongs to the family declared before it.
        let mut fam = String::new();
        for l in t.lines() {
            if let Some(r) = l.strip_prefix("# TYPE ") {
                fam = r.split(' ').next().unwrap().to_string();
            } else if !l.starts_with('#') {
                assert!(l.starts_with(&fam), "{l} outside {fam}");
            }
        }
    }

    #[test]
    fn options() {
        let p = |s: &str| parse(&mut s.split_whitespace().map(String::from));
        assert_eq!(p("").unwrap().output, None);
        assert_eq!(p("-o /x").unwrap().output, Some("/x".into()));
        assert!(p("-o").is_err());
        assert!(p("bogus").is_err());
    }
}
