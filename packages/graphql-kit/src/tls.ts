/*
 * The platform's TLS server policy, without dependencies: the subgraphs and the gateway (through
 * `serverTlsFromEnv`) and any other node https server of the platform (the web app's) serve with
 * the same cipher list and HSTS value.
 */

/**
 * TLS 1.2 and 1.3 only, forward-secret AEAD suites (TLS 1.3's own suites are always on and not
 * listed here): the Mozilla "intermediate" set.
 */
export const TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** HSTS for browser-facing responses served over TLS (a year; the platform serves only https then). */
export const HSTS_HEADER_VALUE = 'max-age=31536000';
