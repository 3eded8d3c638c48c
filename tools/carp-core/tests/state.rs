// SPDX-License-Identifier: GPL-2.0
//! The state machine, one rule at a time.

use carp_core::carp_proto::*;

const S: u64 = NSEC_PER_SEC;

fn cfg(vhid: u32, advskew: u32, pass: &[u8]) -> Config {
    Config::default()
        .apply(&ConfigUpdate {
            vhid: Some(vhid),
            advskew: Some(advskew),
            pass: Some(pass),
            ..Default::default()
        })
        .unwrap()
}

struct Host {
    carp: Carp,
    actions: Vec<Action>,
    v4: Vec<[u8; 4]>,
    v6: Vec<[u8; 16]>,
    /// Link-local addresses, kept apart as the kernel glue does.
    v6ll: Vec<[u8; 16]>,
}

fn is_ll(a: &[u8; 16]) -> bool {
    a[0] == 0xfe && a[1] & 0xc0 == 0x80
}

/// The addresses of a device with IPv4 addresses only.
fn v4_only(v4: &[[u8; 4]]) -> Addrs<'_> {
    Addrs {
        v4,
        v6: &[],
        v6ll: &[],
        lladdr: None,
    }
}

/// Whether `acts` hold a change to MASTER for `reason`.
fn became_master(acts: &[Action], reason: Reason) -> bool {
    acts.iter()
        .any(|a| matches!(a, Action::State { new: State::Master, reason: r, .. } if *r == reason))
}

impl Host {
    fn new(c: Config, seed: u64) -> Self {
        let mut h = Host {
            carp: Carp::new(c, seed),
            actions: vec![],
            v4: vec![[192, 0, 2, 1]],
            v6: vec![],
            v6ll: vec![],
        };
        let mut a = vec![];
        let addrs = Addrs {
            v4: &h.v4,
            v6: &h.v6,
            v6ll: &h.v6ll,
            lladdr: None,
        };
        h.carp.set_addresses(0, &addrs, &mut |x| a.push(x));
        let link = Link {
            up: true,
            carpdev_up: true,
        };
        h.carp.set_link(0, link, &addrs, &mut |x| a.push(x));
        h.actions = a;
        h
    }
    fn addrs(&self) -> Addrs<'_> {
        Addrs {
            v4: &self.v4,
            v6: &self.v6,
            v6ll: &self.v6ll,
            lladdr: None,
        }
    }
    fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }
    fn timer(&mut self, now: u64) {
        let mut a = vec![];
        self.carp.on_timer(
            now,
            &Addrs {
                v4: &self.v4,
                v6: &self.v6,
                v6ll: &self.v6ll,
                lladdr: None,
            },
            &mut |x| a.push(x),
        );
        self.actions.extend(a);
    }
    fn input(&mut self, now: u64, pkt: &[u8; HDR_LEN], preempt: bool) -> Result<(), RxError> {
        let h = Header::parse(255, pkt)?;
        let mut a = vec![];
        let addrs = Addrs {
            v4: &self.v4,
            v6: &self.v6,
            v6ll: &self.v6ll,
            lladdr: None,
        };
        let r = self
            .carp
            .input(now, Family::V4, &h, preempt, &addrs, &mut |x| a.push(x));
        self.actions.extend(a);
        r
    }
    fn set_addresses(&mut self, now: u64, v4: &[[u8; 4]], v6: &[[u8; 16]]) {
        self.v4 = v4.to_vec();
        self.v6 = v6.iter().copied().filter(|a| !is_ll(a)).collect();
        self.v6ll = v6.iter().copied().filter(is_ll).collect();
        let mut a = vec![];
        let addrs = Addrs {
            v4: &self.v4,
            v6: &self.v6,
            v6ll: &self.v6ll,
            lladdr: None,
        };
        self.carp.set_addresses(now, &addrs, &mut |x| a.push(x));
        self.actions.extend(a);
    }
    fn set_link(&mut self, now: u64, up: bool, carpdev_up: bool) -> Vec<Action> {
        let mut a = vec![];
        let addrs = Addrs {
            v4: &self.v4,
            v6: &self.v6,
            v6ll: &self.v6ll,
            lladdr: None,
        };
        self.carp
            .set_link(now, Link { up, carpdev_up }, &addrs, &mut |x| a.push(x));
        a
    }
    fn set_demote(&mut self, now: u64, d: u8) -> Vec<Action> {
        let mut a = vec![];
        let addrs = Addrs {
            v4: &self.v4,
            v6: &self.v6,
            v6ll: &self.v6ll,
            lladdr: None,
        };
        self.carp.set_demote(now, d, &addrs, &mut |x| a.push(x));
        a
    }
    fn force(&mut self, now: u64, st: State) {
        let addrs = Addrs {
            v4: &self.v4,
            v6: &self.v6,
            v6ll: &self.v6ll,
            lladdr: None,
        };
        self.carp.force_state(now, st, &addrs, &mut |_| {});
    }
    fn advert(&self) -> [u8; HDR_LEN] {
        self.carp.advert(0, false, &self.addrs()).unwrap()
    }
    fn state(&self) -> State {
        self.carp.vhes()[0].state
    }
    fn sent(&self) -> Vec<[u8; HDR_LEN]> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Send { packet, .. } => Some(*packet),
                _ => None,
            })
            .collect()
    }
}

/// Vhid 1's advertisement (advbase 1, advskew 0) with a given counter and
/// HMAC, for HMACs computed by hand.
fn vhid1_header(counter: [u8; 8], hmac: [u8; 20]) -> Header {
    Header {
        version: 2,
        typ: 1,
        vhid: 1,
        advskew: 0,
        authlen: 7,
        demote: 0,
        advbase: 1,
        cksum: 0,
        counter,
        hmac,
    }
}

/// An advertisement as another host with the same key would send it.
fn advert(
    vhid: u32,
    advbase: u8,
    advskew: u8,
    demote: u8,
    pass: &[u8],
    seed: u64,
) -> [u8; HDR_LEN] {
    let mut c = cfg(vhid, u32::from(advskew.min(254)), pass);
    c.advbase = advbase.min(254);
    let mut h = Host::new(c, seed);
    h.set_demote(0, demote);
    // Bow-out style values come from the bow-out advertisement.
    h.carp
        .advert(0, advbase == 255 || advskew == 255, &h.addrs())
        .unwrap()
}

