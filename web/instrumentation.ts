/**
 * Runs once when the server starts. The environment check lives in a Node-only module that the
 * Edge build never sees (it calls process.exit).
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    await import('./lib/check-env-at-boot');
  }
}
