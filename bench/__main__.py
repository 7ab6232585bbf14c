"""`python -m bench`: the Slack ack-latency benchmark (see `bench.ack_latency`)."""

from __future__ import annotations

import sys

from bench.ack_latency import main

if __name__ == "__main__":
    sys.exit(main())