#[test]
fn starts_in_backup_and_times_out_to_master() {
    let mut h = Host::new(cfg(1, 0, b""), 1);
    assert_eq!(h.state(), State::Backup);
    let acts = h.take();
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::State {
            old: State::Init,
            new: State::Backup,
            reason: Reason::Start,
            ..
        }
    )));
    assert_eq!(h.carp.next_deadline(), Some(3 * S));
    h.timer(3 * S - 1);
    assert_eq!(h.state(), State::Backup);
    h.timer(3 * S);
    assert_eq!(h.state(), State::Master);
    let acts = h.take();
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::State {
            new: State::Master,
            reason: Reason::MasterDown,
            ..
        }
    )));
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Send {
            v4: true,
            v6: false,
            ..
        }
    )));
    assert!(acts.contains(&Action::GratuitousArp));
    assert_eq!(h.carp.next_deadline(), Some(4 * S));
}

#[test]
fn intervals() {
    assert_eq!(adv_interval(1, 0), S);
    assert_eq!(adv_interval(1, 128), S + S / 2);
    assert_eq!(adv_interval(0, 0), S / 256);
    assert_eq!(master_down_interval(1, 0), 3 * S);
    assert_eq!(master_down_interval(1, 100), 3 * S + 100 * S / 256);
    assert_eq!(master_down_interval(0, 0), 3 * S / 256);
    let mut h = Host::new(cfg(1, 100, b""), 1);
    assert_eq!(h.carp.next_deadline(), Some(3 * S + 100 * S / 256));
    h.timer(10 * S);
    assert_eq!(h.carp.next_deadline(), Some(10 * S + S + 100 * S / 256));
}

#[test]
fn delayed_second_garp() {
    let mut h = Host::new(cfg(1, 0, b""), 1);
    h.timer(3 * S);
    h.take();
    h.timer(4 * S);
    assert!(!h.take().contains(&Action::GratuitousArp));
    h.timer(5 * S);
    assert!(
        h.take().contains(&Action::GratuitousArp),
        "second round 2 intervals later"
    );
    h.timer(6 * S);
    assert!(!h.take().contains(&Action::GratuitousArp));
}

#[test]
fn master_steps_down_for_better_or_equal() {
    for (theirs, steps_down) in [(0u8, true), (100, true), (101, false)] {
        let mut h = Host::new(cfg(1, 100, b"pw"), 1);
        h.timer(10 * S);
        assert_eq!(h.state(), State::Master);
        h.input(10 * S, &advert(1, 1, theirs, 0, b"pw", 2), false)
            .unwrap();
        assert_eq!(
            h.state() == State::Backup,
            steps_down,
            "their skew {theirs}"
        );
    }
}

#[test]
fn backup_preempt_rules() {
    // A slower master: takeover only with preempt.
    for preempt in [false, true] {
        let mut h = Host::new(cfg(1, 0, b"pw"), 1);
        h.input(S, &advert(1, 1, 100, 0, b"pw", 2), preempt)
            .unwrap();
        assert_eq!(h.state() == State::Master, preempt);
    }
    // Otherwise the master-down timer is re-armed.
    let mut h = Host::new(cfg(1, 100, b"pw"), 1);
    h.input(2 * S, &advert(1, 1, 0, 0, b"pw", 2), true).unwrap();
    assert_eq!(h.state(), State::Backup);
    assert_eq!(
        h.carp.next_deadline(),
        Some(2 * S + master_down_interval(1, 100))
    );
}

#[test]
fn demote_byte() {
    // A more demoted master is taken over without preempt.
    let mut h = Host::new(cfg(1, 100, b"pw"), 1);
    h.input(S, &advert(1, 1, 0, 1, b"pw", 2), false).unwrap();
    assert_eq!(h.state(), State::Master);
    // A demoted master steps down for a less demoted one even if slower.
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    h.set_demote(3 * S, 1);
    h.input(4 * S, &advert(1, 1, 200, 0, b"pw", 2), false)
        .unwrap();
    assert_eq!(h.state(), State::Backup);
}

#[test]
fn demotion_advertises_240_and_sends_at_once() {
    let mut h = Host::new(cfg(1, 10, b"pw"), 1);
    h.timer(10 * S);
    h.take();
    let sent = h.set_demote(10 * S, 1);
    let pkts: Vec<_> = sent
        .iter()
        .filter_map(|a| match a {
            Action::Send { packet, .. } => Some(*packet),
            _ => None,
        })
        .collect();
    assert_eq!(pkts.len(), 1, "advertises immediately");
    let hdr = Header::parse(255, &pkts[0]).unwrap();
    assert_eq!((hdr.advskew, hdr.demote), (DEMOTED_ADVSKEW, 1));
    // Undemoted again: back to its own skew, no extra send.
    let sent = h.set_demote(11 * S, 0);
    assert!(sent.is_empty());
    assert_eq!(Header::parse(255, &h.advert()).unwrap().advskew, 10);
}

#[test]
fn master_too_slow() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    let mut c = cfg(1, 0, b"pw");
    c.advbase = 5;
    let other = Host::new(c, 2);
    let pkt = other.advert();
    h.input(S, &pkt, false).unwrap();
    assert_eq!(
        h.state(),
        State::Master,
        "advbase 5 > 3 x advbase 1: will time out anyway"
    );
}

#[test]
fn bowout_on_admin_down() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    h.take();
    let acts = h.set_link(4 * S, false, true);
    let pkt = acts
        .iter()
        .find_map(|a| match a {
            Action::Send { packet, .. } => Some(*packet),
            _ => None,
        })
        .expect("bow-out sent");
    let hdr = Header::parse(255, &pkt).unwrap();
    assert_eq!((hdr.advbase, hdr.advskew), (255, 255));
    assert_eq!(h.state(), State::Init);
    assert_eq!(h.carp.next_deadline(), None);
    // A backup receiving the bow-out takes over at once, and says why.
    let mut b = Host::new(cfg(1, 100, b"pw"), 3);
    b.take();
    b.input(4 * S, &pkt, false).unwrap();
    assert_eq!(b.state(), State::Master);
    assert!(became_master(&b.take(), Reason::BowOut));
    // With advbase 0 too (OpenBSD's "too slow" rule misses it there).
    let fast = |skew| {
        Config::default()
            .apply(&ConfigUpdate {
                vhid: Some(1),
                advskew: Some(skew),
                advbase: Some(0),
                pass: Some(b"pw"),
                ..Default::default()
            })
            .unwrap()
    };
    let mut c = Host::new(fast(100), 5);
    c.input(4 * S, &pkt, false).unwrap();
    assert_eq!(c.state(), State::Master);
    // An ordinary slow advertisement is not a bow-out.
    let mut d = Host::new(fast(100), 7);
    d.take();
    let slow = Host::new(cfg(1, 0, b"pw"), 9).advert();
    d.input(4 * S, &slow, false).unwrap();
    assert!(!d.take().iter().any(|a| matches!(
        a,
        Action::State {
            reason: Reason::BowOut,
            ..
        }
    )));
}

