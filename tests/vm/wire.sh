#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Our advertisements on the wire, dissected by tshark as CARP (fields as
# configured) and their HMAC recomputed independently (Python's hmac).

tap_plan 5
carp_load
lan_setup a x
carp_setup a carp0 5 10
ip -n a addr add 2001:db8::5/64 dev carp0 nodad
check "a becomes MASTER" wait_for 15 state_is a carp0 master
pcap=/tmp/carp-$$.pcap
# Captured by a raw socket on another host of the LAN (a live tshark
# capture is too slow to start under TCG), read by tshark.
check "capture advertisements on the LAN" ip netns exec x python3 -I -S \
	"$(dirname "${BASH_SOURCE[0]}")/carpinject.py" eth0 capture 6 "$pcap"
# One tshark run (its start-up is slow under TCG). Protocol 112 is VRRP's
# too: let tshark's CARP heuristic look first (IPv4; it has none for IPv6).
all=$(tshark -r "$pcap" -o ip.try_heuristic_first:TRUE -T fields -E separator=' ' \
	-e eth.src -e ip.ttl -e ip.dst -e carp.version -e carp.type -e carp.vhid \
	-e carp.advskew -e carp.adver_int -e carp.authlen -e carp.demotion -e carp.counter \
	-e carp.hmac -e ipv6.dst -e ipv6.hlim 2>/dev/null)
rc=$?
fields=$(grep ' 224\.0\.0\.18 ' <<<"$all")
echo "$all" | head -3 | sed 's/^/# /'
check_ok_output "tshark dissects them as CARP v2 advertisements" \
	'^00:00:5e:00:01:05 255 224\.0\.0\.18 2 1 5 10 1 7 0 ' replay "$rc" "$fields"
check_ok_output "IPv6 advertisements go to ff02::12 with hop limit 255" 'ff02::12 255$' \
	replay "$rc" "$all"
# The HMAC of every captured advertisement, IPv4 and IPv6, recomputed from
# the raw frames: key = pass; message = version, type, vhid, the sorted
# IPv4 and IPv6 (not link-local) addresses, then the counter (OpenBSD);
# the CARP checksum too. Fails unless both families were seen and all
# verify.
verify='
import hmac, socket, struct, sys
data = open(sys.argv[1], "rb").read()
off, seen = 24, {"4": 0, "6": 0}
while off + 16 <= len(data):
    incl = struct.unpack_from("<IIII", data, off)[2]
    f = data[off + 16:off + 16 + incl]
    off += 16 + incl
    fam = {b"\x08\x00": "4", b"\x86\xdd": "6"}.get(f[12:14])
    if fam is None:
        continue
    carp = f[34:70] if fam == "4" else f[54:90]
    words = struct.unpack("!18H", carp)
    s = sum(words)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    counter, got = carp[8:16], carp[16:36]
    msg = bytes([2, 1, carp[1]]) + socket.inet_aton("192.0.2.1") + \
        socket.inet_pton(socket.AF_INET6, "2001:db8::5") + counter
    want = hmac.new(b"secret", msg, "sha1").digest()
    ok = got == want and s == 0xFFFF
    print("# IPv%s counter %s hmac %s %s" % (fam, counter.hex(), got.hex(), "ok" if ok else "MISMATCH"))
    if not ok:
        sys.exit(1)
    seen[fam] += 1
sys.exit(0 if seen["4"] and seen["6"] else 1)
'
check "the checksum and HMAC of every captured advertisement (IPv4 and IPv6) verify" \
	python3 -I -S -c "$verify" "$pcap"
rm -f "$pcap"
cleanup_ns
