// SPDX-License-Identifier: GPL-2.0

//! Child processes with a time limit: the hooks' and the tracker's
//! scripts. Each runs in its own process group, so that a timeout stops
//! what it started too: SIGTERM to the group, SIGKILL 2 s later.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How a child ended.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Ok,
    Failed(String),
    TimedOut,
}

/// Runs `cmd` (standard input from /dev/null) for at most `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Outcome {
    let mut child = match cmd.stdin(Stdio::null()).process_group(0).spawn() {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(format!("cannot be run: {e}")),
    };
    let pgid = child.id() as libc::pid_t;
    let start = Instant::now();
    let mut nap = Duration::from_millis(1);
    // When SIGTERM was sent, and whether SIGKILL was.
    let mut termed: Option<Duration> = None;
    let mut killed = false;
    loop {
        match child.try_wait() {
            Ok(Some(_)) if termed.is_some() => return Outcome::TimedOut,
            Ok(Some(st)) if st.success() => return Outcome::Ok,
            Ok(Some(st)) => {
                return Outcome::Failed(match (st.code(), st.signal()) {
                    (Some(c), _) => format!("exited with status {c}"),
                    (_, Some(s)) => format!("killed by signal {s}"),
                    _ => format!("{st}"),
                })
            }
            Ok(None) => {}
            Err(e) => return Outcome::Failed(format!("wait: {e}")),
        }
        let now = start.elapsed();
        match termed {
            None if now >= timeout => {
                // SAFETY: kill(2) with a negative pid signals the process
                // group the child leads (process_group(0) above); it has
                // not been reaped (try_wait returned None), so the id is
                // still ours.
                unsafe { libc::kill(-pgid, libc::SIGTERM) };
                termed = Some(now);
            }
            Some(t) if !killed && now >= t + Duration::from_secs(2) => {
                // SAFETY: as above; the group leader is still unreaped.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                killed = true;
            }
            _ => {}
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, t: Duration) -> Outcome {
        run(
            Command::new("/bin/sh").args(["-c", script]).env("X", "1"),
            t,
        )
    }

    #[test]
    fn timeouts_and_failures() {
        let t = Duration::from_secs(5);
        assert_eq!(sh("[ \"$X\" = 1 ]", t), Outcome::Ok);
        assert_eq!(
            sh("exit 3", t),
            Outcome::Failed("exited with status 3".into())
        );
        let start = Instant::now();
        assert_eq!(
            sh("sleep 30", Duration::from_millis(200)),
            Outcome::TimedOut
        );
        assert!(start.elapsed() < Duration::from_secs(10));
        // A child that ignores SIGTERM is killed 2 s later.
        assert_eq!(
            sh(
                "trap '' TERM; sleep 30 & wait; sleep 30",
                Duration::from_millis(200)
            ),
            Outcome::TimedOut
        );
        assert!(matches!(
            run(&mut Command::new("/nonexistent"), t),
            Outcome::Failed(_)
        ));
    }
}
