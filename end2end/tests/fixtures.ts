import { test as base, expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

/** The rules every page must pass: WCAG 2.0, 2.1 and 2.2 at levels A and AA. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * Checks every page a test shows with axe-core. Each document the server sends is checked as it
 * arrives, in a twin page that has JavaScript but runs none of the page's scripts (this is what a
 * browser without JavaScript shows, and what a hydrated page starts from); the live pages are
 * checked once more, as the test left them, when the test has passed. Checking the live page
 * during the test would race its navigations (Playwright cannot read a page while it navigates
 * away). The violations make the test fail at its end, so a spec needs nothing but this `test`.
 */
class AccessibilityWatch {
  private readonly violations: string[] = [];
  private readonly seen = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private twin?: Page;

  constructor(
    private readonly browser: Browser,
    private readonly javaScriptEnabled: boolean,
    private readonly baseURL: string | undefined,
  ) {}

  watchContext(context: BrowserContext) {
    context.on('page', (page) => this.watch(page));
    for (const page of context.pages()) this.watch(page);
  }

  private watch(page: Page) {
    page.on('response', (response) => {
      const request = response.request();
      if (!request.isNavigationRequest() || request.frame() !== page.mainFrame()) return;
      if (!(response.headers()['content-type'] ?? '').includes('text/html')) return;
      const markup = response.text();
      this.enqueue(async () => {
        const html = await markup.catch(() => undefined);
        if (html === undefined) return;
        const key = `${response.url()}\n${html}`;
        if (this.seen.has(key)) return;
        this.seen.add(key);
        await this.analyze(await this.twinWith(response.url(), html), response.url());
      });
    });
  }

  private enqueue(check: () => Promise<void>) {
    this.queue = this.queue.then(check).catch((e) => {
      this.violations.push(`the accessibility check itself failed: ${e}`);
    });
  }

  /** Checks a live page as it is now (after the test, so nothing navigates it any more). */
  async checkLive(page: Page) {
    if (!this.javaScriptEnabled || page.isClosed() || !page.url().startsWith('http')) return;
    this.enqueue(() => this.analyze(page, page.url()));
    await this.queue;
  }

  private async analyze(page: Page, url: string) {
    const results = await new AxeBuilder({ page })
      .withTags(WCAG_TAGS)
      // Legacy mode runs in the page itself; the default opens an extra tab to merge frame results.
      .setLegacyMode(true)
      .analyze();
    for (const v of results.violations) {
      for (const node of v.nodes) {
        const summary = (node.failureSummary ?? '').replace(/\s+/g, ' ').trim();
        const where = new URL(url);
        this.violations.push(`${where.pathname}${where.search} (${page === this.twin ? 'as sent' : 'live'}): ${v.id} (${v.impact}) at ${node.target.join(' ')}: ${summary}`);
      }
    }
  }

  /** The twin page showing the markup at its address, with the site's stylesheet and no scripts. */
  private async twinWith(url: string, markup: string): Promise<Page> {
    const html = markup.replace(/<script\b[\s\S]*?<\/script>/gi, '');
    if (!this.twin) {
      const context = await this.browser.newContext({ baseURL: this.baseURL, javaScriptEnabled: true });
      this.twin = await context.newPage();
    }
    await this.twin.unrouteAll();
    await this.twin.route('**/*', (route) =>
      route.request().isNavigationRequest()
        ? route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html })
        : route.continue(),
    );
    await this.twin.goto(url);
    return this.twin;
  }

  /** Fails the test if any check found a violation. */
  async finish(passed: boolean) {
    await this.queue;
    await this.twin?.context().close();
    if (passed) expect(this.violations, 'WCAG 2.2 AA violations (axe-core) on the pages this test showed').toEqual([]);
  }
}

/**
 * Collects what the pages' scripts report as broken: an uncaught error (a panic of the hydrating
 * app ends as one) or an error logged to the console (Leptos logs a hydration mismatch there).
 * The browser's own notes on a non-2xx response are not script errors and are left out: several
 * journeys open a 403 or 404 page on purpose. Any other error fails the test at its end.
 */
class ScriptErrorWatch {
  private readonly errors: string[] = [];
  private readonly expected: RegExp[] = [];

  /** A test that provokes an error on purpose (an attack the browser refuses) names it here. */
  allow(pattern: RegExp) {
    this.expected.push(pattern);
  }

  watchContext(context: BrowserContext) {
    context.on('page', (page) => this.watch(page));
    for (const page of context.pages()) this.watch(page);
  }

  private watch(page: Page) {
    page.on('pageerror', (e) => this.errors.push(`${page.url()}: uncaught ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource:')) this.errors.push(`${page.url()}: ${m.text()}`);
    });
  }

  finish(passed: boolean) {
    const unexpected = this.errors.filter((e) => !this.expected.some((p) => p.test(e)));
    if (passed) expect(unexpected, 'errors reported by the pages\' scripts (hydration, panics)').toEqual([]);
  }
}

type Fixtures = {
  accessibility: AccessibilityWatch;
  scriptErrors: ScriptErrorWatch;
  /** A page in a fresh browser context (a second person at another computer), checked like `page`. */
  newPage: () => Promise<Page>;
};

export const test = base.extend<Fixtures>({
  accessibility: async ({ browser, javaScriptEnabled, baseURL }, use, testInfo) => {
    const watch = new AccessibilityWatch(browser, javaScriptEnabled, baseURL);
    await use(watch);
    await watch.finish(testInfo.status === testInfo.expectedStatus);
  },
  scriptErrors: async ({}, use, testInfo) => {
    const watch = new ScriptErrorWatch();
    await use(watch);
    watch.finish(testInfo.status === testInfo.expectedStatus);
  },
  context: async ({ context, accessibility, scriptErrors }, use, testInfo) => {
    accessibility.watchContext(context);
    scriptErrors.watchContext(context);
    await use(context);
    if (testInfo.status === testInfo.expectedStatus) for (const page of context.pages()) await accessibility.checkLive(page);
  },
  newPage: async ({ browser, accessibility, scriptErrors }, use, testInfo) => {
    const contexts: BrowserContext[] = [];
    await use(async () => {
      const context = await browser.newContext();
      contexts.push(context);
      accessibility.watchContext(context);
      scriptErrors.watchContext(context);
      return context.newPage();
    });
    // Checked before they close: the accessibility fixture tears down after this one.
    if (testInfo.status === testInfo.expectedStatus)
      for (const context of contexts) for (const page of context.pages()) await accessibility.checkLive(page);
    for (const context of contexts) await context.close();
  },
});

export { expect };
export type { Browser, Page } from '@playwright/test';