/// The glue's order when the last address goes (`resync_addrs`) or the
/// device leaves its carpdev (`detach`): `bow_out` with the addresses the
/// peers know, then the change that stops the device.
#[test]
fn bow_out_before_the_last_address_goes() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    assert_eq!(h.state(), State::Master);
    h.take();
    let mut a = vec![];
    let (v4, v6, v6ll) = (h.v4.clone(), h.v6.clone(), h.v6ll.clone());
    let old = Addrs {
        v4: &v4,
        v6: &v6,
        v6ll: &v6ll,
        lladdr: None,
    };
    h.carp.bow_out(&old, &mut |x| a.push(x));
    let pkt = a
        .iter()
        .find_map(|x| match x {
            Action::Send { packet, .. } => Some(*packet),
            _ => None,
        })
        .expect("bow-out sent");
    let hdr = Header::parse(255, &pkt).unwrap();
    assert_eq!((hdr.advbase, hdr.advskew), (255, 255));
    // No ordinary advertisement may follow it before the device stops.
    assert_eq!(h.carp.next_deadline(), None);
    h.timer(10 * S);
    assert!(h.sent().is_empty(), "{:?}", h.actions);
    // The backup verifies it with the old address list and takes over.
    let mut b = Host::new(cfg(1, 100, b"pw"), 3);
    b.take();
    b.input(4 * S, &pkt, false).unwrap();
    assert_eq!(b.state(), State::Master);
    // Then the empty list stops the device, without a second bow-out.
    h.take();
    h.set_addresses(5 * S, &[], &[]);
    assert_eq!(h.state(), State::Init);
    assert!(h.sent().is_empty(), "{:?}", h.actions);
    // A BACKUP sends nothing.
    let mut c = Host::new(cfg(1, 100, b"pw"), 5);
    c.take();
    let mut a = vec![];
    let v4 = c.v4.clone();
    let addrs = v4_only(&v4);
    c.carp.bow_out(&addrs, &mut |x| a.push(x));
    assert!(a.is_empty(), "{a:?}");
}

/// The HMAC a device sends is computed once per change, and the last
/// authenticated advertisement is remembered: both must follow every
/// change of the addresses and of the key.
#[test]
fn cached_hmacs_follow_address_and_key_changes() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    assert_eq!(h.state(), State::Master);
    h.timer(4 * S);
    let p1 = *h.sent().last().expect("advertisement");
    // The cached HMAC equals a fresh one.
    assert_eq!(p1, h.advert());
    let mut b = Host::new(cfg(1, 100, b"pw"), 3);
    b.input(4 * S, &p1, false).unwrap();
    // Twice: the second one from the remembered pair.
    b.input(4 * S, &p1, false).unwrap();
    // New addresses on both: the sender's HMAC changes with them, the old
    // advertisement no longer authenticates.
    let v4 = [[192, 0, 2, 1], [192, 0, 2, 2]];
    h.take();
    h.set_addresses(5 * S, &v4, &[]);
    let p2 = *h.sent().last().expect("advertisement after the change");
    assert_ne!(
        p1[16..],
        p2[16..],
        "the HMAC must change with the addresses"
    );
    b.set_addresses(5 * S, &v4, &[]);
    assert_eq!(b.input(5 * S, &p1, false), Err(RxError::BadAuth));
    b.input(5 * S, &p2, false).unwrap();
    // A new pass on the backup: the remembered pair goes too.
    let mut a = vec![];
    let c = b
        .carp
        .config()
        .apply(&ConfigUpdate {
            pass: Some(b"other"),
            ..Default::default()
        })
        .unwrap();
    let addrs = v4_only(&v4);
    b.carp.set_config(6 * S, c, &addrs, &mut |x| a.push(x));
    assert_eq!(b.input(6 * S, &p2, false), Err(RxError::BadAuth));
    // And on the sender: its next advertisement is signed with the new key.
    h.take();
    let mut a = vec![];
    let c = h
        .carp
        .config()
        .apply(&ConfigUpdate {
            pass: Some(b"other"),
            ..Default::default()
        })
        .unwrap();
    h.carp.set_config(6 * S, c, &addrs, &mut |x| a.push(x));
    let p3 = a
        .iter()
        .find_map(|x| match x {
            Action::Send { packet, .. } => Some(*packet),
            _ => None,
        })
        .expect("advertisement after the pass change");
    b.input(6 * S, &p3, false).unwrap();
}

#[test]
fn carpdev_down_is_silent_and_restarts_in_backup() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    h.take();
    let acts = h.set_link(4 * S, true, false);
    assert!(
        !acts.iter().any(|a| matches!(a, Action::Send { .. })),
        "no bow-out on carpdev loss"
    );
    assert_eq!(h.state(), State::Init);
    h.set_link(5 * S, true, true);
    assert_eq!(h.state(), State::Backup);
}

#[test]
fn auth_and_loop() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    assert_eq!(
        h.input(S, &advert(1, 1, 0, 0, b"wrong", 2), false),
        Err(RxError::BadAuth)
    );
    // Our own advertisement looped back.
    let own = h.advert();
    assert_eq!(h.input(S, &own, false), Err(RxError::Loop));
    assert_eq!(
        h.input(S, &advert(9, 1, 0, 0, b"pw", 2), false),
        Err(RxError::BadVhid(9))
    );
    let mut v3 = Header::parse(255, &advert(1, 1, 0, 0, b"pw", 2)).unwrap();
    v3.version = 3;
    assert_eq!(h.input(S, &v3.encode(), false), Err(RxError::BadVer(3)));
    assert_eq!(h.state(), State::Backup, "no bad packet changed state");
    assert_eq!(
        h.carp.next_deadline(),
        Some(3 * S),
        "nor re-armed the timer"
    );
}

#[test]
fn hmac_contexts_accept_either_linklocal_policy() {
    // A peer that includes its link-local address in the HMAC (FreeBSD, old
    // OpenBSD) is accepted as well as one that omits it.
    let ll = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let g = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let key = Key::new(b"pw").unwrap();
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.set_addresses(0, &[], &[g, ll]);
    for ctx in [HmacContext::Orig, HmacContext::NoV6Ll] {
        let counter = [9; 8];
        let hmac = hmac_finish(
            &hmac_prefix(&key, 1, None, &[], &[ll, g], &[], ctx),
            &counter,
        );
        let hdr = vhid1_header(counter, hmac);
        assert_eq!(h.input(S, &hdr.encode(), false), Ok(()), "{ctx:?}");
    }
}

