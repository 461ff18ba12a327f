"""The report page: Vega-Lite charts (Altair, the ``minireg[report]`` extra) in one HTML file.

:func:`render_html` turns the pure page model of :mod:`minireg.domain.report`
into the bytes of a self-contained page; :mod:`.charts` builds the specs and
inlines the JavaScript, :mod:`.page` writes the HTML.
"""

from __future__ import annotations

from minireg.domain.report import Page


def render_html(page: Page) -> bytes:
    """The report page for ``page``, as UTF-8 bytes (the same page model, the same bytes).

    Raises:
        InvalidInput: the ``report`` extra (Altair, vl-convert) is not installed.
    """
    from minireg.adapters.report import charts
    from minireg.adapters.report.page import render

    bundle, vega_lite = charts.javascript()
    specs = [charts.specs(model) for model in page.models]
    return render(page, specs, bundle, vega_lite).encode("utf-8")
