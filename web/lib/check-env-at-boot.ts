import { WebEnvError, parseWebEnv } from './env';

/**
 * Validates the environment when `next start` boots: a bad GATEWAY_URL stops the server with
 * every problem listed, instead of failing on the first request.
 */
try {
  parseWebEnv();
} catch (error) {
  if (!(error instanceof WebEnvError)) throw error;
  console.error(error.message);
  process.exit(1);
}
