#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# carpctl hooks, the state-change hook supervisor: every executable of the
# hook directory runs on every change of every entry, in name order, with
# keepalived's arguments (INSTANCE NAME STATE PRIORITY) and the CARP_*
# variables; ucarp's up/down scripts beside them. Checked: the current
# states replayed at start; a burst of 100 changes run in order with none
# lost; a failing hook does not stop the ones after it; an entry's hung
# hook does not hold another entry's; the timeout kills a hung hook and
# the next one runs; a restart replays what changed meanwhile; an overrun
# of the event socket (provoked: a stopped supervisor with a tiny buffer)
# ends with the last state; the module unloaded and loaded again (the
# supervisor does not load it itself); bad options refused.

# vm-budget: 480
tap_plan 36
carp_load
lan_setup a
# advbase 254: a lone forced BACKUP would take over after 762 s, longer
# than this file even on the debug kernel with kmemleak (about 240 s);
# every change below is forced (carpctl ... state).
carp_setup a carp0 1 0 advbase 254
ip -n a link add carp1 link eth0 type carp &&
	cctl a carp1 vhid 2 advskew 100 advbase 254 pass secret &&
	ip -n a addr add 192.0.2.2/24 dev carp1 &&
	ip -n a link set carp1 up || setup_fail "carp1"
cctl a carp0 state master || setup_fail "carp0 master"
cctl a carp1 state backup || setup_fail "carp1 backup"

W=$(mktemp -d)
export W
mkdir "$W/hooks.d"
# 10-log: one line per change. While $W/slow exists it takes 0.2 s
# before it writes a BACKUP line and none before a MASTER one: changes
# queue up behind it, and hooks run side by side (not one at a time)
# would write the lines out of order.
cat >"$W/hooks.d/10-log" <<-'EOF'
	#!/bin/sh
	[ -e "$W/slow" ] && [ "$3" = BACKUP ] && sleep 0.2
	echo "$1 $2 $3 $4 $CARP_VHID $CARP_OLD_STATE>$CARP_STATE $CARP_REASON $CARP_CARPDEV" >>"$W/log.$2"
	exit 0
EOF
# 12-hang: hangs while $W/hang exists (the timeout kills it).
cat >"$W/hooks.d/12-hang" <<-'EOF'
	#!/bin/sh
	[ -e "$W/hang" ] && exec sleep 600
	exit 0
EOF
# 15-block: carp0's hooks wait while $W/block exists.
cat >"$W/hooks.d/15-block" <<-'EOF'
	#!/bin/sh
	[ "$2" = carp0 ] && [ -e "$W/block" ] || exit 0
	: >"$W/blocked"
	while [ -e "$W/block" ]; do sleep 0.05; done
EOF
# 20-fail fails; 30-after runs after it.
printf '#!/bin/sh\nexit 1\n' >"$W/hooks.d/20-fail"
printf '#!/bin/sh\necho "$3" >>"$W/after.$2"\n' >"$W/hooks.d/30-after"
# Not hooks: not executable, and not a run-parts name.
printf '#!/bin/sh\necho "$3" >>"$W/wrong"\n' >"$W/hooks.d/40-noexec"
printf '#!/bin/sh\necho "$3" >>"$W/wrong"\n' >"$W/hooks.d/50-x.dpkg-old"
printf '#!/bin/sh\necho "up $*" >>"$W/updown"\n' >"$W/up"
printf '#!/bin/sh\necho "down $*" >>"$W/updown"\n' >"$W/down"
chmod 755 "$W"/hooks.d/[123]* "$W/hooks.d/50-x.dpkg-old" "$W/up" "$W/down"

