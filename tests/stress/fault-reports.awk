# SPDX-License-Identifier: GPL-2.0
# Prints a kernel log without the kernel's reports of injected allocation
# failures (tests/stress/faults.sh): fail-nth's "FAULT_INJECTION: forcing
# a failure" with its stack dump (up to </TASK>), and warn_alloc's
# "page allocation failure" / "vmalloc error" with its stack dump and
# memory state (up to "pages reserved"). Those are the test, not a splat.
# Used on the guest's dmesg (faults.sh) and on the VM consoles
# (scripts/vm-test.sh). A report cut short ends the skipping after 400
# lines, so nothing after it is hidden for good.
/FAULT_INJECTION: forcing a failure/ { skip = 1; upto = "</TASK>"; n = 0 }
/vmalloc error: size|page allocation failure: order:/ { skip = 1; upto = "pages reserved"; n = 0 }
skip { if (index($0, upto) || ++n > 400) skip = 0; next }
{ print }
