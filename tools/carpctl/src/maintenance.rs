// SPDX-License-Identifier: GPL-2.0

//! `carpctl maintenance`: a maintenance mode that survives reboots.
//!
//! `on [N]` writes N (100 when not given) to
//! `/etc/carp/maintenance` and demotes group carp by it; `off` removes the
//! file and takes the demotion back; `sync` makes the demotion what the
//! file says (carp-boot-demote.service runs it at every boot, before the
//! carp devices exist); without a word it says which it is. What this boot
//! applied is recorded in `/run/carp/maintenance.applied` (gone at
//! reboot, when the kernel's counter starts at 0 again), so each command is
//! idempotent and adds to other demotions (`carpctl demote`, the tracker).

use crate::nl::{Carp, Error};
use std::path::{Path, PathBuf};

pub const FILE: &str = "/etc/carp/maintenance";
pub const STATE: &str = "/run/carp/maintenance.applied";
/// `on` without a number: with the boot demotion (128) it stays within
/// 255.
pub const DEFAULT: u32 = 100;

#[derive(Debug, PartialEq, Clone)]
pub enum Action {
    Show,
    On(u32),
    Off,
    Sync,
}

#[derive(Debug, PartialEq, Clone)]
pub struct Options {
    pub action: Action,
    pub file: PathBuf,
    pub state: PathBuf,
}

pub fn parse(args: &mut impl Iterator<Item = String>) -> Result<Options, Error> {
    let mut o = Options {
        action: Action::Show,
        file: FILE.into(),
        state: STATE.into(),
    };
    let mut words = Vec::new();
    while let Some(w) = args.next() {
        match w.as_str() {
            "--file" | "--state" => {
                let v: PathBuf = args
                    .next()
                    .ok_or_else(|| Error(format!("maintenance: {w} needs a file")))?
                    .into();
                if w == "--file" {
                    o.file = v;
                } else {
                    o.state = v;
                }
            }
            _ => words.push(w),
        }
    }
    let n = |v: &str| {
        v.parse::<u32>()
            .ok()
            .filter(|n| (1..=255).contains(n))
            .ok_or_else(|| Error(format!("maintenance: '{v}' is not 1..255")))
    };
    o.action = match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => Action::Show,
        ["on"] => Action::On(DEFAULT),
        ["on", v] => Action::On(n(v)?),
        ["off"] => Action::Off,
        ["sync"] => Action::Sync,
        _ => {
            return Err(Error(format!(
                "maintenance: '{}' is not on [N], off or sync (see carpctl --help)",
                words.join(" ")
            )))
        }
    };
    Ok(o)
}

/// The number in `path`: 0 when it is missing.
fn read_number(path: &Path) -> Result<u32, Error> {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error(format!("maintenance: {}: {e}", path.display()))),
        // Empty: written but not yet filled when the system crashed.
        Ok(s) if s.trim().is_empty() => Ok(0),
        Ok(s) => s
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 255)
            .ok_or_else(|| {
                Error(format!(
                    "maintenance: {}: '{}' is not a demotion 0..255",
                    path.display(),
                    s.trim()
                ))
            }),
    }
}

pub fn run(o: Options) -> Result<(), Error> {
    match o.action {
        Action::On(n) => {
            if let Some(d) = o.file.parent() {
                let _ = std::fs::create_dir_all(d);
            }
            crate::file::write_atomically(&o.file, &format!("{n}\n"))
                .map_err(|e| Error(format!("maintenance: {e}")))?;
        }
        Action::Off => match std::fs::remove_file(&o.file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error(format!("maintenance: {}: {e}", o.file.display())))
            }
            _ => {}
        },
        Action::Show => {
            let want = read_number(&o.file)?;
            // What this boot applied, as much as the kernel still has (a
            // module reload or `carpctl demote carp 0` took the rest).
            let kernel = Carp::open()
                .and_then(|mut c| c.user_demotion())
                .unwrap_or(0);
            let applied = read_number(&o.state)?.min(kernel);
            if want == 0 {
                println!("maintenance: off");
            } else if applied == want {
                println!("maintenance: on, demoting group carp by {want}");
            } else {
                println!(
                    "maintenance: on ({}), demoting group carp by {applied} (carpctl maintenance sync)",
                    o.file.display()
                );
            }
            return Ok(());
        }
        Action::Sync => {}
    }
    let want = read_number(&o.file)?;
    let mut carp = Carp::open()?;
    let applied = read_number(&o.state)?.min(
        carp.user_demotion()
            .map_err(|e| Error(format!("maintenance: group carp: {e}")))?,
    );
    let d = carp
        .adjust_user_demotion(want as i32 - applied as i32)
        .map_err(|e| Error(format!("maintenance: group carp: {e}")))?;
    let now = (applied as i32 + d).max(0);
    crate::file::record(&o.state, now);
    if now != want as i32 {
        return Err(Error(format!(
            "maintenance: group carp's demotion from userspace is at its limit: maintenance demotes by {now}, not {want}"
        )));
    }
    if want > 0 {
        println!("maintenance: on, demoting group carp by {want}");
    } else {
        println!("maintenance: off");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Options, Error> {
        parse(&mut s.split_whitespace().map(String::from))
    }

    #[test]
    fn words() {
        assert_eq!(p("").unwrap().action, Action::Show);
        assert_eq!(p("on").unwrap().action, Action::On(100));
        assert_eq!(p("on 50").unwrap().action, Action::On(50));
        assert_eq!(p("off").unwrap().action, Action::Off);
        assert_eq!(
            p("sync --file /f --state /s").unwrap().file,
            PathBuf::from("/f")
        );
        for bad in ["on 0", "on 256", "on x", "of", "on 1 2", "--file"] {
            assert!(p(bad).unwrap_err().0.starts_with("maintenance: "), "{bad}");
        }
    }
}
