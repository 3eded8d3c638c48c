// SPDX-License-Identifier: GPL-2.0

//! `carpctl hooks`: runs the executables of a hook directory on every state
//! change of every virtual host entry, as keepalived's notify scripts and
//! ucarp's up/down scripts are run.
//!
//! - One worker thread per entry (device, vhid) runs its changes one at a
//!   time and in order; entries do not wait for each other.
//! - Every executable of the directory runs in name order (run-parts'
//!   names: letters, digits, `_` and `-`), with keepalived's arguments
//!   `INSTANCE NAME STATE PRIORITY` and the change in `CARP_*` variables.
//! - A hook that runs longer than the timeout is killed (its process group:
//!   SIGTERM, SIGKILL 2 s later) and logged; a failing hook is logged; the
//!   next hook runs either way.
//! - The current state of every entry is replayed at start (subscribed
//!   before the dump: nothing falls between). After a netlink overrun the
//!   socket is drained and the state dumped again: an entry whose state
//!   differs from the one its hooks got last gets a change, so the last
//!   state is never lost. A change equal to the one its hooks got last is
//!   not run twice; a change whose old state is not the one its hooks got
//!   last (queued before a dump, or after a lost change) is not run but
//!   starts a dump. An entry gone while changes were lost gets INIT
//!   (reason `gone`).
//! - When the module is unloaded, the supervisor waits (it does not load
//!   it again) and resynchronises when it is back.

use crate::child::{self, Outcome};
use crate::nl::{self, a, cmd, Attr, Attrs, Carp, Error, Event, Events};
use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// The hook directory when none is given.
pub const DEFAULT_DIR: &str = "/etc/carp/hooks.d";

/// How long a hook may run when no `--timeout` is given (keepalived's
/// default for its scripts' `timeout` is the same order: seconds, not
/// minutes).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// `carpctl hooks`' command line.
#[derive(Debug, PartialEq, Clone)]
pub struct Options {
    pub dir: PathBuf,
    pub timeout: Duration,
    /// ucarp's `--upscript`: run with `IFNAME` on becoming MASTER.
    pub up: Option<PathBuf>,
    /// ucarp's `--downscript`: run with `IFNAME` on leaving MASTER (and at
    /// start for an entry that is not MASTER, as ucarp does).
    pub down: Option<PathBuf>,
    /// The event socket's receive buffer (SO_RCVBUF), if not the system's.
    pub rcvbuf: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dir: DEFAULT_DIR.into(),
            timeout: DEFAULT_TIMEOUT,
            up: None,
            down: None,
            rcvbuf: None,
        }
    }
}

/// Parses `hooks`' arguments (after the word).
pub fn parse(args: &mut impl Iterator<Item = String>) -> Result<Options, Error> {
    let mut o = Options::default();
    let mut dir = None;
    while let Some(w) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .ok_or_else(|| Error(format!("hooks: {w} needs {what}")))
        };
        match w.as_str() {
            "-t" | "--timeout" => {
                let v = value("a number of seconds")?;
                let s: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 86400.0)
                    .ok_or_else(|| {
                        Error(format!(
                            "hooks: timeout '{v}' is not a number of seconds (0 < T <= 86400)"
                        ))
                    })?;
                o.timeout = Duration::from_secs_f64(s);
            }
            "--up" => o.up = Some(value("a file")?.into()),
            "--down" => o.down = Some(value("a file")?.into()),
            "--rcvbuf" => {
                let v = value("a number of bytes")?;
                o.rcvbuf = Some(
                    v.parse()
                        .ok()
                        .filter(|b| (1..=1 << 30).contains(b))
                        .ok_or_else(|| {
                            Error(format!("hooks: rcvbuf '{v}' is not a number of bytes"))
                        })?,
                );
            }
            _ if w.starts_with('-') => {
                return Err(Error(format!(
                    "hooks: unknown option '{w}' (see carpctl --help)"
                )))
            }
            _ if dir.is_none() => dir = Some(PathBuf::from(w)),
            _ => {
                return Err(Error(format!(
                    "hooks: unexpected '{w}' (see carpctl --help)"
                )))
            }
        }
    }
    if let Some(d) = dir {
        o.dir = d;
    }
    Ok(o)
}

/// One state change to run the hooks for.
#[derive(Debug, Clone)]
struct Change {
    ifname: String,
    vhid: u32,
    /// `None` when replayed at start.
    old: Option<u32>,
    state: u32,
    reason: String,
    advskew: Option<u32>,
    carpdev: Option<String>,
}

