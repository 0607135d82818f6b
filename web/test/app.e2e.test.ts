/**
 * The web app's screens in a real browser against the real platform: sign up → the empty
 * workspace list → create and rename a workspace → its home → add the test PostgreSQL
 * (DATABASE_URL, loopback) → test it and see each step → the API's field error on a duplicate
 * name → sign out, and signed-out visitors are sent to /login.
 *
 * Every screen is saved at 1280 and 768 px under web/test/artifacts/ and checked with axe-core:
 * no serious or critical violations. GraphQL requests per page view are printed for the report.
 *
 * Needs `web/.next` (next build) and `workers/dist` (tsc -b workers).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import { startWeb, type RunningWeb } from './start-web';
import { startAppPlatform, type AppPlatform } from './app-platform';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = path.join(__dirname, 'artifacts');
const WIDTHS = [1280, 768] as const;

jest.setTimeout(240_000);

let browser: Browser;
let app: AppPlatform;
let web: RunningWeb;
const requestsPerView: Record<string, number> = {};
let firstLoadJs = 'not measured';

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  app = await startAppPlatform();
  // A small source to discover, in this run's throwaway database (loopback, the test PostgreSQL).
  await app.platform.sources.auth.query(`
    CREATE SCHEMA shop;
    CREATE TABLE shop.customers (id int PRIMARY KEY, email text NOT NULL, country text);
    CREATE TABLE shop.orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES shop.customers (id), status text NOT NULL, total numeric(10,2));
    INSERT INTO shop.customers SELECT g, 'c' || g || '@example.com', (ARRAY['DE','FR','US'])[1 + g % 3] FROM generate_series(1, 30) g;
    INSERT INTO shop.orders SELECT g, 1 + g % 30, (ARRAY['paid','paid','shipped','refunded'])[1 + g % 4], g * 1.5 FROM generate_series(1, 120) g;
    ANALYZE shop.customers; ANALYZE shop.orders;
  `);
  web = await startWeb({ gatewayUrl: app.gatewayUrl });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await app?.stop();
  console.log(`GraphQL requests per page view: ${JSON.stringify(requestsPerView)}; first-load JS of the home page: ${firstLoadJs}`);
});

/** Saves the screen at each width and asserts axe finds nothing serious or critical. */
async function capture(page: Page, name: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(250); // let Mantine's transitions settle before the picture
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    const axe = await new AxeBuilder({ page }).analyze();
    const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(bad.map((v) => `${name}@${width}: ${v.id} — ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)).toEqual([]);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/**
 * Counts the GraphQL requests of one page view: from the navigation until the screen shows
 * `ready` and nothing more is asked for half a second.
 */
async function visit(page: Page, name: string, go: () => Promise<unknown>, ready: () => Promise<unknown>): Promise<void> {
  let count = 0;
  const onRequest = (r: { url: () => string; method: () => string }) => {
    if (r.url().endsWith('/api/graphql') && r.method() === 'POST') count += 1;
  };
  page.on('request', onRequest);
  await go();
  await ready();
  await page.waitForTimeout(500);
  page.off('request', onRequest);
  requestsPerView[name] = count;
}

test('sign up, create a workspace, add and test a PostgreSQL connection, sign out', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('pageerror', (e) => consoleErrors.push(e.message));

  // Signed out: the app sends the visitor to /login.
  await page.goto(`${web.url}/settings/workspaces`);
  await page.waitForURL(/\/login\?next=/);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await capture(page, 'login');

  // Sign up: the password rules follow what is typed.
  await page.getByRole('link', { name: 'Create an organization' }).click();
  await page.getByRole('heading', { name: 'Create your organization' }).waitFor();
  const slug = `acme-${randomUUID().slice(0, 8)}`;
  const email = `ada-${randomUUID().slice(0, 8)}@example.com`;
  const password = 'Correct-horse-42';
  await page.getByLabel('Organization name').fill('Acme Analytics');
  await page.getByLabel('Slug').fill(slug);
  await page.getByLabel('Your name').fill('Ada Lovelace');
  await page.getByLabel('Work e-mail').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('short');
  const rules = page.getByTestId('password-rules').locator('li');
  expect(await rules.evaluateAll((els) => els.map((el) => el.getAttribute('data-met')))).toEqual(['false', 'false', 'true', 'false', 'false']);
  await page.getByLabel('Password', { exact: true }).fill(password);
  expect(await rules.evaluateAll((els) => els.map((el) => el.getAttribute('data-met')))).toEqual(['true', 'true', 'true', 'true', 'true']);
  await capture(page, 'signup');
  await page.getByRole('button', { name: 'Create organization' }).click();

  // Signed in as the organization's first admin, with no workspace yet.
  await page.waitForURL(/\/settings\/workspaces$/);
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === 'dlx_session')?.httpOnly).toBe(true);
  expect(cookies.find((c) => c.name === 'dlx_csrf')).toBeDefined();
  expect(await page.evaluate(() => Object.keys(window.localStorage).filter((k) => /token|session/i.test(k)))).toEqual([]);
  await page.getByTestId('empty-state').waitFor();
  await capture(page, 'workspaces-empty');

  // Create a workspace, then rename it.
  await page.getByRole('button', { name: 'Create a workspace' }).click();
  const create = page.getByRole('dialog', { name: 'New workspace' });
  await create.getByLabel('Name').fill('Analytics');
  expect(await create.getByLabel('Slug').inputValue()).toBe('analytics');
  await capture(page, 'workspace-create');
  await create.getByRole('button', { name: 'Create workspace' }).click();
  await page.getByTestId('workspace-row').first().waitFor();
  await page.getByRole('button', { name: 'Rename Analytics' }).click();
  const rename = page.getByRole('dialog', { name: 'Rename Analytics' });
  await rename.getByLabel('Name').fill('Analytics dev');
  await rename.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('link', { name: 'Analytics dev' }).waitFor();
  await capture(page, 'workspaces');

  // Home of the new workspace: what to do next.
  await visit(
    page,
    'home',
    () => page.getByRole('link', { name: 'Analytics dev' }).click(),
    () => page.getByTestId('quotas').waitFor(),
  );
  await page.waitForURL(/\/w\/[0-9a-f-]{36}$/);
  const workspaceId = /\/w\/([0-9a-f-]{36})/.exec(page.url())![1]!;
  app.startWorker(workspaceId);
  await page.getByTestId('next-steps').getByText('What to do next').waitFor();
  await page.getByTestId('quotas').waitFor();
  expect(await page.getByTestId('workspace-switcher').inputValue()).toBe('Analytics dev · dev');
  await capture(page, 'home');

  // Connect: empty, then the test PostgreSQL.
  await page.setViewportSize({ width: 1280, height: 900 });
  await visit(
    page,
    'connect',
    () => page.getByRole('link', { name: 'Connect' }).first().click(),
    () => page.getByTestId('empty-state').waitFor(),
  );
  await capture(page, 'connect-empty');
  const pg = new URL(process.env.DATABASE_URL!);
  const fillConnection = async (name: string) => {
    const dialog = page.getByRole('dialog', { name: 'Add a connection' });
    await dialog.getByLabel('Name', { exact: true }).fill(name);
    await dialog.getByLabel('Host', { exact: true }).fill(pg.hostname);
    await dialog.getByLabel('Port', { exact: true }).fill(pg.port || '5432');
    await dialog.getByLabel('Database', { exact: true }).fill(app.platform.db.name);
    await dialog.getByLabel('User', { exact: true }).fill(decodeURIComponent(pg.username));
    if (pg.password) await dialog.getByLabel('Password', { exact: true }).fill(decodeURIComponent(pg.password));
    await dialog.getByLabel('Schema (optional)').fill('shop');
    return dialog;
  };
  await page.getByRole('button', { name: 'Add a connection' }).click();
  const dialog = await fillConnection('warehouse-source');
  await capture(page, 'connection-add');
  await dialog.getByRole('button', { name: 'Add connection' }).click();

  // The connection page: test it and watch the steps.
  await page.waitForURL(/\/connect\/[0-9a-f-]{36}$/);
  await page.getByTestId('connection-status').getByText('Not tested').waitFor();
  await page.getByTestId('test-connection').click();
  await page.locator('[data-testid="test-run"][data-state="SUCCESS"]').waitFor({ timeout: 90_000 });
  const steps = page.getByTestId('test-step');
  expect(await steps.count()).toBeGreaterThanOrEqual(3);
  expect(new Set(await steps.evaluateAll((els) => els.map((el) => el.getAttribute('data-status'))))).toEqual(new Set(['SUCCESS']));
  await page.getByTestId('connection-status').getByText('Healthy').waitFor();
  await capture(page, 'connection-tested');
  await visit(
    page,
    'connection (full page load)',
    () => page.reload(),
    () => page.getByTestId('test-run').waitFor(),
  );

  // A full load of the home page: its GraphQL requests and the JavaScript it downloads (for the report).
  await visit(
    page,
    'home (full page load)',
    () => page.goto(`${web.url}/w/${workspaceId}`),
    () => page.getByTestId('quotas').waitFor(),
  );
  const js = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => (e as PerformanceResourceTiming).initiatorType === 'script' || e.name.endsWith('.js'))
      .reduce(
        (sum, e) => ({
          encoded: sum.encoded + (e as PerformanceResourceTiming).encodedBodySize,
          decoded: sum.decoded + (e as PerformanceResourceTiming).decodedBodySize,
        }),
        { encoded: 0, decoded: 0 },
      ),
  );
  firstLoadJs = `${Math.round(js.encoded / 1024)} KiB transferred (${Math.round(js.decoded / 1024)} KiB uncompressed)`;
  expect(js.decoded).toBeGreaterThan(0);

  // Back to the list: healthy; a second connection with the same name gets the API's error on its field.
  await page.getByRole('link', { name: 'Connect' }).first().click();
  await page.getByTestId('connection-row').getByText('Healthy').waitFor();
  await capture(page, 'connect');
  await page.getByRole('button', { name: 'Add connection' }).click();
  const again = await fillConnection('warehouse-source');
  await again.getByRole('button', { name: 'Add connection' }).click();
  await again.getByText(/already/i).waitFor();
  expect(await again.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
  await capture(page, 'connection-add-error');
  await again.getByRole('button', { name: 'Cancel' }).click();

  // Data Sources: discover the source with its progress, then browse schema → table → column.
  await page.getByRole('link', { name: 'Data Sources' }).first().click();
  await page.getByTestId('source-card').first().waitFor();
  await capture(page, 'sources');
  await visit(
    page,
    'source browser',
    () => page.getByRole('link', { name: 'warehouse-source' }).click(),
    () => page.getByTestId('empty-state').waitFor(),
  );
  await capture(page, 'source-undiscovered');
  await page.getByTestId('discover').click();
  await page.getByTestId('discovery-progress').waitFor();
  await page.getByTestId('source-tree').waitFor({ timeout: 90_000 });
  await page.getByTestId('tree-table').filter({ hasText: 'orders' }).click();
  await page.getByTestId('table-detail').getByRole('heading', { name: 'shop.orders' }).waitFor();
  expect(await page.getByTestId('table-detail').innerText()).toContain('customer_id → ');
  expect(await page.getByTestId('column-row').count()).toBe(4);
  await page.getByTestId('column-row').filter({ hasText: 'status' }).click();
  await page.getByTestId('top-values').getByText('Top values of status').waitFor();
  await page.getByTestId('top-values').locator('svg').first().waitFor();
  await page.getByLabel('Search tables and columns').fill('email');
  expect(await page.getByTestId('tree-table').allInnerTexts()).toEqual([expect.stringContaining('customers')]);
  await page.getByLabel('Search tables and columns').fill('');
  await capture(page, 'source-table');

  // Pipelines & Runs: create a pipeline over the source with a schedule in words, run it now, watch the run.
  await visit(
    page,
    'pipelines',
    () => page.getByRole('link', { name: 'Pipelines & Runs' }).first().click(),
    () => page.getByTestId('empty-state').waitFor(),
  );
  await capture(page, 'pipelines-empty');
  await page.getByRole('button', { name: 'Create a pipeline' }).click();
  const pipelineDialog = page.getByRole('dialog', { name: 'New pipeline' });
  await pipelineDialog.getByLabel('Name', { exact: true }).fill('Nightly load');
  await pipelineDialog.getByLabel('warehouse-source').check();
  await pipelineDialog.getByLabel('Schedule (cron, optional)').fill('0 6 * * *');
  await pipelineDialog.getByText('At 06:00').waitFor();
  await capture(page, 'pipeline-create');
  await pipelineDialog.getByRole('button', { name: 'Create pipeline' }).click();
  await page.getByTestId('pipeline-row').filter({ hasText: 'Nightly load' }).waitFor();
  expect(await page.getByTestId('pipeline-row').innerText()).toContain('warehouse-source');
  await capture(page, 'pipelines');
  // This test platform's worker provisions no warehouse (no WAREHOUSE_ADMIN_URL), so the API refuses
  // the run: the page says why and what to do.
  await page.getByRole('button', { name: 'Run now: Nightly load' }).click();
  const refused = page.locator('.mantine-Notification-root').filter({ hasText: 'Nightly load did not start' });
  await refused.waitFor();
  expect(await refused.innerText()).toContain("The workspace's warehouse is not ready");
  await refused.getByRole('button', { name: 'Close' }).click();

  // The run page, on the connection test run from the latest runs: state, timings, steps.
  await page.getByTestId('runs').getByRole('link', { name: 'Connection test' }).first().click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  await page.getByRole('heading', { level: 1, name: 'Connection test' }).waitFor();
  expect(await page.getByTestId('run-summary').getAttribute('data-state')).toBe('SUCCESS');
  expect(await page.getByTestId('run-step').count()).toBeGreaterThanOrEqual(3);
  await capture(page, 'run');

  // Sign out: back to /login, and the app is closed again.
  await page.getByTestId('user-menu').click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login$/);
  expect((await context.cookies()).find((c) => c.name === 'dlx_session')).toBeUndefined();
  await page.goto(`${web.url}/w/${workspaceId}`);
  await page.waitForURL(/\/login\?next=/);

  expect(consoleErrors).toEqual([]);
  await context.close();
});
