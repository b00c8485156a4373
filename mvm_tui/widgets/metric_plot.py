"""A titled line chart of one or more metric series over the last minutes (plotext)."""

from __future__ import annotations

from collections.abc import Sequence

from textual_plotext import PlotextPlot


class MetricPlot(PlotextPlot):
    DEFAULT_CSS = """
    MetricPlot { height: 1fr; min-height: 8; }
    """

    def __init__(
        self, title: str, labels: Sequence[str], *, top: float | None = None, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.title = title
        self.labels = tuple(labels)
        self.top = top

    def on_mount(self) -> None:
        self.show([], [[] for _ in self.labels])

    def show(self, xs: Sequence[float], series: Sequence[Sequence[float]]) -> None:
        """Plot each series against xs (minutes, negative = in the past)."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel("minutes ago")
        for label, ys in zip(self.labels, series, strict=True):
            if xs:
                plt.plot(list(xs), list(ys), label=label if len(self.labels) > 1 else None,
                         marker="braille")
        if self.top is not None:
            plt.ylim(0, self.top)
        self.refresh()
