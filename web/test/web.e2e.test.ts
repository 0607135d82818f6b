/**
 * The built web app in a real browser (Debian's chromium through playwright-core).
 *
 * - Always: the gateway is down (a port nothing listens on), so the page must show the loading
 *   state, then the error state naming the gateway and telling how to start the platform.
 * - Against the real gateway and five real subgraphs (started in this process on a throwaway
 *   database, or the running gateway named by DLX_TEST_GATEWAY_URL): five service cards, all OK.
 *
 * Needs `web/.next` (run `npx next build` in web/ first).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort, startWeb, type RunningWeb } from './start-web';
import { startPlatform, type Platform } from '../../test/support/platform';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SERVICES = ['auth', 'workspace', 'schema', 'mapping', 'monitoring'];

jest.setTimeout(120_000);

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  return context.newPage();
}

describe('web app with the gateway down', () => {
  let web: RunningWeb;
  let gatewayUrl: string;

  beforeAll(async () => {
    // A port the OS just handed out and we released: connecting to it is refused, exactly what
    // the proxy sees when the platform is not started.
    gatewayUrl = `http://127.0.0.1:${await freePort()}/graphql`;
    web = await startWeb({ gatewayUrl });
  });

  afterAll(async () => {
    await web?.stop();
  });

  test('/healthz answers 200 ok', async () => {
    const response = await fetch(`${web.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
  });

  test('the proxy answers 502 with a GraphQL error naming the gateway', async () => {
    const response = await fetch(`${web.url}/api/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(502);
    const body = (await response.json()) as {
      errors: { message: string; extensions: { code: string; gatewayUrl: string } }[];
    };
    expect(body.errors[0].extensions).toEqual({ code: 'GATEWAY_UNREACHABLE', gatewayUrl });
    expect(body.errors[0].message).toContain(`The gateway at ${gatewayUrl} did not answer:`);
    expect(body.errors[0].message).toContain('ECONNREFUSED');
  });

  test('the proxy only accepts POST', async () => {
    const response = await fetch(`${web.url}/api/graphql?query=%7B__typename%7D`);
    expect(response.status).toBe(405);
  });

  test('the page shows loading, then the error state with the fix', async () => {
    const page = await newPage();
    // Hold the health query back until the loading state has been seen, then let it through
    // to the real (down) gateway.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const seenRequests: { method: string; body: string | null }[] = [];
    await page.route('**/api/graphql', async (route) => {
      seenRequests.push({ method: route.request().method(), body: route.request().postData() });
      await released;
      await route.continue();
    });

    await page.goto(`${web.url}/status`);
    await expect(page.title()).resolves.toBe('Datalinx — platform health');
    await page.getByRole('heading', { level: 1, name: 'Datalinx — platform health' }).waitFor();
    await page.locator('[data-state="loading"]').waitFor();
    expect(await page.getByText('Checking the platform…').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Checking…' }).isDisabled()).toBe(true);

    release();
    // (Not getByRole('alert'): Next.js adds its own route announcer with that role.)
    const alert = page.locator('[data-state="error"]');
    await alert.waitFor();
    expect(await alert.getAttribute('role')).toBe('alert');
    const text = await alert.innerText();
    expect(text).toContain('The gateway is not reachable');
    expect(text).toContain(`The gateway at ${gatewayUrl} did not answer: connect ECONNREFUSED`);
    expect(text).toContain('Start the platform with npm start.');
    expect(await page.getByTestId('service-card').count()).toBe(0);

    // urql must POST (the gateway's CSRF prevention rejects GET queries).
    expect(seenRequests.length).toBeGreaterThanOrEqual(1);
    expect(seenRequests[0].method).toBe('POST');
    expect(seenRequests[0].body).toContain('PlatformHealth');

    await page.context().close();
  });

  test('Refresh runs the check again', async () => {
    const page = await newPage();
    await page.goto(`${web.url}/status`);
    await page.locator('[data-state="error"]').waitFor();
    const refresh = page.getByRole('button', { name: 'Refresh' });
    await refresh.waitFor();
    const [request] = await Promise.all([page.waitForRequest((r) => r.url().endsWith('/api/graphql') && r.method() === 'POST'), refresh.click()]);
    expect(request.postData()).toContain('PlatformHealth');
    await page.locator('[data-state="error"]').waitFor();
    await page.getByRole('button', { name: 'Refresh' }).waitFor();
    await page.context().close();
  });
});

describe('web app against the real gateway', () => {
  let web: RunningWeb;
  let platform: Platform | undefined;

  beforeAll(async () => {
    let gatewayUrl = process.env.DLX_TEST_GATEWAY_URL;
    if (!gatewayUrl) {
      platform = await startPlatform();
      gatewayUrl = platform.gatewayUrl;
    }
    web = await startWeb({ gatewayUrl });
  });

  afterAll(async () => {
    await web?.stop();
    await platform?.stop();
  });

  test('shows one OK card per service', async () => {
    const page = await newPage();
    await page.goto(`${web.url}/status`);
    await page.locator('[data-state="ready"]').waitFor();

    const cards = page.getByTestId('service-card');
    expect(await cards.count()).toBe(5);
    expect(await cards.evaluateAll((els) => els.map((el) => el.getAttribute('data-service')))).toEqual(SERVICES);
    expect(await cards.evaluateAll((els) => els.map((el) => el.getAttribute('data-ok')))).toEqual(SERVICES.map(() => 'true'));
    expect(await page.getByTestId('summary').innerText()).toBe('All 5 services are OK');
    for (const count of await page.getByTestId('migration-count').allInnerTexts()) {
      expect(count).toMatch(/^\d+ applied$/);
    }
    expect(await page.getByText('PostgreSQL', { exact: false }).count()).toBeGreaterThanOrEqual(5);
    const checkedAt = await page.getByTestId('checked-at').getAttribute('datetime');
    expect(Number.isNaN(Date.parse(checkedAt ?? ''))).toBe(false);
    expect(await page.locator('[data-state="error"]').count()).toBe(0);

    await page.context().close();
  });
});
