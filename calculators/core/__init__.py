"""Core calculators: pass-through, flow control, gating, loops, side packets."""

from calculators.core import (begin_end_loop, constant_side_packet, flow_limiter,  # noqa: F401
                              gate, make_pair, merge, packet_cloner, pass_through,
                              previous_loopback, side_packet_to_stream)
from calculators.core import counting_source  # noqa: F401
