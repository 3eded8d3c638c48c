// SPDX-License-Identifier: GPL-2.0
//! A deterministic cluster simulation: N hosts running the protocol core on
//! a simulated clock, connected by a lossy, reordering network. Checks
//! elections, failover, preempt, demotion, split-brain healing and load
//! balancing.

use carp_core::carp_balance::*;
use carp_core::carp_proto::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const S: u64 = NSEC_PER_SEC;
const VIP: [[u8; 4]; 1] = [[192, 0, 2, 1]];
const ADDRS: Addrs<'static> = Addrs {
    v4: &VIP,
    v6: &[],
    v6ll: &[],
    lladdr: None,
};
const MS: u64 = S / 1000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Host {
    carp: Carp,
    alive: bool,
    preempt: bool,
    takeovers: Vec<u64>,
}

/// A packet in flight: (delivery time, sequence, destination, payload).
type InFlight = Reverse<(u64, u64, usize, [u8; HDR_LEN])>;

struct Cluster {
    now: u64,
    hosts: Vec<Host>,
    queue: BinaryHeap<InFlight>,
    seq: u64,
    rng: Rng,
    loss_permille: u64,
    max_delay: u64,
    /// Events after which vhid 1 had more than one MASTER (checked after
    /// every packet and timer, so no brief double master is missed).
    double_masters: u64,
}

fn config(nodes: &[(u32, u32)], pass: &[u8]) -> Config {
    Config::default()
        .apply(&ConfigUpdate {
            carpnodes: Some(nodes),
            pass: Some(pass),
            ..Default::default()
        })
        .unwrap()
}

impl Cluster {
    fn new(configs: &[Config], seed: u64) -> Self {
        let mut c = Cluster {
            now: 0,
            hosts: vec![],
            queue: BinaryHeap::new(),
            seq: 0,
            rng: Rng(seed | 1),
            loss_permille: 50,
            max_delay: 20 * MS,
            double_masters: 0,
        };
        for (i, cfg) in configs.iter().enumerate() {
            c.hosts.push(Host {
                carp: Carp::new(*cfg, seed.wrapping_mul(31).wrapping_add(i as u64)),
                alive: false,
                preempt: false,
                takeovers: vec![],
            });
        }
        c
    }