/// keepalived's state words: carp's INIT (device or carpdev down) is its
/// FAULT.
fn keepalived_state(s: u32) -> &'static str {
    match s {
        2 => "MASTER",
        1 => "BACKUP",
        _ => "FAULT",
    }
}

/// The hooks of `dir` in the order they run: executable regular files
/// (symbolic links followed) with run-parts' names, sorted by name.
pub fn hooks_in(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error(format!("{}: {e}", dir.display())))?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            !n.is_empty()
                && n.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        })
        .map(|e| e.path())
        .filter(|p| executable(p))
        .collect();
    v.sort();
    Ok(v)
}

fn executable(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs every hook for one change, in order; logs what did not work.
fn run_change(o: &Options, c: &Change) {
    let state = nl::state_name(c.state);
    let old = c.old.map(nl::state_name).unwrap_or("");
    let ka = keepalived_state(c.state);
    // VRRP's priority: higher is preferred, as advskew's opposite.
    let prio = c.advskew.map(|s| 255u32.saturating_sub(s)).unwrap_or(0);
    let env = [
        ("CARP_IFNAME", c.ifname.clone()),
        ("CARP_VHID", c.vhid.to_string()),
        ("CARP_STATE", state.to_string()),
        ("CARP_OLD_STATE", old.to_string()),
        ("CARP_REASON", c.reason.clone()),
        (
            "CARP_ADVSKEW",
            c.advskew.map(|s| s.to_string()).unwrap_or_default(),
        ),
        ("CARP_CARPDEV", c.carpdev.clone().unwrap_or_default()),
    ];
    let what = if c.old.is_some() {
        format!(
            "{} vhid {}: {old} -> {state} ({})",
            c.ifname, c.vhid, c.reason
        )
    } else {
        format!("{} vhid {}: {state} ({})", c.ifname, c.vhid, c.reason)
    };
    eprintln!("{what}");
    let mut runs: Vec<(PathBuf, Vec<String>)> = Vec::new();
    let was_master = c.old == Some(2);
    if c.state == 2 {
        runs.extend(o.up.iter().map(|p| (p.clone(), vec![c.ifname.clone()])));
    } else if was_master || c.old.is_none() {
        runs.extend(o.down.iter().map(|p| (p.clone(), vec![c.ifname.clone()])));
    }
    match hooks_in(&o.dir) {
        Ok(hooks) => runs.extend(hooks.into_iter().map(|p| {
            (
                p,
                vec![
                    "INSTANCE".into(),
                    c.ifname.clone(),
                    ka.into(),
                    prio.to_string(),
                ],
            )
        })),
        Err(e) => eprintln!("{what}: {e}"),
    }
    for (prog, args) in runs {
        let mut cmd = Command::new(&prog);
        cmd.args(&args).envs(env.iter().map(|(k, v)| (k, v)));
        match child::run(&mut cmd, o.timeout) {
            Outcome::Ok => {}
            Outcome::Failed(why) => eprintln!("{what}: {} {why}", prog.display()),
            Outcome::TimedOut => eprintln!(
                "{what}: {} timed out after {} s: killed",
                prog.display(),
                o.timeout.as_secs_f64()
            ),
        }
    }
}

fn worker(o: Arc<Options>, rx: Receiver<Change>) {
    for c in rx {
        run_change(&o, &c);
    }
}

/// What is known of a device: its name, carpdev and entries' advskews.
#[derive(Default, Clone)]
struct Dev {
    carpdev: Option<String>,
    advskew: HashMap<u32, u32>,
}

struct Supervisor {
    carp: Carp,
    opts: Arc<Options>,
    /// The state each entry's hooks got last, by (ifindex, vhid).
    last: HashMap<(u32, u32), u32>,
    workers: HashMap<(u32, u32), Sender<Change>>,
    devs: HashMap<u32, Dev>,
    /// Device names by ifindex, for entries that are gone.
    names: HashMap<u32, String>,
}

impl Supervisor {
    fn dev_of(d: &Attrs) -> Dev {
        let mut advskew = HashMap::new();
        for n in d.all(a::NODE).map(Attrs::parse) {
            if let (Some(v), Some(s)) = (n.u32(nl::node::VHID), n.u32(nl::node::ADVSKEW)) {
                advskew.insert(v, s);
            }
        }
        Dev {
            carpdev: d.u32(a::CARPDEV).map(crate::ifname_of),
            advskew,
        }
    }

    fn dispatch(&mut self, key: (u32, u32), c: Change) {
        self.last.insert(key, c.state);
        let opts = &self.opts;
        let tx = self.workers.entry(key).or_insert_with(|| {
            let (tx, rx) = channel();
            let o = Arc::clone(opts);
            thread::spawn(move || worker(o, rx));
            tx
        });
        // The worker lives as long as its sender: send cannot fail.
        let _ = tx.send(c);
    }

    /// Dumps every device; runs a change for each entry whose state is not
    /// the one its hooks got last, and INIT (reason `gone`) for an entry
    /// that is no more (deleted while changes were lost), whose worker then
    /// ends.
    fn resync(&mut self, reason: &str) -> Result<(), Error> {
        let devs = self.carp.request(cmd::DEV_GET, vec![], true)?;
        let mut seen = std::collections::HashSet::new();
        for d in &devs {
            let Some(ifindex) = d.u32(a::IFINDEX) else {
                continue;
            };
            for n in d.all(a::NODE).map(Attrs::parse) {
                if let Some(vhid) = n.u32(nl::node::VHID) {
                    seen.insert((ifindex, vhid));
                }
            }
        }
        let gone: Vec<((u32, u32), u32)> = self
            .last
            .iter()
            .filter(|(k, _)| !seen.contains(*k))
            .map(|(k, v)| (*k, *v))
            .collect();
        for (key, state) in gone {
            if state != 0 {
                let c = Change {
                    ifname: self.names.get(&key.0).cloned().unwrap_or_default(),
                    vhid: key.1,
                    old: Some(state),
                    state: 0,
                    reason: "gone".into(),
                    advskew: None,
                    carpdev: None,
                };
                self.dispatch(key, c);
            }
            self.last.remove(&key);
            self.workers.remove(&key);
        }
        for d in devs {
            let (Some(ifindex), Some(ifname)) = (d.u32(a::IFINDEX), d.string(a::IFNAME)) else {
                continue;
            };
            let dev = Self::dev_of(&d);
            self.devs.insert(ifindex, dev.clone());
            self.names.insert(ifindex, ifname.clone());
            for n in d.all(a::NODE).map(Attrs::parse) {
                let (Some(vhid), Some(state)) = (n.u32(nl::node::VHID), n.u32(nl::node::STATE))
                else {
                    continue;
                };
                let key = (ifindex, vhid);
                let old = self.last.get(&key).copied();
                if old == Some(state) {
                    continue;
                }
                let c = Change {
                    ifname: ifname.clone(),
                    vhid,
                    old,
                    state,
                    reason: reason.into(),
                    advskew: dev.advskew.get(&vhid).copied(),
                    carpdev: dev.carpdev.clone(),
                };
                self.dispatch(key, c);
            }
        }
        Ok(())
    }

    /// One `state-ntf`. Returns whether the states must be dumped again:
    /// a change whose old state is not the one the entry's hooks got last
    /// is older than a dump already run (queued before it), or follows a
    /// change that was lost; it is not run.
    fn change(&mut self, ev: &Attrs) -> bool {
        let (Some(ifindex), Some(vhid), Some(state)) =
            (ev.u32(a::IFINDEX), ev.u32(a::VHID), ev.u32(a::STATE))
        else {
            return false;
        };
        let key = (ifindex, vhid);
        let last = self.last.get(&key).copied();
        if last == Some(state) {
            return false;
        }
        if let (Some(l), Some(o)) = (last, ev.u32(a::OLD_STATE)) {
            if l != o {
                return true;
            }
        }
        let ifname = ev.string(a::IFNAME).unwrap_or_default();
        self.names.insert(ifindex, ifname.clone());
        // The entry's advskew and carpdev (the event does not carry them):
        // asked the first time, then as the last dump or request had them
        // (no request per event: the reader must keep up with bursts).
        let known = self
            .devs
            .get(&ifindex)
            .is_some_and(|d| d.advskew.contains_key(&vhid));
        if !known {
            let r = self
                .carp
                .request(cmd::DEV_GET, vec![Attr::string(a::IFNAME, &ifname)], false);
            if let Some(d) = r.ok().as_ref().and_then(|r| r.first()) {
                if d.u32(a::IFINDEX) == Some(ifindex) {
                    self.devs.insert(ifindex, Self::dev_of(d));
                }
            }
        }
        let dev = self.devs.get(&ifindex).cloned().unwrap_or_default();
        let reason = ev
            .u32(a::REASON)
            .and_then(|r| nl::REASONS.get(r as usize).copied())
            .unwrap_or("unknown");
        let c = Change {
            ifname,
            vhid,
            old: Some(
                self.last
                    .get(&key)
                    .copied()
                    .or(ev.u32(a::OLD_STATE))
                    .unwrap_or(0),
            ),
            state,
            reason: reason.into(),
            advskew: dev.advskew.get(&vhid).copied(),
            carpdev: dev.carpdev,
        };
        self.dispatch(key, c);
        false
    }
}

/// Runs the supervisor (until an error).
pub fn run(o: Options) -> Result<(), Error> {
    if !o.dir.is_dir() {
        return Err(Error(format!(
            "hooks: {}: not a directory",
            o.dir.display()
        )));
    }
    for p in o.up.iter().chain(o.down.iter()) {
        if !executable(p) {
            return Err(Error(format!(
                "hooks: {}: not an executable file",
                p.display()
            )));
        }
    }
    let mut s = Supervisor {
        carp: Carp::open()?,
        opts: Arc::new(o),
        last: HashMap::new(),
        workers: HashMap::new(),
        devs: HashMap::new(),
        names: HashMap::new(),
    };
    let mut reason = "replay";
    loop {
        let events = Events::open(&s.carp)?;
        if let Some(b) = s.opts.rcvbuf {
            events.set_rcvbuf(b)?;
        }
        // Whether a dump is owed (the last one failed), and whether the
        // family went away.
        let mut stale = false;
        let mut gone = false;
        if let Err(e) = s.resync(reason) {
            eprintln!("dumping the states failed: {e}");
            stale = true;
        }
        // Until the family goes and comes back.
        'family: loop {
            // Every 10 s without events while a dump is owed or the family
            // is gone: the controller's notifications may have been lost
            // in an overrun too; ask it (a dump: no module load).
            let wait = if stale || gone {
                Duration::from_secs(10)
            } else {
                Duration::from_secs(3600)
            };
            let got = events.next(wait)?;
            if got.is_empty() && (stale || gone) {
                match s.carp.family_now() {
                    Ok(Some(id)) if id != events.family() || gone => break 'family,
                    Ok(None) if !gone => {
                        eprintln!("the carp family is gone (module unloaded): waiting for it");
                        gone = true;
                    }
                    _ => {}
                }
            }
            let mut pending: VecDeque<Event> = got.into();
            while let Some(ev) = pending.pop_front() {
                match ev {
                    Event::Change(at) if !gone => stale |= s.change(&at),
                    Event::Change(_) => {}
                    Event::Overrun => {
                        eprintln!(
                            "netlink overrun: state changes were lost; resynchronising from a dump"
                        );
                        // The family's comings and goings are kept.
                        pending.extend(events.drain()?);
                        stale = true;
                    }
                    Event::FamilyGone => {
                        eprintln!("the carp family is gone (module unloaded): waiting for it");
                        gone = true;
                    }
                    Event::FamilyBack if gone => break 'family,
                    Event::FamilyBack => {}
                }
            }
            if stale && !gone {
                match s.resync("resync") {
                    Ok(()) => stale = false,
                    Err(e) => eprintln!("dumping the states failed: {e}; again in 10 s"),
                }
            }
        }
        eprintln!("the carp family is back (module loaded): resynchronising");
        s.carp = Carp::open()?;
        reason = "resync";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Options, Error> {
        parse(&mut s.split_whitespace().map(String::from))
    }

    #[test]
    fn options() {
        assert_eq!(p("").unwrap(), Options::default());
        let o = p("-t 2.5 --up /u --down /d --rcvbuf 4096 /x").unwrap();
        assert_eq!(o.dir, PathBuf::from("/x"));
        assert_eq!(o.timeout, Duration::from_millis(2500));
        assert_eq!(o.up, Some("/u".into()));
        assert_eq!(o.down, Some("/d".into()));
        assert_eq!(o.rcvbuf, Some(4096));
        for bad in [
            "-t 0",
            "-t x",
            "-t",
            "--up",
            "--bogus",
            "/a /b",
            "--rcvbuf 0",
        ] {
            let e = p(bad).unwrap_err().0;
            assert!(e.starts_with("hooks: "), "{bad}: {e}");
        }
    }

    #[test]
    fn states_as_keepalived_says_them() {
        assert_eq!(keepalived_state(2), "MASTER");
        assert_eq!(keepalived_state(1), "BACKUP");
        assert_eq!(keepalived_state(0), "FAULT");
    }

    #[test]
    fn hooks_in_order_with_run_parts_names() {
        let d = std::env::temp_dir().join(format!("carpctl-hooks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        for (n, mode) in [
            ("20-b", 0o755),
            ("10-a", 0o700),
            ("30-c.dpkg-old", 0o755),
            ("40-d", 0o644),
            ("05_z", 0o755),
        ] {
            let f = d.join(n);
            std::fs::write(&f, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        std::fs::create_dir(d.join("50-dir")).unwrap();
        let names: Vec<String> = hooks_in(&d)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["05_z", "10-a", "20-b"]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