lines() { [ -e "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

# The supervisors run in the background as carpctl itself (not the cctl
# function: $! would be a subshell, and kill would leave carpctl running).

carpctl -n a hooks --up "$W/up" --down "$W/down" "$W/hooks.d" 2>"$W/err" &
sup=$!
check "the supervisor replays carp0's state at start" wait_for 20 lines "$W/after.carp0" 1
check "... and carp1's" wait_for 10 lines "$W/after.carp1" 1
check_ok_output "carp0: keepalived's arguments, MASTER at priority 255 (advskew 0)" \
	'^INSTANCE carp0 MASTER 255 1 >MASTER replay eth0$' cat "$W/log.carp0"
check_ok_output "carp1: BACKUP at priority 155 (advskew 100), vhid 2" \
	'^INSTANCE carp1 BACKUP 155 2 >BACKUP replay eth0$' cat "$W/log.carp1"
check_ok_output "ucarp's scripts: up for the MASTER, down for the BACKUP at start" \
	'^(up carp0 down carp1|down carp1 up carp0)$' bash -c "sort -r '$W/updown' | paste -sd' '"

# A burst of 100 changes (50 pairs: issue 26's figure), the hooks slower
# than the changes (each change runs six processes: on the debug kernel
# with kmemleak the burst is most of this file's time, hence its budget).
carpctl -n a monitor >"$W/monitor" 2>&1 &
mon=$!
nap 1
: >"$W/slow"
for i in $(seq 50); do
	cctl a carp0 state backup && cctl a carp0 state master || echo "change $i failed" >>"$W/changes"
done
check "the 100 changes were made" [ ! -e "$W/changes" ]
check "the hooks ran for all 100" wait_for 400 lines "$W/after.carp0" 101
rm -f "$W/slow"
expect=$(for i in $(seq 50); do
	echo "INSTANCE carp0 BACKUP 255 1 MASTER>BACKUP user eth0"
	echo "INSTANCE carp0 MASTER 255 1 BACKUP>MASTER user eth0"
done)
check "... once each, in order, with their old states and reasons" \
	diff <(echo "$expect") <(tail -n +2 "$W/log.carp0")
check "... as carpctl monitor saw them (the control)" \
	[ "$(grep -c 'carp0 vhid 1: MASTER -> BACKUP (user)' "$W/monitor")" = 50 ]
check "the hook after the failing one ran every time" \
	[ "$(grep -c . "$W/after.carp0")" = 101 ]
check "the failing hook is logged every time" \
	[ "$(grep -c 'carp0 vhid 1: .*/20-fail exited with status 1' "$W/err")" -ge 101 ]
check "up ran on every MASTER, down on every BACKUP" \
	[ "$(grep -c '^up carp0$' "$W/updown"):$(grep -c '^down carp0$' "$W/updown")" = 51:50 ]
check "neither a non-executable file nor a .dpkg-old one ran" [ ! -e "$W/wrong" ]
check "carp1's hooks ran only for its replay" [ "$(grep -c . "$W/after.carp1")" = 1 ]
kill "$mon"; wait "$mon" 2>/dev/null

# One entry's hung hook does not hold another's: carp0's hooks wait on
# $W/block while carp1's run.
: >"$W/block"
cctl a carp0 state backup
check "carp0's hook is blocked" wait_for 20 test -e "$W/blocked"
cctl a carp1 state master
check "carp1's hooks ran meanwhile" wait_for 20 lines "$W/after.carp1" 2
check "... while carp0's were still blocked (the hook after it not run)" \
	[ "$(grep -c . "$W/after.carp0")" = 101 ]
rm -f "$W/block"
check "released, carp0's hooks go on" wait_for 20 lines "$W/after.carp0" 102

# A restart replays what changed while the supervisor was not running.
kill "$sup"; wait "$sup" 2>/dev/null
cctl a carp0 state master
carpctl -n a hooks -t 1 "$W/hooks.d" 2>"$W/err2" &
sup=$!
check "restarted, the change made meanwhile is replayed" wait_for 20 bash -c \
	"tail -n 1 '$W/log.carp0' | grep -qx 'INSTANCE carp0 MASTER 255 1 >MASTER replay eth0'"
check "... and carp1, unchanged, is replayed too" wait_for 20 bash -c \
	"tail -n 1 '$W/log.carp1' | grep -qx 'INSTANCE carp1 MASTER 155 2 >MASTER replay eth0'"

# The timeout: 12-hang is killed after 1 s, the hooks after it run.
: >"$W/hang"
cctl a carp0 state backup
check "a hung hook is killed at the timeout and logged" wait_for 20 \
	grep -q 'carp0 vhid 1: MASTER -> BACKUP (user): .*/12-hang timed out after 1 s: killed' "$W/err2"
check "the hooks after it ran" wait_for 10 bash -c "tail -n 1 '$W/after.carp0' | grep -qx BACKUP"
check "its process is gone" bash -c "! pgrep -af 'slee[p] 600'"
rm -f "$W/hang"

# An overrun: the supervisor stopped (SIGSTOP) with the smallest receive
# buffer while 21 changes are made; continued, it reads the overrun,
# drains, dumps, and runs the last state.
kill "$sup"; wait "$sup" 2>/dev/null
carpctl -n a hooks --rcvbuf 1 "$W/hooks.d" 2>"$W/err3" &
sup=$!
check "the supervisor with a tiny buffer replays" wait_for 20 bash -c \
	"tail -n 1 '$W/log.carp0' | grep -qx 'INSTANCE carp0 BACKUP 255 1 >BACKUP replay eth0'"
kill -STOP "$sup"
for i in $(seq 10); do cctl a carp0 state master; cctl a carp0 state backup; done
cctl a carp0 state master
kill -CONT "$sup"
check "the overrun is reported (the control: it happened)" wait_for 20 \
	grep -q 'netlink overrun: state changes were lost; resynchronising from a dump' "$W/err3"
check "the last state reaches the hooks from the dump after the overrun" wait_for 20 bash -c \
	"tail -n 1 '$W/log.carp0' | grep -Eq '^INSTANCE carp0 MASTER 255 1 BACKUP>MASTER resync eth0$'"
nap 2
check "... and nothing after it" bash -c \
	"tail -n 1 '$W/log.carp0' | grep -q ' BACKUP>MASTER '"

# The module goes (its devices with it): the supervisor waits, without
# loading it again; back, a new device's state is run.
n=$(wc -l <"$W/err3")
rmmod carp
check "module unloaded: the supervisor says it waits" wait_for 20 \
	grep -q 'the carp family is gone (module unloaded): waiting for it' "$W/err3"
nap 2
check "... and has not loaded it again" [ ! -d /sys/module/carp ]
check "... and is still running" kill -0 "$sup"
carp_load
check "the family is back: the supervisor resynchronises" wait_for 20 \
	grep -q 'the carp family is back (module loaded): resynchronising' "$W/err3"
carp_setup a carp2 3 0
check "a device made after the reload gets its hooks" wait_for 30 \
	grep -q '^INSTANCE carp2 ' "$W/log.carp2"
cctl a carp2 state backup; cctl a carp2 state master
check "... and its next change, by the new subscription" wait_for 30 \
	grep -q '^INSTANCE carp2 MASTER 255 3 [A-Z]*>MASTER user eth0$' "$W/log.carp2"
kill "$sup"; wait "$sup" 2>/dev/null
tail -n +$((n + 1)) "$W/err3" | sed 's/^/#   hooks: /'

# Bad options: one clear line, no supervisor.
check_fail_output "a missing directory" 'hooks: /nonexistent: not a directory' \
	cctl a hooks /nonexistent
check_fail_output "an --up script that is not executable" 'hooks: .*/10-log.x: not an executable file' \
	bash -c "cp '$W/hooks.d/10-log' '$W/10-log.x' && chmod 644 '$W/10-log.x' && carpctl -n a hooks --up '$W/10-log.x' '$W/hooks.d'"
check_fail_output "a timeout of 0" "hooks: timeout '0' is not a number of seconds" \
	cctl a hooks -t 0 "$W/hooks.d"
rm -rf "$W"