/// Each entry's cookie (the counter it sends) is SplitMix64's output for
/// the seed (Steele, Lea and Flood; the reference below), made odd so it is
/// never zero: distinct per seed and per entry.
#[test]
fn cookies_are_splitmix64() {
    fn reference(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    // SplitMix64's first output for seed 0 (as published with it).
    assert_eq!(reference(&mut 0), 0xe220_a839_7b1d_cdaf);
    let c = Config::default()
        .apply(&ConfigUpdate {
            carpnodes: Some(&[(1, 0), (2, 0)]),
            ..Default::default()
        })
        .unwrap();
    for seed in [0u64, 1, 0xdead_beef] {
        let carp = Carp::new(c, seed);
        let mut st = seed;
        for v in carp.vhes() {
            assert_eq!(
                v.cookie(),
                (reference(&mut st) | 1).to_be_bytes(),
                "seed {seed}"
            );
        }
    }
}

#[test]
fn forced_states() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.force(S, State::Master);
    assert_eq!(h.state(), State::Master);
    h.force(2 * S, State::Backup);
    assert_eq!(h.state(), State::Backup);
    assert_eq!(h.carp.next_deadline(), Some(2 * S + 3 * S));
    // Not running: ignored.
    h.set_link(3 * S, false, true);
    h.force(3 * S, State::Master);
    assert_eq!(h.state(), State::Init);
}

#[test]
fn address_change_keeps_the_state() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    assert_eq!(h.state(), State::Master);
    let before = h.advert();
    h.take();
    // Another address: still MASTER, advertises the new HMAC at once and
    // announces the addresses; no state change is reported.
    h.set_addresses(3 * S + S / 2, &[[192, 0, 2, 1], [192, 0, 2, 2]], &[]);
    assert_eq!(h.state(), State::Master);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "one advertisement at once");
    assert_ne!(sent[0], before, "the HMAC covers the new address");
    let acts = h.take();
    assert!(acts.iter().any(|a| matches!(a, Action::GratuitousArp)));
    assert!(!acts.iter().any(|a| matches!(a, Action::State { .. })));
    // The next advertisement is one interval after the change.
    assert_eq!(h.carp.next_deadline(), Some(4 * S + S / 2));
    // A BACKUP keeps its master-down timer too.
    let mut b = Host::new(cfg(1, 100, b"pw"), 2);
    let t0 = b.carp.next_deadline();
    b.set_addresses(S, &[[192, 0, 2, 1], [192, 0, 2, 3]], &[]);
    assert_eq!(b.state(), State::Backup);
    assert_eq!(b.carp.next_deadline(), t0);
    // No address left: the device stops.
    h.set_addresses(5 * S, &[], &[]);
    assert_eq!(h.state(), State::Init, "no address: not running");
    assert!(!h.carp.running());
    // And starts again in BACKUP when one comes back.
    h.set_addresses(6 * S, &[[192, 0, 2, 1]], &[]);
    assert_eq!(h.state(), State::Backup);
}

#[test]
fn a_new_family_gets_its_own_master_down_timer() {
    let g = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut b = Host::new(cfg(1, 0, b"pw"), 2);
    let peer = Host::new(cfg(1, 0, b"pw"), 3);
    // IPv4 adverts keep arriving; IPv6 is added at 1 s.
    b.input(S / 2, &peer.advert(), false).unwrap();
    b.set_addresses(S, &[[192, 0, 2, 1]], &[g]);
    let mut peer6 = peer;
    peer6.set_addresses(0, &[[192, 0, 2, 1]], &[g]);
    for t in 1..4 {
        b.input(t * S + S / 2, &peer6.advert(), false).unwrap();
    }
    // The IPv6 timer started at 1 s and no IPv6 advert came: it fires at 4 s.
    b.timer(4 * S);
    assert_eq!(b.state(), State::Master);
}

