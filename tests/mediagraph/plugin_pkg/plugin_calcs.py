"""A calculator module reached by dotted path or by an entry point in the tests."""

from mediagraph import Calculator, CalculatorContext, Input, Output


class DottedDouble(Calculator, register=False):
    value = Input(int, tag="")
    out = Output(int, tag="")

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.out, 2 * cc.get(self.value))


class PluginTriple(Calculator):
    value = Input(int, tag="")
    out = Output(int, tag="")

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.out, 3 * cc.get(self.value))
