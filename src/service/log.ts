// Structured logs (pino, one JSON line per event). Secrets never reach a log line: no code logs the config
// object, and pino's redaction blanks the fields a secret could travel in, as a second line of defence.
import pino from 'pino';
import type { Logger } from '../election/index.js';

export const REDACTED_FIELDS = [
  'token',
  'password',
  'packetKey',
  'peerPass',
  '*.token',
  '*.password',
  '*.packetKey',
  '*.peerPass',
];

export function createLogger(
  level: string,
  destination: NodeJS.WritableStream = process.stderr,
): Logger & pino.Logger {
  return pino(
    {
      level,
      base: { app: 'kvip' },
      redact: { paths: REDACTED_FIELDS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
