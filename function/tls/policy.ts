// The TLS the webhook serves: what the API server needs and nothing weaker. Set explicitly on
// every secure context (at start and on each reload), because Node's defaults come from
// NODE_OPTIONS (--tls-min-v1.0, --tls-cipher-list) and the OpenSSL config, which an image or a
// pod spec can change. TLS 1.3's suites are all AEAD; for 1.2, ECDHE with AES-GCM or
// ChaCha20-Poly1305 only (no CBC, no static RSA key exchange), all of which Go's client offers.
import type { SecureContextOptions } from 'node:tls';

export const TLS_POLICY = Object.freeze({
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
} satisfies SecureContextOptions);
