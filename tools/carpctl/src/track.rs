// SPDX-License-Identifier: GPL-2.0

//! `carpctl track`: health tracking that demotes the carp group, as
//! keepalived's `track_interface`, `track_script`, `track_file` and
//! `track_process` lower a VRRP instance's priority.
//!
//! One file (default `/etc/carp/track.conf`), one check per line:
//!
//! ```text
//! interface eth1                     weight 50
//! script "/usr/local/bin/check-web" interval 2 timeout 1 rise 2 fall 3 weight 50
//! file /run/deploy/carp-drain       weight 1
//! process haproxy                    weight 50
//! ```
//!
//! - `interface IF` fails while IF is not up and running (administratively
//!   up with a carrier), in the tracker's network namespace.
//! - `script CMD` (run by `/bin/sh -c`) fails when it exits non-zero or
//!   runs longer than its timeout (killed with its process group).
//! - `file PATH` demotes by weight × N, N the integer the file holds (0
//!   when it is missing or empty), as keepalived's track_file.
//! - `process NAME` fails while no process has the command name NAME.
//!
//! A check changes to failed after `fall` failing probes in a row and back
//! after `rise` good ones (both 1 by default); probes run every `interval`
//! seconds (2), each check in its own thread. The tracker's part of the
//! demotion is the sum of the weights of the failed checks (at most 255);
//! it changes the group's userspace part by the difference
//! (`demote-adjust`, as `carpctl demote carp +N`), so an administrator's
//! own demotion adds to it. It records its part in `/run/carp/track.demote`
//! and keeps it when it stops (SIGTERM: a restart, an upgrade, shutdown);
//! a tracker that starts adopts what the last one left (no more than the
//! kernel still has) and keeps it until each of its checks has been probed
//! once, so that an unhealthy host never looks healthy in between.
//! `--release` takes a stopped tracker's part back.

use crate::child;
use crate::nl::{cmd, group, Attr, Carp, Error};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::thread;
use std::time::{Duration, Instant};

pub const DEFAULT_CONF: &str = "/etc/carp/track.conf";
pub const DEFAULT_STATE: &str = "/run/carp/track.demote";

/// `track`'s command line.
#[derive(Debug, PartialEq, Clone)]
pub struct Options {
    pub conf: PathBuf,
    pub state: PathBuf,
    /// Parse the file, print the checks, exit (`--check`).
    pub check_only: bool,
    /// Take back what a stopped tracker left, exit (`--release`).
    pub release: bool,
}

pub fn parse_args(args: &mut impl Iterator<Item = String>) -> Result<Options, Error> {
    let mut o = Options {
        conf: DEFAULT_CONF.into(),
        state: DEFAULT_STATE.into(),
        check_only: false,
        release: false,
    };
    let mut conf = None;
    while let Some(w) = args.next() {
        match w.as_str() {
            "--check" => o.check_only = true,
            "--release" => o.release = true,
            "--state" => {
                o.state = args
                    .next()
                    .ok_or_else(|| Error("track: --state needs a file".into()))?
                    .into()
            }
            _ if w.starts_with('-') => {
                return Err(Error(format!(
                    "track: unknown option '{w}' (see carpctl --help)"
                )))
            }
            _ if conf.is_none() => conf = Some(PathBuf::from(w)),
            _ => {
                return Err(Error(format!(
                    "track: unexpected '{w}' (see carpctl --help)"
                )))
            }
        }
    }
    if let Some(c) = conf {
        o.conf = c;
    }
    Ok(o)
}

/// What a check looks at.
#[derive(Debug, PartialEq, Clone)]
pub enum Kind {
    Interface(String),
    Script(String),
    File(PathBuf),
    Process(String),
}

/// One line of the file.
#[derive(Debug, PartialEq, Clone)]
pub struct Check {
    pub kind: Kind,
    pub weight: u32,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    /// The line number, for messages.
    pub line: usize,
}

impl Check {
    fn name(&self) -> String {
        match &self.kind {
            Kind::Interface(i) => format!("interface {i}"),
            Kind::Script(s) => format!("script \"{s}\""),
            Kind::File(f) => format!("file {}", f.display()),
            Kind::Process(p) => format!("process {p}"),
        }
    }
}

