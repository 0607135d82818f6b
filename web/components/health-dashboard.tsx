'use client';

import { useCallback, useSyncExternalStore } from 'react';
import { useQuery, type CombinedError } from '@urql/next';
import {
  PLATFORM_HEALTH_QUERY,
  SERVICE_KEYS,
  SERVICE_LABELS,
  allErrorMessages,
  generalErrors,
  isGatewayUnreachable,
  serviceViews,
  type PlatformHealthQuery,
} from '../lib/platform-health';
import { ServiceCard } from './service-card';
import { formatDateTime } from './format';
import styles from './health-dashboard.module.css';

const subscribeNothing = () => () => {};

/**
 * True only after hydration. The query runs in the browser (it goes through the same-origin
 * proxy with the user's cookie); the server renders the loading state, and so does the first
 * client render, so hydration always matches.
 */
function useIsClient(): boolean {
  return useSyncExternalStore(
    subscribeNothing,
    () => true,
    () => false,
  );
}

export function HealthDashboard({ gatewayUrl }: { gatewayUrl: string }) {
  const isClient = useIsClient();
  const [result, reexecute] = useQuery<PlatformHealthQuery>({
    query: PLATFORM_HEALTH_QUERY,
    requestPolicy: 'network-only',
    pause: !isClient,
  });
  const refresh = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);

  const { data, error, fetching } = result;
  const platform = data?.platform ?? null;
  const loading = !isClient || (fetching && !platform && !error);
  const busy = loading || fetching;

  let body;
  if (loading) {
    body = <LoadingState />;
  } else if (!platform) {
    body = <ErrorState gatewayUrl={gatewayUrl} error={error} />;
  } else {
    const views = serviceViews(platform, error);
    const down = views.filter((v) => !v.ok).length;
    const problems = generalErrors(error);
    body = (
      <section data-state="ready" aria-live="polite">
        <div className={styles.summaryRow}>
          <p className={down === 0 ? styles.summaryOk : styles.summaryDown} data-testid="summary">
            {down === 0 ? `All ${views.length} services are OK` : `${down} of ${views.length} services ${down === 1 ? 'is' : 'are'} down`}
          </p>
          <p className={styles.checkedAt}>
            Checked at{' '}
            <time dateTime={platform.checkedAt} data-testid="checked-at">
              {formatDateTime(platform.checkedAt)}
            </time>
          </p>
        </div>
        {problems.length > 0 && (
          <div className={styles.warning} role="status">
            <strong>The gateway also reported:</strong>
            <ul>
              {problems.map((message, i) => (
                <li key={i}>{message}</li>
              ))}
            </ul>
          </div>
        )}
        <div className={styles.grid}>
          {views.map((view) => (
            <ServiceCard key={view.key} view={view} />
          ))}
        </div>
      </section>
    );
  }

  return (
    <main className={styles.page}>
      <header className={styles.header}>
        <div>
          <p className={styles.eyebrow}>Control plane</p>
          <h1 className={styles.title}>Datalinx — platform health</h1>
          <p className={styles.subtitle}>Each subgraph reports its database and applied migrations through the gateway.</p>
        </div>
        <button type="button" className={styles.refresh} onClick={refresh} disabled={busy} aria-busy={busy}>
          {busy && <span className={styles.spinner} aria-hidden="true" />}
          {busy ? 'Checking…' : 'Refresh'}
        </button>
      </header>
      {body}
    </main>
  );
}

function LoadingState() {
  return (
    <section data-state="loading" aria-busy="true" aria-live="polite">
      <div className={styles.summaryRow}>
        <p className={styles.summaryPending}>Checking the platform…</p>
      </div>
      <div className={styles.grid}>
        {SERVICE_KEYS.map((key) => (
          <article key={key} className={`${styles.card} ${styles.cardLoading}`}>
            <h2 className={styles.cardTitle}>{SERVICE_LABELS[key]}</h2>
            <div className={styles.skeleton} />
            <div className={styles.skeleton} />
            <div className={styles.skeletonShort} />
          </article>
        ))}
      </div>
    </section>
  );
}

function ErrorState({ gatewayUrl, error }: { gatewayUrl: string; error: CombinedError | undefined }) {
  // The proxy phrases its own failures ("The gateway at … did not answer: …").
  const proxyPhrased = isGatewayUnreachable(error);
  const networkOnly = error?.networkError !== undefined && error.graphQLErrors.length === 0;
  const unreachable = proxyPhrased || networkOnly;
  const messages = error ? allErrorMessages(error) : ['the answer contained no platform data'];
  let detail: string;
  if (proxyPhrased) {
    detail = messages.join('; ');
  } else if (networkOnly) {
    detail = `The gateway at ${gatewayUrl} did not answer: ${messages.join('; ')}`;
  } else {
    detail = `The gateway at ${gatewayUrl} answered with errors: ${messages.join('; ')}`;
  }
  return (
    <section className={styles.error} role="alert" data-state="error">
      <h2 className={styles.errorTitle}>{unreachable ? 'The gateway is not reachable' : 'The health check failed'}</h2>
      <p className={styles.errorDetail} data-testid="error-detail">
        {withoutFinalPeriod(detail)}.
      </p>
      <p className={styles.errorHint}>
        {unreachable ? (
          <>
            Start the platform with <code>npm start</code>.
          </>
        ) : (
          <>
            Check the gateway and subgraph logs, or restart the platform with <code>npm start</code>.
          </>
        )}
      </p>
    </section>
  );
}

function withoutFinalPeriod(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}