#[test]
fn config_change_keeps_the_state() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    assert_eq!(h.state(), State::Master);
    let cookie = h.carp.vhes()[0].cookie();
    h.take();
    let addrs = h.addrs();
    let v4 = addrs.v4.to_vec();
    let c = h
        .carp
        .config()
        .apply(&ConfigUpdate {
            advskew: Some(50),
            pass: Some(b"new"),
            ..Default::default()
        })
        .unwrap();
    let mut a = vec![];
    let addrs = v4_only(&v4);
    h.carp.set_config(3 * S + 1, c, &addrs, &mut |x| a.push(x));
    assert_eq!(h.state(), State::Master, "a MASTER stays MASTER");
    assert_eq!(h.carp.vhes()[0].cookie(), cookie, "same entry");
    assert!(!a.iter().any(|x| matches!(x, Action::State { .. })));
    let sent: Vec<_> = a
        .iter()
        .filter_map(|x| match x {
            Action::Send { packet, .. } => Some(Header::parse(255, packet).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1, "the new settings are advertised at once");
    assert_eq!(sent[0].advskew, 50);
    // A BACKUP whose interval did not change keeps its timer; one whose
    // advskew changed restarts it.
    let mut b = Host::new(cfg(1, 100, b"pw"), 2);
    let t0 = b.carp.next_deadline();
    let same = b.carp.config().apply(&ConfigUpdate {
        pass: Some(b"x"),
        ..Default::default()
    });
    b.carp.set_config(S, same.unwrap(), &addrs, &mut |_| {});
    assert_eq!((b.state(), b.carp.next_deadline()), (State::Backup, t0));
    let skew = b.carp.config().apply(&ConfigUpdate {
        advskew: Some(200),
        ..Default::default()
    });
    b.carp.set_config(S, skew.unwrap(), &addrs, &mut |_| {});
    assert_eq!(b.state(), State::Backup);
    assert_eq!(
        b.carp.next_deadline(),
        Some(S + master_down_interval(1, 200))
    );
}

fn nodes(pairs: &[(u32, u32)]) -> Config {
    Config::default()
        .apply(&ConfigUpdate {
            carpnodes: Some(pairs),
            pass: Some(b"pw"),
            ..Default::default()
        })
        .unwrap()
}

#[test]
fn a_burst_of_address_changes_is_announced_a_few_times_not_per_change() {
    // The kernel answers each announcement with one frame per address: N
    // changes announced one by one would cost N * N frames.
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    assert_eq!(h.state(), State::Master);
    // (Past the second gratuitous ARP of the takeover.)
    for k in 1..=50 {
        h.timer(3 * S + k * S / 10);
    }
    h.take();
    let announcements = |a: &[Action]| {
        a.iter()
            .filter(|x| matches!(x, Action::GratuitousArp | Action::UnsolicitedNa))
            .count()
    };
    let mut v4 = vec![[192, 0, 2, 1]];
    let mut t = 8 * S + 1;
    let mut sends = 0;
    for k in 0..100u8 {
        v4.push([192, 0, 2, 10 + k]);
        h.set_addresses(t, &v4, &[]);
        let a = h.take();
        sends += a
            .iter()
            .filter(|x| matches!(x, Action::Send { .. }))
            .count();
        let n = announcements(&a);
        // The first change is announced at once, the others wait.
        assert_eq!(n, usize::from(k == 0), "change {k}");
        t += 1_000_000; // 1 ms apart
    }
    assert_eq!(sends, 100, "each change is still advertised at once");
    // The first periodic advertisement once ANNOUNCE_INTERVAL has passed
    // announces the rest, once.
    let mut total = 0;
    let mut at = t;
    while at < 8 * S + 1 + 3 * ANNOUNCE_INTERVAL {
        at += S / 10;
        h.timer(at);
        total += announcements(&h.take());
    }
    assert_eq!(total, 1, "the pending changes announced once");
    // A change long after is announced at once again.
    v4.push([192, 0, 2, 250]);
    h.set_addresses(at + 2 * ANNOUNCE_INTERVAL, &v4, &[]);
    assert_eq!(announcements(&h.take()), 1);
}

#[test]
fn the_advertisement_at_once_goes_where_the_new_config_says() {
    // A MASTER given a carppeer advertises at once to that peer (not to the
    // group it used before): its peer hears it without waiting advbase.
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    assert_eq!(h.state(), State::Master);
    h.take();
    let v4 = h.addrs().v4.to_vec();
    let addrs = v4_only(&v4);
    let peer = [192, 0, 2, 12];
    let c = h
        .carp
        .config()
        .apply(&ConfigUpdate {
            peer: Some(Some(peer)),
            ..Default::default()
        })
        .unwrap();
    let mut a = vec![];
    h.carp.set_config(3 * S + 1, c, &addrs, &mut |x| a.push(x));
    let to: Vec<_> = a
        .iter()
        .filter_map(|x| match x {
            Action::Send { to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(to.len(), 1, "advertised at once");
    assert_eq!(to[0].peer, Some(peer), "to the new peer");
    assert_eq!(to[0].peer6, None);
    // And removing it sends the next one to the group again.
    let c = h
        .carp
        .config()
        .apply(&ConfigUpdate {
            peer: Some(None),
            ..Default::default()
        })
        .unwrap();
    let mut a = vec![];
    h.carp.set_config(3 * S + 2, c, &addrs, &mut |x| a.push(x));
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::Send { to, .. } if to.peer.is_none())));
}

#[test]
fn carpnodes_change_keeps_the_entries_that_stay() {
    let mut h = Host::new(nodes(&[(1, 0), (2, 0), (3, 100)]), 1);
    h.timer(3 * S);
    let states: Vec<_> = h.carp.vhes().iter().map(|v| v.state).collect();
    assert_eq!(states, [State::Master, State::Master, State::Backup]);
    let cookies: Vec<_> = h.carp.vhes().iter().map(|v| v.cookie()).collect();
    let v4 = h.v4.clone();
    let addrs = v4_only(&v4);
    // vhid 1 (MASTER) goes, 5 comes, 2 and 3 stay (at new indexes).
    let mut a = vec![];
    h.carp.set_config(
        3 * S + 1,
        nodes(&[(2, 0), (3, 100), (5, 0)]),
        &addrs,
        &mut |x| a.push(x),
    );
    let v: Vec<_> = h
        .carp
        .vhes()
        .iter()
        .map(|v| (v.vhid, v.state, v.cookie()))
        .collect();
    assert_eq!(v[0], (2, State::Master, cookies[1]));
    assert_eq!(v[1], (3, State::Backup, cookies[2]));
    assert_eq!((v[2].0, v[2].1), (5, State::Backup));
    // The removed MASTER bowed out, then was reported stopped.
    let bowout = a.iter().any(|x| match x {
        Action::Send { packet, .. } => {
            let p = Header::parse(255, packet).unwrap();
            p.vhid == 1 && p.advbase == 255 && p.advskew == 255
        }
        _ => false,
    });
    assert!(bowout, "{a:?}");
    assert!(a.iter().any(|x| matches!(
        x,
        Action::State {
            vhid: 1,
            new: State::Init,
            ..
        }
    )));
    assert!(!a
        .iter()
        .any(|x| matches!(x, Action::State { vhid: 2 | 3, .. })));
}

proptest::proptest! {
    /// Whatever the old and new carpnodes, the entries that stay keep their
    /// state and cookie, the others are new, in vhid order.
    #[test]
    fn carried_entries(old in proptest::collection::btree_set(1u32..40, 1..32),
                       new in proptest::collection::btree_set(1u32..40, 1..32)) {
        let old: Vec<(u32, u32)> = old.into_iter().map(|v| (v, v % 7)).collect();
        let new: Vec<(u32, u32)> = new.into_iter().map(|v| (v, v % 5)).collect();
        let mut h = Host::new(nodes(&old), 9);
        h.timer(3 * S);
        let before: Vec<_> = h.carp.vhes().iter().map(|v| (v.vhid, v.state, v.cookie())).collect();
        let v4 = h.v4.clone();
        let addrs = Addrs { v4: &v4, v6: &[], v6ll: &[], lladdr: None };
        h.carp.set_config(3 * S + 1, nodes(&new), &addrs, &mut |_| {});
        let after = h.carp.vhes();
        proptest::prop_assert_eq!(after.len(), new.len());
        for (e, (vhid, skew)) in after.iter().zip(&new) {
            proptest::prop_assert_eq!(u32::from(e.vhid), *vhid);
            proptest::prop_assert_eq!(u32::from(e.advskew), *skew);
            match before.iter().find(|b| u32::from(b.0) == *vhid) {
                Some(b) => {
                    proptest::prop_assert_eq!(e.state, b.1);
                    proptest::prop_assert_eq!(e.cookie(), b.2);
                }
                None => proptest::prop_assert_eq!(e.state, State::Backup),
            }
        }
    }
}

#[test]
fn send_errors_demote_and_recover() {
    let mut s = SendErrors::default();
    // 3 x entries failures in a row demote; a success in between resets.
    assert_eq!(s.record(false, 2), 0);
    assert_eq!(s.record(true, 2), 0);
    for _ in 0..5 {
        assert_eq!(s.record(false, 2), 0);
    }
    assert_eq!(s.record(false, 2), 1);
    assert!(s.demoted());
    // As many successes in a row undo it; a failure in between resets.
    for _ in 0..5 {
        assert_eq!(s.record(true, 2), 0);
    }
    assert_eq!(s.record(false, 2), 0);
    for _ in 0..5 {
        assert_eq!(s.record(true, 2), 0);
    }
    assert_eq!(s.record(true, 2), -1);
    assert!(!s.demoted());
    // A single entry: 3; reset forgets.
    for _ in 0..3 {
        s.record(false, 1);
    }
    assert!(s.demoted());
    assert!(s.reset());
    assert!(!s.demoted());
    assert!(!s.reset());
}

#[test]
fn dual_stack_timers_per_family() {
    let g = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut h = Host::new(cfg(1, 100, b"pw"), 1);
    h.set_addresses(0, &[[192, 0, 2, 1]], &[g]);
    let mut peer = Host::new(cfg(1, 0, b"pw"), 2);
    peer.set_addresses(0, &[[192, 0, 2, 1]], &[g]);
    let pkt = peer.advert();
    // Only IPv4 advertisements arrive: the IPv6 master-down timer fires.
    for t in 1..4 {
        h.input(t * S, &pkt, false).unwrap();
    }
    h.timer(4 * S);
    assert_eq!(h.state(), State::Master);
}

#[test]
fn balancing_lsmask() {
    let c = Config::default()
        .apply(&ConfigUpdate {
            carpnodes: Some(&[(1, 0), (2, 100)]),
            ..Default::default()
        })
        .unwrap();
    let mut h = Host::new(c, 1);
    assert_eq!(h.carp.lsmask(), 0);
    h.timer(3 * S);
    assert_eq!(h.carp.lsmask(), 0b01, "vhid 1 (skew 0) times out first");
    let acts = h.take();
    assert!(
        !acts.contains(&Action::GratuitousArp),
        "no gratuitous ARP when balancing"
    );
    h.timer(3 * S + 100 * S / 256);
    assert_eq!(h.carp.lsmask(), 0b11);
    assert_eq!(h.carp.link_state(), State::Master);
    assert_eq!(
        h.carp.mac(),
        [1, 0, 0x5e, 0, 1, 1],
        "ip mode: multicast MAC"
    );
}

#[test]
fn sends_have_right_fields() {
    let mut h = Host::new(cfg(42, 7, b"pw"), 1);
    h.timer(10 * S);
    let p = h.sent()[0];
    let hdr = Header::parse(255, &p).unwrap();
    assert_eq!(
        (
            hdr.version,
            hdr.typ,
            hdr.vhid,
            hdr.advskew,
            hdr.authlen,
            hdr.advbase
        ),
        (2, 1, 42, 7, 7, 1)
    );
    assert_eq!(hdr.counter, h.carp.vhes()[0].cookie());
}

#[test]
fn hmac_with_the_bsd_linklocal_of_the_virtual_mac_is_accepted() {
    // An older OpenBSD peer hashes its carp interface's link-local address,
    // derived from the virtual MAC, which a Linux BACKUP does not have
    // (addrconf adds it only with carrier): verified all the same.
    let g = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let derived = eui64_linklocal([0, 0, 0x5e, 0, 1, 1]);
    assert_eq!(
        derived,
        [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0x5e, 0xff, 0xfe, 0, 1, 1]
    );
    let key = Key::new(b"pw").unwrap();
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.set_addresses(0, &[], &[g]);
    let counter = [7; 8];
    let hdr = |hmac| vhid1_header(counter, hmac);
    let good = hmac_finish(
        &hmac_prefix(&key, 1, None, &[], &[g], &[derived], HmacContext::Orig),
        &counter,
    );
    assert_eq!(h.input(S, &hdr(good).encode(), false), Ok(()));
    // Another link-local address is not accepted.
    let other = eui64_linklocal([0, 0, 0x5e, 0, 1, 2]);
    let bad = hmac_finish(
        &hmac_prefix(&key, 1, None, &[], &[g], &[other], HmacContext::Orig),
        &counter,
    );
    assert_eq!(h.input(S, &hdr(bad).encode(), false), Err(RxError::BadAuth));
}

/// The group demotion counter the device reports (`carpctl`, the netlink
/// dump) and advertises is the one it was last given, up and down.
#[test]
fn demote_counter_follows_set_demote() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    assert_eq!(h.carp.demote(), 0);
    h.set_demote(S, 5);
    assert_eq!(h.carp.demote(), 5);
    assert_eq!(Header::parse(255, &h.advert()).unwrap().demote, 5);
    h.set_demote(2 * S, 0);
    assert_eq!(h.carp.demote(), 0);
}

