// jest globalSetup of the `web-e2e` project (jest.config.js): its tests run the built web app
// (`next start`), so chromium must be there and web/.next must hold a build of the current
// inputs (`next build` when they changed; DLX_SKIP_BUILD=1 tests the existing build). Runs only
// when jest selected a test of that project.
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const chromiumSetup = require('./jest-chromium.cjs');

module.exports = async function webAppSetup() {
  await chromiumSetup();
  const lib = (/** @type {string} */ name) => import(pathToFileURL(path.join(__dirname, name)).href);
  const [{ buildWebIfChanged }, { createLog }, { runInherit }, { truthy }] = await Promise.all([
    lib('build.mjs'),
    lib('log.mjs'),
    lib('system.mjs'),
    lib('config.mjs'),
  ]);
  const log = createLog('datalinx test');
  if (truthy(process.env.DLX_SKIP_BUILD)) {
    log.warn('DLX_SKIP_BUILD is set: testing the existing web/.next build');
    return;
  }
  await buildWebIfChanged({
    repoRoot: path.resolve(__dirname, '..', '..'),
    log,
    runTask: ({ cmd, args, cwd, env }) => runInherit(cmd, args, { cwd, env }),
  });
};
