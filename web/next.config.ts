import path from 'node:path';
import type { NextConfig } from 'next';

// npm workspaces hoist dependencies to the repository root, so the root is where Turbopack must
// resolve modules from and where output tracing starts.
const monorepoRoot = path.resolve(__dirname, '..');

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  turbopack: { root: monorepoRoot },
  outputFileTracingRoot: monorepoRoot,
};

export default nextConfig;