/// A device without a vhid does not run, even up, with carrier and an
/// address (carp(4): CARP starts once a vhid is set): no state change, no
/// timer, and the per-packet paths see it stopped.
#[test]
fn no_vhid_is_not_running() {
    let h = Host::new(Config::default(), 1);
    assert!(!h.carp.running());
    assert!(!h.carp.snapshot().running);
    assert!(h.actions.is_empty(), "{:?}", h.actions);
    assert_eq!(h.carp.next_deadline(), None);
}

/// The leader (the first entry) decides ARP/NDP answers outside ARP
/// balancing: its state, not the device's summary state, which another
/// entry may make MASTER first.
#[test]
fn leader_state_is_the_first_entrys() {
    let mut h = Host::new(nodes(&[(1, 100), (2, 0)]), 1);
    assert_eq!(h.carp.leader_state(), State::Backup);
    h.timer(3 * S);
    // vhid 2 (skew 0) took over, vhid 1 (skew 100) not yet.
    assert_eq!(h.carp.link_state(), State::Master);
    assert_eq!(h.carp.leader_state(), State::Backup);
    h.timer(3 * S + 100 * S / 256);
    assert_eq!(h.carp.leader_state(), State::Master);
}

/// The lock-free snapshot the per-packet paths read (balancing filters,
/// ARP answers) is the device's state: which entries it is MASTER of, how
/// many there are, the balancing mode, and whether CARP runs at all.
#[test]
fn snapshot_reflects_the_device() {
    use carp_core::carp_balance::{Balancing, Snapshot};
    let mut h = Host::new(nodes(&[(1, 0), (2, 100)]), 1);
    let snap = |mask, running| Snapshot {
        mask,
        count: 2,
        mode: Balancing::Ip,
        running,
    };
    assert_eq!(h.carp.snapshot(), snap(0, true));
    h.timer(3 * S);
    assert_eq!(h.carp.snapshot(), snap(0b01, true));
    h.timer(3 * S + 100 * S / 256);
    assert_eq!(h.carp.snapshot(), snap(0b11, true));
    h.set_link(4 * S, false, true);
    assert_eq!(h.carp.snapshot(), snap(0, false));
}

