// jest globalSetup of the `browser` and `web-e2e` projects (jest.config.js): chromium must be
// there before a browser test starts. Runs only when jest selected a test of those projects.
// CommonJS (jest loads it untransformed) importing the runners' ESM helpers.
const path = require('node:path');
const { pathToFileURL } = require('node:url');

module.exports = async function chromiumSetup() {
  const lib = (/** @type {string} */ name) => import(pathToFileURL(path.join(__dirname, name)).href);
  const [{ ensureChromium }, { createLog }] = await Promise.all([lib('system.mjs'), lib('log.mjs')]);
  // Test workers are forked after global set-up and inherit this environment.
  process.env.CHROMIUM_PATH = await ensureChromium(createLog('datalinx test'));
};
