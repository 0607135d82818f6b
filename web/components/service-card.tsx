import { latestMigration, type ServiceView } from '../lib/platform-health';
import { formatDateTime, formatLatency, splitDatabaseVersion } from './format';
import styles from './health-dashboard.module.css';

export function ServiceCard({ view }: { view: ServiceView }) {
  const { key, label, status, errors, ok } = view;
  const latest = status ? latestMigration(status.migrations) : null;
  const database = status ? splitDatabaseVersion(status.database) : null;
  return (
    <article className={`${styles.card} ${ok ? styles.cardOk : styles.cardDown}`} data-testid="service-card" data-service={key} data-ok={ok ? 'true' : 'false'}>
      <header className={styles.cardHeader}>
        <h2 className={styles.cardTitle}>{label}</h2>
        <span className={`${styles.badge} ${ok ? styles.badgeOk : styles.badgeDown}`}>{ok ? 'OK' : 'DOWN'}</span>
      </header>
      {status ? (
        <>
          <p className={styles.serviceName}>{status.service}</p>
          <dl className={styles.facts}>
            <dt>Database</dt>
            <dd title={status.database}>
              {database?.main}
              {database?.detail && <span className={styles.muted}>{database.detail}</span>}
            </dd>
            <dt>Latency</dt>
            <dd>{formatLatency(status.latencyMs)}</dd>
            <dt>Migrations</dt>
            <dd data-testid="migration-count">{status.migrations.length === 0 ? 'none applied' : `${status.migrations.length} applied`}</dd>
            <dt>Latest</dt>
            <dd>
              {latest ? (
                <>
                  <code className={styles.migration}>{latest.name}</code>
                  <span className={styles.muted}>
                    written <time dateTime={latest.version}>{formatDateTime(latest.version, 'minutes')}</time>
                  </span>
                </>
              ) : (
                <span className={styles.muted}>—</span>
              )}
            </dd>
          </dl>
        </>
      ) : (
        <p className={styles.noAnswer}>No answer from this service.</p>
      )}
      {errors.length > 0 && (
        <ul className={styles.cardErrors}>
          {errors.map((message, i) => (
            <li key={i}>{message}</li>
          ))}
        </ul>
      )}
    </article>
  );
}
