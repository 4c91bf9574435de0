"""Opens a self-contained HTML page (the report's `--format html`) in headless Chromium and fails
if a figure renders empty, the page logs an error, or it requests anything from the network.

    python3 tests/browser/check_page.py PAGE.html [--screenshot FILE.png] [--min-figures N]

Exit 0 when the page is sound, 1 with the reasons otherwise. Needs Debian's `chromium` and
`chromium-driver` and the `selenium` package (`.ci/run` installs them).
"""

import argparse
import json
import pathlib
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import SessionNotCreatedException
from selenium.webdriver.chrome.service import Service

# Per figure: its box, and the marks that draw data (lines, bands, dots, bars) with a non-empty box.
FIGURES_JS = """
return Array.from(document.querySelectorAll('svg')).map((svg, i) => {
  const box = svg.getBoundingClientRect();
  const marks = Array.from(svg.querySelectorAll('polyline, polygon, circle, rect.bar')).filter(el => {
    const b = el.getBBox();
    return b.width > 0 || b.height > 0;
  }).length;
  const title = (svg.querySelector('text') || {textContent: '(no title)'}).textContent;
  return {index: i, title: title, width: box.width, height: box.height, marks: marks};
});
"""

# Every link of the table of contents must lead to an element of the page.
TOC_JS = """
return Array.from(document.querySelectorAll('nav a[href^="#"]'))
  .filter(a => !document.getElementById(decodeURIComponent(a.getAttribute('href').slice(1))))
  .map(a => a.getAttribute('href'));
"""


# The flags a root process on a closed network needs: no sandbox (root) and no background
# connections (refused here, many at a time); DevTools over a pipe rather than a port, which
# ChromeDriver calls the more reliable channel. ChromeDriver gives each start a new profile.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--remote-debugging-pipe", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1280,1000")
STARTS = 3


def start_browser():
    """Chromium under ChromeDriver. A start that fails (the browser process exits before the
    session exists) is tried again, up to STARTS times; the last failure is
    raised with ChromeDriver's log, so the cause can be read in CI's output."""
    for attempt in range(1, STARTS + 1):
        log = pathlib.Path(tempfile.mkdtemp(prefix="gradlab-chromedriver-")) / "log"
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in FLAGS:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        service = Service("/usr/bin/chromedriver", service_args=["--verbose", "--enable-chrome-logs"], log_output=str(log))
        try:
            return webdriver.Chrome(service=service, options=options)
        except SessionNotCreatedException as error:
            print(f"chromium did not start (attempt {attempt} of {STARTS}): {error.msg}",
                  file=sys.stderr)
            if attempt == STARTS:
                tail = log.read_text(errors="replace").splitlines()[-40:] if log.exists() else []
                print("chromedriver's log, last lines:", *tail, sep="\n", file=sys.stderr)
                raise
            time.sleep(2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("page", type=pathlib.Path)
    parser.add_argument("--screenshot", type=pathlib.Path)
    parser.add_argument("--min-figures", type=int, default=1)
    args = parser.parse_args()
    url = args.page.resolve().as_uri()

    driver = start_browser()
    problems = []
    try:
        driver.get(url)
        figures = driver.execute_script(FIGURES_JS)
        if len(figures) < args.min_figures:
            problems.append(f"{len(figures)} figures, expected at least {args.min_figures}")
        for f in figures:
            if f["width"] <= 0 or f["height"] <= 0:
                problems.append(f"figure {f['index']} ({f['title']}): a zero-size box")
            if f["marks"] == 0:
                problems.append(f"figure {f['index']} ({f['title']}): no drawn marks")
        for href in driver.execute_script(TOC_JS):
            problems.append(f"table of contents: {href} leads nowhere")
        for entry in driver.get_log("browser"):
            if entry["level"] in ("SEVERE", "WARNING"):
                problems.append(f"console {entry['level']}: {entry['message']}")
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                requested = message["params"]["request"]["url"]
                if requested != url and not requested.startswith("data:"):
                    problems.append(f"requested {requested}")
        if args.screenshot:
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, min(int(height) + 100, 30000))
            driver.save_screenshot(str(args.screenshot))
        print(f"{args.page}: {len(figures)} figures, "
              f"{sum(f['marks'] for f in figures)} drawn marks")
    finally:
        driver.quit()
    for p in problems:
        print(f"{args.page}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