    fn handle(&mut self, from: usize, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send { packet, .. } => {
                    for to in 0..self.hosts.len() {
                        if to == from || self.rng.below(1000) < self.loss_permille {
                            continue;
                        }
                        let at = self.now + self.rng.below(self.max_delay + 1);
                        self.seq += 1;
                        self.queue.push(Reverse((at, self.seq, to, packet)));
                    }
                }
                Action::State {
                    new: State::Master,
                    old: State::Backup,
                    ..
                } => {
                    self.hosts[from].takeovers.push(self.now);
                }
                _ => {}
            }
        }
    }

    fn start(&mut self, i: usize) {
        let mut a = vec![];
        let h = &mut self.hosts[i];
        h.alive = true;
        h.carp.set_addresses(self.now, &ADDRS, &mut |x| a.push(x));
        h.carp.set_link(
            self.now,
            Link {
                up: true,
                carpdev_up: true,
            },
            &ADDRS,
            &mut |x| a.push(x),
        );
        self.handle(i, a);
    }

    /// The host dies silently (power loss): no bow-out.
    fn kill(&mut self, i: usize) {
        self.hosts[i].alive = false;
        let mut a = vec![];
        self.hosts[i].carp.set_link(
            self.now,
            Link {
                up: false,
                carpdev_up: false,
            },
            &ADDRS,
            &mut |x| a.push(x),
        );
    }

    /// Admin down: bow-out advertisement.
    fn admin_down(&mut self, i: usize) {
        let mut a = vec![];
        self.hosts[i].carp.set_link(
            self.now,
            Link {
                up: false,
                carpdev_up: true,
            },
            &ADDRS,
            &mut |x| a.push(x),
        );
        self.handle(i, a);
        self.hosts[i].alive = false;
    }

    fn demote(&mut self, i: usize, d: u8) {
        let mut a = vec![];
        self.hosts[i]
            .carp
            .set_demote(self.now, d, &ADDRS, &mut |x| a.push(x));
        self.handle(i, a);
    }

    fn run_until(&mut self, end: u64) {
        loop {
            let timer = self
                .hosts
                .iter()
                .enumerate()
                .filter(|(_, h)| h.alive)
                .filter_map(|(i, h)| h.carp.next_deadline().map(|t| (t, i)))
                .min();
            let pkt = self.queue.peek().map(|Reverse((t, ..))| *t);
            let next = match (timer, pkt) {
                (Some((t, _)), Some(p)) => t.min(p),
                (Some((t, _)), None) => t,
                (None, Some(p)) => p,
                (None, None) => break,
            };
            if next > end {
                break;
            }
            self.now = next;
            if pkt == Some(next) {
                let Reverse((_, _, to, packet)) = self.queue.pop().unwrap();
                if !self.hosts[to].alive {
                    continue;
                }
                let hdr = Header::parse(255, &packet).unwrap();
                let preempt = self.hosts[to].preempt;
                let mut a = vec![];
                let r = self.hosts[to].carp.input(
                    self.now,
                    Family::V4,
                    &hdr,
                    preempt,
                    &ADDRS,
                    &mut |x| a.push(x),
                );
                if std::env::var("CARP_SIM_DEBUG").is_ok() {
                    eprintln!(
                        "{} ns: host {to} got vhid {} skew {} base {}: {r:?} {a:?}",
                        self.now, hdr.vhid, hdr.advskew, hdr.advbase
                    );
                }
                self.handle(to, a);
            } else if let Some((_, i)) = timer {
                let mut a = vec![];
                self.hosts[i]
                    .carp
                    .on_timer(self.now, &ADDRS, &mut |x| a.push(x));
                self.handle(i, a);
            }
            if self.masters(1).len() > 1 {
                self.double_masters += 1;
            }
        }
        self.now = end;
    }

    fn masters(&self, vhid: u8) -> Vec<usize> {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.alive)
            .filter(|(_, h)| {
                h.carp
                    .find(vhid)
                    .is_some_and(|i| h.carp.vhes()[i].state == State::Master)
            })
            .map(|(i, _)| i)
            .collect()
    }
}

fn three_hosts(seed: u64) -> Cluster {
    let cfgs = [
        config(&[(1, 0)], b"pw"),
        config(&[(1, 50)], b"pw"),
        config(&[(1, 100)], b"pw"),
    ];
    Cluster::new(&cfgs, seed)
}

#[test]
fn election_converges_to_one_master() {
    for seed in 1..=20 {
        let mut c = three_hosts(seed);
        for i in 0..3 {
            c.start(i);
        }
        c.run_until(10 * S);
        assert_eq!(c.masters(1), vec![0], "seed {seed}: lowest advskew wins");
        // It stays that way over a long, lossy run: never two MASTERs, not
        // even between two events.
        c.double_masters = 0;
        c.run_until(60 * S);
        assert_eq!(c.masters(1), vec![0], "seed {seed}");
        assert_eq!(c.double_masters, 0, "seed {seed}: a second MASTER appeared");
    }
}

#[test]
fn takeover_within_master_down_time() {
    for seed in 1..=20 {
        let mut c = three_hosts(seed);
        c.loss_permille = 0;
        for i in 0..3 {
            c.start(i);
        }
        c.run_until(10 * S);
        let dead_at = c.now;
        c.kill(0);
        c.run_until(20 * S);
        assert_eq!(c.masters(1), vec![1], "seed {seed}: next best takes over");
        let took = c.hosts[1].takeovers.last().copied().unwrap() - dead_at;
        let bound = master_down_interval(1, 50) + adv_interval(1, 0) + c.max_delay;
        assert!(
            took <= bound,
            "seed {seed}: takeover {took} ns > {bound} ns"
        );
        c.kill(1);
        c.run_until(30 * S);
        assert_eq!(c.masters(1), vec![2]);
    }
}