/// Splits a line into words; a word in double quotes may hold spaces.
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut it = line.chars().peekable();
    loop {
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        match it.peek() {
            None | Some('#') => return Ok(out),
            Some('"') => {
                it.next();
                let mut w = String::new();
                loop {
                    match it.next() {
                        Some('"') => break,
                        Some(c) => w.push(c),
                        None => return Err("a quote is not closed".into()),
                    }
                }
                out.push(w);
            }
            Some(_) => {
                let mut w = String::new();
                while let Some(&c) = it.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    w.push(c);
                    it.next();
                }
                out.push(w);
            }
        }
    }
}

fn seconds(v: &str) -> Option<Duration> {
    let s: f64 = v.parse().ok()?;
    (s.is_finite() && s > 0.0 && s <= 3600.0).then(|| Duration::from_secs_f64(s))
}

/// Parses the configuration file's text; errors name the line.
pub fn parse_conf(text: &str) -> Result<Vec<Check>, Error> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let n = i + 1;
        let bad = |m: String| Error(format!("track: line {n}: {m}"));
        let w = words(l).map_err(bad)?;
        let Some((kind, rest)) = w.split_first() else {
            continue;
        };
        let Some((arg, opts)) = rest.split_first() else {
            return Err(bad(format!("'{kind}' needs what it tracks")));
        };
        let kind = match kind.as_str() {
            "interface" => Kind::Interface(arg.clone()),
            "script" => Kind::Script(arg.clone()),
            "file" => Kind::File(arg.into()),
            "process" if arg.len() > 15 => {
                return Err(bad(format!(
                    "process '{arg}': a command name has at most 15 characters (/proc/PID/comm)"
                )))
            }
            "process" => Kind::Process(arg.clone()),
            k => {
                return Err(bad(format!(
                    "unknown check '{k}' (interface, script, file or process)"
                )))
            }
        };
        let mut c = Check {
            kind,
            weight: 1,
            interval: Duration::from_secs(2),
            timeout: Duration::ZERO,
            rise: 1,
            fall: 1,
            line: n,
        };
        let mut it = opts.iter();
        while let Some(k) = it.next() {
            let v = it
                .next()
                .ok_or_else(|| bad(format!("'{k}' needs a value")))?;
            let count = |max: u32| {
                v.parse::<u32>()
                    .ok()
                    .filter(|x| (1..=max).contains(x))
                    .ok_or_else(|| bad(format!("{k} '{v}' is not 1..{max}")))
            };
            match k.as_str() {
                "weight" => c.weight = count(255)?,
                "rise" => c.rise = count(1000)?,
                "fall" => c.fall = count(1000)?,
                "interval" | "timeout" => {
                    let d = seconds(v)
                        .ok_or_else(|| bad(format!("{k} '{v}' is not 0 < seconds <= 3600")))?;
                    if k == "interval" {
                        c.interval = d;
                    } else {
                        c.timeout = d;
                    }
                }
                _ => {
                    return Err(bad(format!(
                        "unknown option '{k}' (weight, interval, timeout, rise, fall)"
                    )))
                }
            }
        }
        if c.timeout.is_zero() {
            c.timeout = c.interval;
        }
        if c.timeout != c.interval && !matches!(c.kind, Kind::Script(_)) {
            return Err(bad("timeout is a script's option".into()));
        }
        out.push(c);
    }
    Ok(out)
}

/// Up and running (administratively up, with a carrier), in the caller's
/// network namespace.
fn interface_ok(name: &str) -> bool {
    let flags = crate::if_flags(name);
    flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0
}

/// The integer a tracked file holds (0: missing or empty); `None` when it
/// holds something else.
fn file_value(p: &Path) -> Option<u32> {
    match std::fs::read_to_string(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(0),
        Err(_) => None,
        Ok(s) if s.trim().is_empty() => Some(0),
        Ok(s) => s.trim().parse::<i64>().ok().map(|v| v.clamp(0, 255) as u32),
    }
}

