// Opens every HTML page of a generated docs site in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) and prints one JSON report: console errors, page errors, failed requests, broken links, whether
// each mermaid diagram rendered an SVG, the h2/h3 headings. Saves a screenshot of the index. For the pages named after
// PNG (relative to SITE) it also reports the visible text of <main>. Usage: node check_site.mjs SITE PNG [PAGE...].
import { chromium } from "playwright-core";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [site, screenshot] = process.argv.slice(2, 4).map((p) => resolve(p));
const textPages = new Set(process.argv.slice(4));
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

function htmlFiles(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? htmlFiles(path) : name.endsWith(".html") ? [path] : [];
  });
}

const profile = mkdtempSync(join(tmpdir(), "eventform-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"],
});
const report = { pages: [], chromium: context.browser()?.version() ?? "persistent" };
try {
  for (const file of htmlFiles(site)) {
    const page = await context.newPage();
    const entry = { page: relative(site, file), consoleErrors: [], pageErrors: [], failedRequests: [],
                    brokenLinks: [], diagrams: 0, svgs: 0, title: "" };
    page.on("console", (m) => { if (m.type() === "error") entry.consoleErrors.push(m.text()); });
    page.on("pageerror", (e) => entry.pageErrors.push(String(e)));
    page.on("requestfailed", (r) => entry.failedRequests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    entry.diagrams = await page.locator("pre.mermaid").count();
    if (entry.diagrams > 0) {
      await page.waitForSelector("pre.mermaid svg", { timeout: 20000 }).catch(() => {});
      entry.svgs = await page.locator("pre.mermaid svg").count();
    }
    entry.title = await page.title();
    entry.headings = await page.$$eval("main h2, main h3", (hs) => hs.map((h) => h.textContent.trim()));
    if (textPages.has(entry.page)) entry.text = await page.locator("main").innerText();
    const hrefs = await page.$$eval("a[href]", (links) => links.map((a) => a.href));
    for (const href of hrefs) {
      if (!href.startsWith("file:")) { entry.brokenLinks.push(`${href} (not a local link)`); continue; }
      const target = fileURLToPath(href.split("#")[0]);
      if (!existsSync(target)) entry.brokenLinks.push(relative(site, target));
    }
    entry.links = hrefs.length;
    if (entry.page === "index.html" && screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    report.pages.push(entry);
    await page.close();
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(report));
