"""CountingSourceCalculator: a source of consecutive integers, for demos and tests."""

from __future__ import annotations

from typing import Any

from mediagraph import Calculator, CalculatorContext, Options, Output, SideInput, Stop


class CountingSourceCalculatorOptions(Options):
    count: int = 10
    start: int = 0
    interval_us: int = 1
    first_timestamp: int = 0

    def check(self) -> None:
        if self.count < 0:
            raise ValueError(f"count must not be negative, got {self.count}")


class CountingSourceCalculator(Calculator):
    """Emit `start`, `start+1`, ... `count` times, `interval_us` microseconds apart.

    Inputs:  none (a source)
    Outputs: untagged int stream
    Side inputs: COUNT (int, optional) overrides the `count` option
    Options: count, start, interval_us, first_timestamp

    Example config:
        node { calculator: "CountingSourceCalculator" output_stream: "numbers"
               node_options { [type.googleapis.com/mediagraph.CountingSourceCalculatorOptions] {
                 count: 100 } } }
    """

    Options = CountingSourceCalculatorOptions
    count = SideInput(int, optional=True)
    out = Output(int, tag="")

    def open(self, cc: CalculatorContext) -> None:
        self.remaining = cc.side(self.count, self.options.count)
        if self.remaining < 0:  # the side packet's value; the option's is checked at validation
            raise ValueError(f"count must not be negative, got {self.remaining}")
        self.value = self.options.start
        self.timestamp = self.options.first_timestamp

    def process(self, cc: CalculatorContext) -> Any:
        if self.remaining <= 0:
            return Stop
        cc.send(self.out, self.value, timestamp=self.timestamp)
        self.value += 1
        self.timestamp += self.options.interval_us
        self.remaining -= 1
        return None
