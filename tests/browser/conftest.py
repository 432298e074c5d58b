from __future__ import annotations

from playwright.sync_api import expect

# These machines are shared and have two cores: an htmx round trip behind a debounce can take
# longer than Playwright's default 5 s while other work runs. Waiting longer changes no
# assertion, only how long a failing one takes to report.
expect.set_options(timeout=15_000)
