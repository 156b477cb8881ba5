"""The health report: ``health`` gathers it from the catalog (and writes JSON), ``html``
renders it as one self-contained page."""