/// A custom lladdr is hashed into the leader entry's HMAC only, as OpenBSD
/// does; the other entries of a carpnodes device sign without it. Each
/// entry signs and verifies by that rule, so two such devices accept each
/// other's advertisements for every entry (a wrong leader flag on either
/// side breaks authentication for the whole group).
#[test]
fn custom_lladdr_is_in_the_leaders_hmac_only() {
    let mac = [0x02, 0, 0, 0, 0, 0x42];
    let v4 = [[192, 0, 2, 1]];
    let addrs = Addrs {
        v4: &v4,
        v6: &[],
        v6ll: &[],
        lladdr: Some(mac),
    };
    let start = |c: Config, seed| {
        let mut carp = Carp::new(c, seed);
        carp.set_addresses(0, &addrs, &mut |_| {});
        let link = Link {
            up: true,
            carpdev_up: true,
        };
        carp.set_link(0, link, &addrs, &mut |_| {});
        carp
    };
    let mut a = start(nodes(&[(1, 0), (2, 0)]), 1);
    let mut b = start(nodes(&[(1, 100), (2, 100)]), 2);
    let mut sent = vec![];
    a.on_timer(3 * S, &addrs, &mut |x| {
        if let Action::Send { vhe, packet, .. } = x {
            sent.push((vhe, packet));
        }
    });
    assert_eq!(sent.len(), 2, "both entries took over");
    let key = Key::new(b"pw").unwrap();
    for (vhe, packet) in sent {
        let hdr = Header::parse(255, &packet).unwrap();
        let lladdr = (vhe == 0).then_some(&mac);
        let prefix = hmac_prefix(&key, hdr.vhid, lladdr, &v4, &[], &[], HmacContext::NoV6Ll);
        assert_eq!(
            hdr.hmac,
            hmac_finish(&prefix, &hdr.counter),
            "vhid {}",
            hdr.vhid
        );
        let r = b.input(3 * S, Family::V4, &hdr, false, &addrs, &mut |_| {});
        assert_eq!(r, Ok(()), "vhid {}", hdr.vhid);
    }
}

/// A change of the device's IPv6 link-local addresses alone (the glue then
/// calls `forget_heard`) forgets the remembered advertisement: one that
/// authenticates only with the old link-local address (a peer that hashes
/// link-local addresses, FreeBSD or older OpenBSD) is verified again and
/// refused, not accepted from the cache.
#[test]
fn a_link_local_change_reverifies_the_remembered_advertisement() {
    let ll = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let g = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let key = Key::new(b"pw").unwrap();
    let mut h = Host::new(cfg(1, 100, b"pw"), 1);
    h.set_addresses(0, &[], &[g, ll]);
    let counter = [9; 8];
    let hmac = hmac_finish(
        &hmac_prefix(&key, 1, None, &[], &[g], &[ll], HmacContext::Orig),
        &counter,
    );
    let pkt = vhid1_header(counter, hmac).encode();
    assert_eq!(h.input(S, &pkt, false), Ok(()));
    // Remembered: accepted again.
    assert_eq!(h.input(S + 1, &pkt, false), Ok(()));
    // Another link-local address, nothing else changes.
    h.v6ll = vec![[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]];
    h.carp.forget_heard();
    assert_eq!(h.input(2 * S, &pkt, false), Err(RxError::BadAuth));
}

/// Between `bow_out` and the change that stops the device, a BACKUP entry
/// does not take over either, even on a peer's bow-out: it would send an
/// ordinary advertisement from a device about to stop, and its peers
/// would wait for a master that is gone.
#[test]
fn no_takeover_between_bow_out_and_stop() {
    let bowout = advert(1, 255, 255, 0, b"pw", 2);
    let mut h = Host::new(cfg(1, 100, b"pw"), 1);
    h.take();
    let v4 = h.v4.clone();
    let addrs = v4_only(&v4);
    let mut a = vec![];
    h.carp.bow_out(&addrs, &mut |x| a.push(x));
    assert!(a.is_empty(), "a BACKUP sends no bow-out: {a:?}");
    h.input(S, &bowout, false).unwrap();
    assert_eq!(h.state(), State::Backup);
    assert!(h.take().is_empty());
    // The next change (here: down and up again) ends it: the same bow-out
    // now hands the role over.
    h.set_link(2 * S, false, true);
    h.set_link(2 * S, true, true);
    h.input(3 * S, &bowout, false).unwrap();
    assert_eq!(h.state(), State::Master);
}

/// Removing a BACKUP entry from carpnodes sends nothing for it: only a
/// MASTER bows out. A BACKUP's bow-out would make the peers' backups of
/// that vhid take over from its live MASTER.
#[test]
fn a_removed_backup_entry_does_not_bow_out() {
    let mut h = Host::new(nodes(&[(1, 0), (2, 100)]), 1);
    h.timer(3 * S);
    let states: Vec<_> = h.carp.vhes().iter().map(|v| v.state).collect();
    assert_eq!(states, [State::Master, State::Backup]);
    let v4 = h.v4.clone();
    let addrs = v4_only(&v4);
    let mut a = vec![];
    h.carp
        .set_config(3 * S + 1, nodes(&[(1, 0)]), &addrs, &mut |x| a.push(x));
    assert!(!a
        .iter()
        .any(|x| matches!(x, Action::Send { packet, .. } if packet[1] == 2)));
    assert!(a.iter().any(|x| matches!(
        x,
        Action::State {
            vhid: 2,
            new: State::Init,
            ..
        }
    )));
}

/// A family whose last address goes loses its master-down timer on a
/// BACKUP: no advertisement of that family can come any more, and the
/// stale timer would make the BACKUP take over from a live master that
/// still advertises over the other family.
#[test]
fn a_family_that_goes_loses_its_master_down_timer() {
    let g = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut b = Host::new(cfg(1, 100, b"pw"), 1);
    b.set_addresses(0, &[[192, 0, 2, 1]], &[g]);
    // IPv6 goes at 1 s; the master keeps advertising over IPv4.
    b.set_addresses(S, &[[192, 0, 2, 1]], &[]);
    let peer = Host::new(cfg(1, 0, b"pw"), 2);
    for t in 1..8 {
        b.input(t * S + S / 2, &peer.advert(), false).unwrap();
        b.timer((t + 1) * S);
        assert_eq!(b.state(), State::Backup, "at {t}.5 s");
    }
    assert_eq!(
        b.carp.next_deadline(),
        Some(7 * S + S / 2 + master_down_interval(1, 100))
    );
}

/// Only a MASTER leader announces address changes (gratuitous ARP,
/// unsolicited NA): a BACKUP does not own the addresses, and announcing
/// them would draw the traffic away from the MASTER.
#[test]
fn a_backup_does_not_announce_address_changes() {
    let g = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut b = Host::new(cfg(1, 100, b"pw"), 2);
    b.take();
    b.set_addresses(S, &[[192, 0, 2, 1], [192, 0, 2, 3]], &[g]);
    assert_eq!(b.state(), State::Backup);
    let acts = b.take();
    assert!(
        !acts
            .iter()
            .any(|x| matches!(x, Action::GratuitousArp | Action::UnsolicitedNa)),
        "{acts:?}"
    );
}

