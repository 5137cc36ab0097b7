"""``python -m ves …``: the same commands as the ``ves`` console script (``ves.cli``).

``python -m ves verify BUNDLE.json --sequencer-key HEX [--sequencer-key HEX …]`` checks a proof
bundle offline against the trusted sequencer keys (a signature by any one counts): one line per
check (``PASS name``, ``FAIL name: reason``, or ``NOTE name: …`` for what a bundle claims and
cannot be checked offline, such as an anchor's transaction), exit 0 when every check passes, 1
when one fails, 2 when the file or key cannot be read. No server and no Django are needed.
"""

from __future__ import annotations

import sys

from ves.cli import main

if __name__ == "__main__":
    sys.exit(main())