fn process_running(name: &str) -> bool {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return false;
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .any(|e| {
            std::fs::read_to_string(e.path().join("comm"))
                .map(|c| c.trim_end_matches('\n') == name)
                .unwrap_or(false)
        })
}

/// Runs a script check: exit 0 within the timeout.
fn script_ok(cmdline: &str, timeout: Duration) -> bool {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(cmdline).stdout(Stdio::null());
    child::run(&mut cmd, timeout) == child::Outcome::Ok
}

/// One probe: the demotion it asks for right now (0: healthy).
fn probe(c: &Check) -> u32 {
    match &c.kind {
        Kind::Interface(i) => u32::from(!interface_ok(i)) * c.weight,
        Kind::Script(s) => u32::from(!script_ok(s, c.timeout)) * c.weight,
        Kind::Process(p) => u32::from(!process_running(p)) * c.weight,
        Kind::File(f) => file_value(f).map_or(c.weight, |n| n.saturating_mul(c.weight)),
    }
}

/// A check's state: what it demotes by, after rise/fall.
#[derive(Debug, Default)]
struct State {
    /// The demotion in force for this check.
    demote: u32,
    /// The last probe's demotion and how many probes in a row gave it.
    last: u32,
    streak: u32,
    started: bool,
}

impl State {
    /// Takes a probe's result; returns whether the demotion changed.
    fn update(&mut self, c: &Check, d: u32) -> bool {
        if d == self.last {
            self.streak = self.streak.saturating_add(1);
        } else {
            self.last = d;
            self.streak = 1;
        }
        // The first probe decides at once; later changes need rise good
        // probes or fall bad ones in a row.
        let need = if d < self.demote { c.rise } else { c.fall };
        if self.demote != d && (!self.started || self.streak >= need) {
            self.demote = d;
            self.started = true;
            return true;
        }
        self.started = true;
        false
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

/// Tells systemd the tracker is ready (`READY=1` to `$NOTIFY_SOCKET`, as
/// sd_notify(3) does); nothing without it.
fn notify_ready() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let path = path.to_string_lossy().into_owned();
    let addr = match path.strip_prefix('@') {
        Some(abs) => SocketAddr::from_abstract_name(abs.as_bytes()),
        None => SocketAddr::from_pathname(&path),
    };
    let sent = addr.and_then(|a| UnixDatagram::unbound()?.send_to_addr(b"READY=1", &a));
    if let Err(e) = sent {
        eprintln!("telling systemd the tracker is ready: {e}");
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// The part a tracker recorded in `state`.
fn recorded(state: &Path) -> i32 {
    std::fs::read_to_string(state)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .unwrap_or(0)
        .clamp(0, 255)
}

pub fn run(o: Options) -> Result<(), Error> {
    if o.release {
        let mut carp = Carp::open()?;
        let left = recorded(&o.state).min(carp.user_demotion()? as i32);
        let d = carp
            .adjust_user_demotion(-left)
            .map_err(|e| Error(format!("track: group carp: {e}")))?;
        let _ = std::fs::remove_file(&o.state);
        println!("track: took back the demotion of {}", -d);
        return Ok(());
    }
    let text = std::fs::read_to_string(&o.conf)
        .map_err(|e| Error(format!("track: {}: {e}", o.conf.display())))?;
    let checks = parse_conf(&text)?;
    if o.check_only {
        for c in &checks {
            println!(
                "line {}: {} weight {} interval {} s rise {} fall {}",
                c.line,
                c.name(),
                c.weight,
                c.interval.as_secs_f64(),
                c.rise,
                c.fall
            );
        }
        return Ok(());
    }
    let mut carp = Carp::open()?;
    // May it demote? (A change by 0: refused without CAP_NET_ADMIN.)
    carp.request(
        cmd::GROUP_SET,
        vec![
            Attr::string(group::NAME, "carp"),
            Attr::bytes(group::DEMOTE_ADJUST, &0i32.to_ne_bytes()),
        ],
        false,
    )
    .map_err(|e| Error(format!("track: group carp: {e}")))?;
    // What a tracker that was killed (or is being restarted) left: adopted,
    // and kept until every check has been probed once, so that a restart
    // leaves no moment without it.
    let mut applied = recorded(&o.state).min(carp.user_demotion()? as i32);
    if applied > 0 {
        eprintln!("adopted the demotion of {applied} a previous tracker left");
    }
    crate::file::record(&o.state, applied);
    let handler = on_signal as extern "C" fn(libc::c_int) as *const () as libc::sighandler_t;
    // SAFETY: `on_signal` only stores to an atomic (async-signal-safe).
    unsafe {
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGINT, handler);
    }
    let (tx, rx) = channel::<(usize, u32)>();
    for (i, c) in checks.iter().enumerate() {
        let c = c.clone();
        let tx: Sender<(usize, u32)> = tx.clone();
        thread::spawn(move || loop {
            let start = Instant::now();
            if tx.send((i, probe(&c))).is_err() {
                return;
            }
            thread::sleep(c.interval.saturating_sub(start.elapsed()));
        });
    }
    eprintln!(
        "tracking {} check{}",
        checks.len(),
        if checks.len() == 1 { "" } else { "s" }
    );
    let mut states: Vec<State> = checks.iter().map(|_| State::default()).collect();
    let mut verified = Instant::now();
    let mut ready = false;
    while !STOP.load(Ordering::SeqCst) {
        // Every 5 s: does the kernel still have our part? A module reload
        // (the request fails: exit, systemd restarts the tracker) or
        // `carpctl demote carp 0` (made again below) took it.
        if verified.elapsed() >= Duration::from_secs(5) {
            verified = Instant::now();
            let k = carp
                .user_demotion()
                .map_err(|e| Error(format!("track: group carp: {e}")))? as i32;
            if k < applied {
                eprintln!(
                    "group carp's demotion from userspace is {k}, below the tracker's {applied}: demoting again at the next probe"
                );
                applied = k;
                crate::file::record(&o.state, applied);
            }
        }
        let Ok((i, d)) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        // Stopping: a probe that ended meanwhile may have been killed.
        if STOP.load(Ordering::SeqCst) {
            break;
        }
        let (Some(c), Some(s)) = (checks.get(i), states.get_mut(i)) else {
            continue;
        };
        if s.update(c, d) {
            if s.demote > 0 {
                eprintln!(
                    "line {}: {} failed: demoting by {}",
                    c.line,
                    c.name(),
                    s.demote
                );
            } else {
                eprintln!("line {}: {} is healthy", c.line, c.name());
            }
        }
        // Not before every check has been probed once.
        if !states.iter().all(|s| s.started) {
            continue;
        }
        let total = states.iter().map(|s| s.demote).sum::<u32>().min(255) as i32;
        if total != applied {
            let before = applied;
            let r = carp.adjust_user_demotion(total - applied).and_then(|d| {
                if total < applied && d > total - applied {
                    // The kernel had less than our part (the module was
                    // reloaded, or the counter lowered by hand): ours is
                    // gone.
                    applied = 0;
                    carp.adjust_user_demotion(total)
                } else {
                    Ok(d)
                }
            });
            match r {
                Ok(d) => {
                    applied += d;
                    // (Unchanged: at the limit already, said before.)
                    if applied != before {
                        if applied != total {
                            eprintln!(
                                "the demotion set from userspace is at its limit: tracking adds {applied}, not {total}"
                            );
                        }
                        eprintln!("group carp: tracking demotes by {applied}");
                        crate::file::record(&o.state, applied);
                    }
                }
                // The family went away (module reloaded) or the request
                // was refused: exit non-zero (systemd restarts the
                // tracker, which adopts what is left, as much as the
                // kernel still has).
                Err(e) => return Err(Error(format!("track: group carp: {e}"))),
            }
        }
        // Every check probed once and its demotion made: ready (systemd's
        // Type=notify; carp-boot-ready.service waits for it).
        if !ready {
            ready = true;
            notify_ready();
        }
    }
    // Stopped: the part stays (recorded for the next tracker, which adopts
    // it); `carpctl track --release` takes it back.
    crate::file::record(&o.state, applied);
    eprintln!("stopped: the tracker's demotion of {applied} stays (carpctl track --release takes it back)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file() {
        let c = parse_conf(
            "# comment\n\
             interface eth1 weight 50\n\
             \n\
             script \"/bin/check a b\" interval 0.5 timeout 0.2 rise 2 fall 3 weight 7 # trailing\n\
             file /etc/carp/maintenance\n\
             process haproxy weight 255\n",
        )
        .unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].kind, Kind::Interface("eth1".into()));
        assert_eq!((c[0].weight, c[0].line), (50, 2));
        assert_eq!(c[1].kind, Kind::Script("/bin/check a b".into()));
        assert_eq!(c[1].interval, Duration::from_millis(500));
        assert_eq!(c[1].timeout, Duration::from_millis(200));
        assert_eq!((c[1].rise, c[1].fall, c[1].weight), (2, 3, 7));
        assert_eq!(c[2].kind, Kind::File("/etc/carp/maintenance".into()));
        assert_eq!((c[2].weight, c[2].interval), (1, Duration::from_secs(2)));
        assert_eq!(c[3].weight, 255);
        for (bad, msg) in [
            ("bogus x", "line 1: unknown check 'bogus'"),
            ("interface", "line 1: 'interface' needs what it tracks"),
            (
                "interface eth0 weight 0",
                "line 1: weight '0' is not 1..255",
            ),
            (
                "interface eth0 weight 256",
                "line 1: weight '256' is not 1..255",
            ),
            ("interface eth0 weight", "line 1: 'weight' needs a value"),
            ("\nscript \"x", "line 2: a quote is not closed"),
            (
                "script x interval 0",
                "line 1: interval '0' is not 0 < seconds <= 3600",
            ),
            ("file x timeout 1", "line 1: timeout is a script's option"),
            ("process p color red", "line 1: unknown option 'color'"),
            (
                "process a-name-of-16-chars",
                "line 1: process 'a-name-of-16-chars': a command name",
            ),
        ] {
            let e = parse_conf(bad).unwrap_err().0;
            assert!(e.starts_with(&format!("track: {msg}")), "{bad}: {e}");
        }
    }