/// Address changes are announced at most once per [`ANNOUNCE_INTERVAL`]:
/// a change exactly one interval after the last announcement is
/// announced at once, not held back for the next advertisement.
#[test]
fn an_announcement_exactly_one_interval_later_goes_at_once() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    h.timer(4 * S);
    h.timer(5 * S); // (the takeover's second gratuitous ARP)
    h.take();
    let garps = |a: &[Action]| a.iter().filter(|x| **x == Action::GratuitousArp).count();
    let t = 5 * S + S / 2;
    h.set_addresses(t, &[[192, 0, 2, 1], [192, 0, 2, 2]], &[]);
    assert_eq!(garps(&h.take()), 1);
    let v4 = [[192, 0, 2, 1], [192, 0, 2, 2], [192, 0, 2, 3]];
    h.set_addresses(t + ANNOUNCE_INTERVAL, &v4, &[]);
    assert_eq!(garps(&h.take()), 1, "announced at once");
}

/// Only a rising demotion counter makes a MASTER advertise at once: the
/// same value given again changes nothing, sends nothing and keeps the
/// advertisement timer.
#[test]
fn an_unchanged_demotion_sends_nothing() {
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    assert_eq!(h.state(), State::Master);
    let next = h.carp.next_deadline();
    assert!(h.set_demote(3 * S + S / 2, 0).is_empty());
    assert_eq!(h.carp.next_deadline(), next);
    assert_eq!(h.set_demote(3 * S + S / 2, 2).len(), 1, "a rise is sent");
    let next = h.carp.next_deadline();
    assert!(h.set_demote(3 * S + 3 * S / 4, 2).is_empty());
    assert_eq!(h.carp.next_deadline(), next);
}

/// The remembered advertisement skips the HMAC only for the same counter
/// and the same HMAC: a packet that copies a verified HMAC under another
/// counter is verified, and refused. (Otherwise whoever heard one
/// advertisement could forge others, with a better skew or a lower
/// demotion, which the HMAC does not cover.)
#[test]
fn a_copied_hmac_under_another_counter_is_refused() {
    let mut h = Host::new(cfg(1, 100, b"pw"), 1);
    let good = advert(1, 1, 200, 0, b"pw", 2);
    h.input(S, &good, false).unwrap();
    let mut forged = Header::parse(255, &good).unwrap();
    forged.counter[0] ^= 0x80;
    forged.advskew = 0;
    assert_eq!(
        h.input(S + 1, &forged.encode(), false),
        Err(RxError::BadAuth)
    );
    assert_eq!(h.input(S + 2, &good, false), Ok(()));
}

/// A MASTER compares demotion counters before speeds (carp(4) group
/// failover): it keeps the role against a faster but more demoted
/// advertisement, and hands it to a less demoted one however slow.
#[test]
fn master_compares_demotion_before_speed() {
    let mut h = Host::new(cfg(1, 100, b"pw"), 1);
    h.timer(10 * S);
    assert_eq!(h.state(), State::Master);
    // advskew 0 (faster than our 100), demote 1.
    let mut x = Header::parse(255, &advert(1, 1, 0, 0, b"pw", 2)).unwrap();
    x.demote = 1;
    h.input(10 * S, &x.encode(), false).unwrap();
    assert_eq!(h.state(), State::Master, "more demoted: ignored");
    // A demoted MASTER (advertising skew 240) and an undemoted peer with
    // advbase 2: slower, but less demoted.
    let mut h = Host::new(cfg(1, 0, b"pw"), 1);
    h.timer(3 * S);
    h.set_demote(3 * S, 1);
    h.take();
    h.input(4 * S, &advert(1, 2, 0, 0, b"pw", 2), false)
        .unwrap();
    assert_eq!(h.state(), State::Backup);
    assert!(h.take().iter().any(|a| matches!(
        a,
        Action::State {
            new: State::Backup,
            reason: Reason::BetterMaster,
            ..
        }
    )));
}

/// Only advbase and advskew both 255 is a bow-out. An advertisement with
/// advskew 255 alone (valid on the wire) is an ordinary one, slower than
/// ours, which a BACKUP without preempt does not take over from; one with
/// advbase 255 alone is taken over as a master too slow, and says so.
#[test]
fn only_both_255_is_a_bow_out() {
    let base = Header::parse(255, &advert(1, 1, 0, 0, b"pw", 2)).unwrap();
    let mut b = Host::new(cfg(1, 100, b"pw"), 1);
    let x = Header {
        advskew: 255,
        ..base
    };
    b.input(S, &x.encode(), false).unwrap();
    assert_eq!(b.state(), State::Backup);
    assert_eq!(
        b.carp.next_deadline(),
        Some(S + master_down_interval(1, 100))
    );
    let mut b = Host::new(cfg(1, 100, b"pw"), 1);
    b.take();
    let x = Header {
        advbase: 255,
        ..base
    };
    b.input(S, &x.encode(), false).unwrap();
    assert!(became_master(&b.take(), Reason::MasterTooSlow));
}

/// Preemption takes over only from a strictly slower master: with equal
/// advbase and advskew the current master keeps the role, so two equally
/// configured preempting hosts do not take it from each other.
#[test]
fn preempt_needs_a_strictly_slower_master() {
    let mut b = Host::new(cfg(1, 50, b"pw"), 1);
    b.input(S, &advert(1, 1, 50, 0, b"pw", 2), true).unwrap();
    assert_eq!(b.state(), State::Backup);
    b.take();
    b.input(2 * S, &advert(1, 1, 51, 0, b"pw", 2), true)
        .unwrap();
    assert!(became_master(&b.take(), Reason::Preempt));
}

/// A BACKUP takes over from a master too slow to keep it down only when
/// that master's interval exceeds its own master-down interval (3 x
/// advbase + advskew/256): a master advertising exactly that often still
/// holds the role.
#[test]
fn master_too_slow_boundary() {
    let mut b = Host::new(cfg(1, 0, b"pw"), 1);
    b.input(S, &advert(1, 3, 0, 0, b"pw", 2), false).unwrap();
    assert_eq!(b.state(), State::Backup, "3 s: exactly master-down");
    let mut b = Host::new(cfg(1, 0, b"pw"), 1);
    b.take();
    b.input(S, &advert(1, 3, 1, 0, b"pw", 2), false).unwrap();
    assert!(became_master(&b.take(), Reason::MasterTooSlow));
}
