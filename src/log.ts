// Structured logs (pino, one JSON line per event). Secrets never reach a log line: no code logs the config
// object, and pino's redaction blanks the fields a secret could travel in, as a second line of defence.
import pino from 'pino';

/** What every module logs through: pino's shape, so tests can pass a recorder instead. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const REDACTED_FIELDS = [
  'token',
  'password',
  'packetKey',
  'peerPass',
  'md5_password',
  '*.token',
  '*.password',
  '*.packetKey',
  '*.peerPass',
  '*.md5_password',
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