    fn check(rise: u32, fall: u32) -> Check {
        Check {
            kind: Kind::Process("x".into()),
            weight: 10,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise,
            fall,
            line: 1,
        }
    }

    #[test]
    fn rise_and_fall() {
        let c = check(2, 3);
        let mut s = State::default();
        assert!(!s.update(&c, 0), "healthy at the first probe: no change");
        assert!(!s.update(&c, 10));
        assert!(!s.update(&c, 10));
        assert!(s.update(&c, 10), "the third failure in a row demotes");
        assert_eq!(s.demote, 10);
        assert!(!s.update(&c, 0));
        assert!(!s.update(&c, 10), "a failure breaks the good streak");
        assert!(!s.update(&c, 0));
        assert!(s.update(&c, 0), "two good probes in a row");
        assert_eq!(s.demote, 0);
        let mut s = State::default();
        assert!(
            s.update(&c, 10),
            "failing at the first probe demotes at once"
        );
    }

    #[test]
    fn probes() {
        assert!(interface_ok("lo") || std::env::var_os("CARP_NO_LO").is_some());
        assert!(!interface_ok("nonexistent0"));
        assert!(!interface_ok("a-name-much-too-long-for-ifnamsiz"));
        assert!(script_ok("exit 0", Duration::from_secs(5)));
        assert!(!script_ok("exit 1", Duration::from_secs(5)));
        let t = Instant::now();
        assert!(!script_ok("sleep 20", Duration::from_millis(200)));
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(process_running(
            std::fs::read_to_string("/proc/self/comm")
                .unwrap()
                .trim_end()
        ));
        assert!(!process_running("no-such-process-name"));
        let d = std::env::temp_dir().join(format!("carpctl-track-{}", std::process::id()));
        assert_eq!(file_value(&d), Some(0));
        std::fs::write(&d, "3\n").unwrap();
        assert_eq!(file_value(&d), Some(3));
        std::fs::write(&d, "").unwrap();
        assert_eq!(file_value(&d), Some(0));
        std::fs::write(&d, "x").unwrap();
        assert_eq!(file_value(&d), None);
        std::fs::remove_file(&d).unwrap();
    }
}
