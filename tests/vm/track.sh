#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# carpctl track, health tracking (keepalived's track_interface,
# track_script, track_file, track_process): a pair with preempt, a
# preferred; each kind of check on a fails in turn, demotes a's group by
# its weight, and b takes over; healthy again, a takes back. Also: rise and
# fall counts, an administrator's own demotion adds to the tracker's and
# stays when the tracker's goes, a stopped tracker takes its part back, a
# killed one's part is taken back by the next, bad lines and the
# unprivileged refused. A stopped tracker's part stays until --release.

tap_plan 61
carp_load
lan_setup a b
ip -n a link add eth1 type dummy && ip -n a link set eth1 up || setup_fail "a's eth1"
for h in a b; do ip netns exec $h sysctl -qw net.inet.carp.preempt=1 || setup_fail "preempt on $h"; done
carp_setup a carp0 1 0
carp_setup b carp0 1 100
check "a is MASTER" wait_for 20 state_is a carp0 master
check "b is BACKUP" wait_for 10 state_is b carp0 backup

W=$(mktemp -d)
# A service to track: a process whose command name is carp-svc.
cp "$(command -v sleep)" "$W/carp-svc"
"$W/carp-svc" 1000 &
svc=$!
cat >"$W/track.conf" <<-EOT
	# the checks of tests/vm/track.sh
	interface eth1 weight 10
	script "test ! -e $W/down" interval 0.5 rise 2 fall 2 weight 20
	file $W/maint weight 1
	process carp-svc weight 40
EOT
user() { cctl a -j demote | jq -e ".demote_user == $1" >/dev/null; }
a_back() { state_is a carp0 master && state_is b carp0 backup; }

check_ok_output "the file parses (--check)" 'line 3: script "test ! -e .*" weight 20 interval 0.5 s rise 2 fall 2' \
	carpctl track --check "$W/track.conf"
# systemd's notification socket (Type=notify), played by python.
python3 -I -S -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
open(sys.argv[2], "wb").write(s.recv(100))' "$W/notify" "$W/notified" &
nfy=$!
wait_for 20 test -S "$W/notify" || setup_fail "the notification socket"
NOTIFY_SOCKET=$W/notify carpctl -n a track --state "$W/state" "$W/track.conf" 2>"$W/err" &
tr=$!
check "the tracker starts with its 4 checks" wait_for 20 grep -q 'tracking 4 checks' "$W/err"
check "... and tells systemd it is ready once they were probed (READY=1)" \
	wait_for 20 grep -qx READY=1 "$W/notified"
wait "$nfy"
nap 2
check "healthy: it does not demote" user 0
check "... and a stays MASTER" state_is a carp0 master

# A script fails (fall 2 probes at 0.5 s): demoted by 20, b takes over.
: >"$W/down"
t0=$(now_ms)
check "the failing script demotes a by 20" wait_for 20 user 20
echo "# script failing to demotion: $(($(now_ms) - t0)) ms (interval 0.5 s x fall 2)"
check "... and b takes over" wait_for 10 state_is b carp0 master
check_ok_output "the log names the check" 'line 3: script "test ! -e .*/down" failed: demoting by 20' cat "$W/err"
rm "$W/down"
check "healthy again (rise 2): the demotion goes" wait_for 20 user 0
check "... and a takes back (preempt)" wait_for 15 a_back

# An interface goes down.
ip -n a link set eth1 down
check "eth1 down demotes a by 10" wait_for 20 user 10
check "... and b takes over" wait_for 10 state_is b carp0 master
ip -n a link set eth1 up
check "eth1 up: no demotion" wait_for 20 user 0
check "... and a takes back" wait_for 15 a_back

# A file holds a number: weight x N.
echo 3 >"$W/maint"
check "the file's 3 demotes a by 3" wait_for 20 user 3
rm "$W/maint"
check "the file gone: no demotion" wait_for 20 user 0

# The tracked process goes.
kill "$svc"; wait "$svc" 2>/dev/null
check "no carp-svc process: a demoted by 40" wait_for 20 user 40
"$W/carp-svc" 1000 &
svc=$!
check "carp-svc back: no demotion" wait_for 20 user 0
check "... and a takes back" wait_for 20 a_back

# The administrator's demotion adds to the tracker's and outlives it.
cctl a demote carp +5
: >"$W/down"
check "tracker 20 + administrator 5" wait_for 20 user 25
rm "$W/down"
check "the tracker's part goes, the administrator's stays" wait_for 20 user 5
cctl a demote carp -5

# Stopped (SIGTERM: a restart, an upgrade, shutdown) while demoting: its
# part stays, recorded for the next tracker; --release takes it back.
: >"$W/down"
check "demoting again" wait_for 20 user 20
# Its part taken by hand (as a module reload takes it): the tracker checks
# the kernel's counter every 5 s and demotes again.
cctl a demote carp 0
check "its part taken by hand: it demotes again" wait_for 20 user 20
check_ok_output "... and says why" 'below the tracker.s 20: demoting again' cat "$W/err"
kill "$tr"; wait "$tr"
check "stopped: its demotion stays" user 20
check "... recorded in its state file" grep -qx 20 "$W/state"
check_ok_output "--release takes it back" 'track: took back the demotion of 20' \
	carpctl -n a track --release --state "$W/state"