#[test]
fn bowout_hands_over_at_once() {
    let mut c = three_hosts(7);
    // No reordering: the bow-out must not overtake the last advertisement.
    c.loss_permille = 0;
    c.max_delay = 0;
    for i in 0..3 {
        c.start(i);
    }
    c.run_until(10 * S);
    let at = c.now;
    c.admin_down(0);
    c.run_until(10 * S + 200 * MS);
    assert_eq!(c.masters(1).len(), 1);
    assert!(
        c.hosts[1].takeovers.last().copied().unwrap_or(0) >= at
            || c.hosts[2].takeovers.last().copied().unwrap_or(0) >= at
    );
    c.run_until(20 * S);
    assert_eq!(
        c.masters(1),
        vec![1],
        "the better backup ends up master: {:?}",
        c.hosts
            .iter()
            .map(|h| (h.alive, h.carp.vhes()[0].state))
            .collect::<Vec<_>>()
    );
}

#[test]
fn preempt_off_and_on() {
    for preempt in [false, true] {
        let mut c = three_hosts(3);
        c.hosts.iter_mut().for_each(|h| h.preempt = preempt);
        c.start(2);
        c.run_until(10 * S);
        assert_eq!(c.masters(1), vec![2]);
        c.start(0);
        c.start(1);
        c.run_until(30 * S);
        let expect = if preempt { vec![0] } else { vec![2] };
        assert_eq!(c.masters(1), expect, "preempt {preempt}");
    }
}

#[test]
fn demotion_hands_over_without_preempt() {
    let mut c = three_hosts(5);
    for i in 0..3 {
        c.start(i);
    }
    c.run_until(10 * S);
    assert_eq!(c.masters(1), vec![0]);
    c.demote(0, 1);
    c.run_until(12 * S);
    // An advertisement of the undemoted master still in flight may make
    // both backups step down once; either backup may end up master.
    let m = c.masters(1);
    assert!(
        m == vec![1] || m == vec![2],
        "demoted master hands over: {m:?}"
    );
    c.demote(0, 0);
    c.run_until(30 * S);
    assert_eq!(c.masters(1), m, "no preempt: stays with the new master");
}

#[test]
fn split_brain_heals() {
    for seed in 1..=10 {
        let mut c = three_hosts(seed);
        for i in 0..3 {
            c.start(i);
        }
        c.run_until(10 * S);
        // Total partition: nobody hears anybody.
        let saved = c.loss_permille;
        c.loss_permille = 1000;
        c.run_until(20 * S);
        assert_eq!(c.masters(1).len(), 3, "everybody isolated: all master");
        c.loss_permille = saved;
        c.run_until(40 * S);
        assert_eq!(
            c.masters(1),
            vec![0],
            "seed {seed}: healed to the best host"
        );
    }
}

#[test]
fn load_balancing_every_flow_has_one_owner() {
    // carp(4)'s example: host A 1:0,2:100 and host B 1:100,2:0.
    let cfgs = [
        config(&[(1, 0), (2, 100)], b"lb"),
        config(&[(1, 100), (2, 0)], b"lb"),
    ];
    let mut c = Cluster::new(&cfgs, 11);
    c.start(0);
    c.start(1);
    c.run_until(20 * S);
    assert_eq!(c.masters(1), vec![0]);
    assert_eq!(c.masters(2), vec![1]);
    let owners = |c: &Cluster| {
        let mut rng = Rng(99);
        let mut per_host = [0u32; 2];
        for _ in 0..2000 {
            let src = (rng.next() as u32).to_be_bytes();
            let dst = [192, 0, 2, 1];
            let fold = fold_v4(src, dst);
            let acc: Vec<usize> = (0..2)
                .filter(|&h| c.hosts[h].alive)
                .filter(|&h| ip_accept(fold, false, 2, c.hosts[h].carp.lsmask()))
                .collect();
            assert_eq!(acc.len(), 1, "flow {src:?} accepted by {acc:?}");
            // Both directions of the flow land on the same host.
            assert!(ip_accept(
                fold_v4(dst, src),
                false,
                2,
                c.hosts[acc[0]].carp.lsmask()
            ));
            per_host[acc[0]] += 1;
        }
        per_host
    };
    let share = owners(&c);
    assert!(share[0] > 800 && share[1] > 800, "shared: {share:?}");
    c.kill(1);
    c.run_until(30 * S);
    assert_eq!(
        c.masters(2),
        vec![0],
        "the dead node's share moves to its backup"
    );
    assert_eq!(owners(&c), [2000, 0]);
}
