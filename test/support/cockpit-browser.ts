import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium (`.ci/run` installs it); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launches Chromium headless for the cockpit's browser tests (playwright-core). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/**
 * Opens the cockpit the monitor at `monitorUrl` serves, signed in with `token` (the `#token=` link), and
 * waits for its WebSocket to be open. Uncaught page errors are collected in `errors`.
 */
export async function openCockpitPage(
  browser: Browser,
  monitorUrl: string,
  token: string,
  errors: string[] = [],
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1300 } });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${monitorUrl}/#token=${token}`);
  await page.getByTestId('connection-status').filter({ hasText: 'open' }).waitFor({ timeout: 15_000 });
  return page;
}

/** The text of the first element with `testId` ('' when there is none). */
export async function testIdText(page: Page, testId: string): Promise<string> {
  const element = page.getByTestId(testId).first();
  return (await element.count()) === 0 ? '' : ((await element.textContent()) ?? '');
}

/** Waits until the element's text satisfies `match`, and returns it; the error says what it last was. */
export async function textWhere(
  page: Page,
  testId: string,
  match: (text: string) => boolean,
  timeoutMs = 10_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await testIdText(page, testId);
    if (match(text)) {
      return text;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${testId} to match; it shows: ${text.slice(0, 400)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
