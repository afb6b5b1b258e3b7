// Opens pgvigil's status page in headless Chromium (Debian's) through Playwright and prints, as
// JSON, what a person would see: the HTTP status, the targets in the table, the charts with how
// many points each draws and the last value of every line, each target's detail headings and
// replication and maintenance blocks, requests to other origins, and script errors. The Python test (tests/e2e/test_status_page.py) asserts on it.
//   node status_page.js PLAYWRIGHT_CORE_DIR URL [--user=U --password=P] [--width=N]
//        [--screenshot=FILE]
"use strict";

const [playwrightDir, url, ...rest] = process.argv.slice(2);
const options = Object.fromEntries(rest.map((a) => a.replace(/^--/, "").split(/=(.*)/s).slice(0, 2)));
const { chromium } = require(playwrightDir);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.PGVIGIL_CHROMIUM || "/usr/bin/chromium",
    // Chromium's sandbox refuses to run as root, which the test suite is.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const result = { status: null, external_requests: [], errors: [], targets: [], charts: [] };
  try {
    const width = Number(options.width || 1280);
    const context = await browser.newContext({
      viewport: { width, height: width < 600 ? 844 : 900 },
      httpCredentials: options.user ? { username: options.user, password: options.password } : undefined,
    });
    const page = await context.newPage();
    const origin = new URL(url).origin;
    page.on("request", (request) => {
      if (!request.url().startsWith(origin) && !request.url().startsWith("data:")) {
        result.external_requests.push(request.url());
      }
    });
    page.on("pageerror", (error) => result.errors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") result.errors.push(message.text());
    });
    // Without credentials Chromium fails the navigation after the 401; the response says it.
    page.on("response", (response) => {
      if (response.url() === url && result.status === null) result.status = response.status();
    });
    const response = await page.goto(url).catch((error) => {
      if (result.status === 401) return null;
      throw error;
    });
    if (response) result.status = response.status();
    if (result.status === 200) {
      await page.waitForFunction(() => Number(document.body.dataset.refreshed || 0) >= 1 &&
                                       document.querySelectorAll(".chart[data-points]").length > 0,
                                 null, { timeout: 20000 });
      Object.assign(result, await page.evaluate(() => ({
        targets: [...document.querySelectorAll("#summary tbody tr")].map((row) => ({
          name: row.dataset.target,
          status: row.querySelector(".badge").textContent,
        })),
        charts: [...window.pgvigil.charts.entries()].map(([id, entry]) => ({
          id,
          points: Number(entry.element.dataset.points),
          canvas: (() => {
            const canvas = entry.element.querySelector("canvas");
            return canvas ? { width: canvas.width, height: canvas.height } : null;
          })(),
          last: Object.fromEntries(entry.plot.series.slice(1).map((series, i) => {
            const values = entry.plot.data[i + 1].filter((v) => v !== null && v !== undefined);
            return [series.label, values.length ? values[values.length - 1] : null];
          })),
        })),
        // Each target's section: the headings of its details, and the text of its replication
        // and maintenance blocks (null when the page shows none).
        sections: [...document.querySelectorAll("section.target")].map((section) => ({
          id: section.id,
          headings: [...section.querySelectorAll(".details h3")].map((h) => h.textContent),
          replication: (section.querySelector(".details .replication") || {}).textContent || null,
          maintenance: (section.querySelector(".details .maintenance") || {}).textContent || null,
        })),
        overflow: document.documentElement.scrollWidth > window.innerWidth,
        refreshed: Number(document.body.dataset.refreshed),
      })));
      if (options.screenshot) await page.screenshot({ path: options.screenshot, fullPage: true });
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(result) + "\n");
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + "\n");
  process.exit(1);
});