check "... the demotion is gone" user 0
check "... and so is the state file" [ ! -e "$W/state" ]

# Killed (SIGKILL) while demoting: the next tracker adopts its part and
# keeps it (no moment undemoted: the kernel logs every change of the
# counter at level 3), releasing it only when its check is healthy.
ip netns exec a sysctl -qw net.inet.carp.log=3
carpctl -n a track --state "$W/state" "$W/track.conf" 2>"$W/err2" &
tr=$!
check "a new tracker demotes" wait_for 20 user 20
kill -9 "$tr"; wait "$tr" 2>/dev/null
check "killed, its part stays" user 20
m=$(log_mark)
carpctl -n a track --state "$W/state" "$W/track.conf" 2>"$W/err3" &
tr=$!
check "the next tracker starts" wait_for 20 grep -q 'tracking 4 checks' "$W/err3"
check_ok_output "... adopting the killed one's part" 'adopted the demotion of 20 a previous tracker left' \
	cat "$W/err3"
nap 2
check "... still demoted by 20" user 20
check "... and never released meanwhile" [ "$(since "$m" 'demoted group carp to 0 ')" = 0 ]
rm "$W/down"
check "healthy: the next tracker releases it" wait_for 20 user 0
check "... which the log shows (the control)" [ "$(since "$m" 'demoted group carp to 0 ')" = 1 ]
kill "$tr"; wait "$tr"

# Maintenance mode (carpctl maintenance) and the boot units' commands
# (tools/systemd/carp-boot-{demote,ready}.service's ExecStart lines, run
# here in a's namespace; the files under $W instead of /etc and /run).
SYSD=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tools/systemd" && pwd)
maint() { carpctl -n a maintenance "$@" --file "$W/maintenance" --state "$W/maintenance.applied"; }
unit() {
	local c
	local n=0
	# (A leading "-": systemd ignores the command's failure.)
	while read -r c; do
		n=$((n + 1))
		local may_fail=0
		[[ $c == -* ]] && { may_fail=1; c=${c#-}; }
		c=${c/\/usr\/sbin\/carpctl maintenance/maint}
		c=${c/\/usr\/sbin\/carpctl/carpctl -n a}
		$c || [ $may_fail = 1 ] || return 1
	done < <(grep '^ExecStart=' "$SYSD/$1" | sed -e 's/^ExecStart=//' -e 's/${CARP_BOOT_DEMOTE}/128/')
	[ "$n" -gt 0 ] || { echo "no ExecStart in $1"; return 1; }
}
# "A reboot": the kernel's counter starts at 0 and /run is empty.
reboot_like() { cctl a demote carp 0 && rm -f "$W/maintenance.applied"; }
check "a is MASTER before maintenance" wait_for 20 a_back
check_ok_output "maintenance on (100 by default)" 'maintenance: on, demoting group carp by 100' maint on
check "... demotes a by 100" user 100
check "... and b takes over" wait_for 10 state_is b carp0 master
check "on again changes nothing" maint on
check "... still 100" user 100
reboot_like
check "after a reboot: not demoted until carp-boot-demote.service" user 0
check "carp-boot-demote.service's commands" unit carp-boot-demote.service
check "... demote by the maintenance's 100 and the boot's 128" user 228
check "carp-boot-ready.service's commands" unit carp-boot-ready.service
check "... leave the maintenance's 100" user 100
check_ok_output "maintenance shows on" 'maintenance: on, demoting group carp by 100$' maint
check_ok_output "maintenance off" 'maintenance: off' maint off
check "... releases a" user 0
check "... and a takes back" wait_for 15 a_back
reboot_like
check "a boot without maintenance: demoted while booting" unit carp-boot-demote.service
check "... 128" user 128
check "... b is MASTER meanwhile" wait_for 15 state_is b carp0 master
check "ready: released" unit carp-boot-ready.service
check "... 0, and a takes back" wait_for 15 bash -c "carpctl -n a -j demote | grep -q '\"demote_user\":0' && ip -n a link show carp0 | grep -q LOWER_UP"

check_fail_output "a bad line is refused with its number" "track: line 2: unknown check 'bogus'" \
	bash -c "printf 'process x\nbogus y\n' >'$W/bad.conf' && carpctl track --check '$W/bad.conf'"
chmod 755 "$W"
check_fail_output "the unprivileged may not demote: refused at start" \
	'track: group carp: operation not permitted' as_nobody carpctl track "$W/track.conf"
kill "$svc"; wait "$svc" 2>/dev/null
rm -rf "$W"
