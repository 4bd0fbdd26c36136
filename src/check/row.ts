// One line of `kvip check`: what was checked, whether it passed, and what was found or what to do. Printed
// as a table (a mark, the check, the detail) with a count at the end, or as JSON.
import { ConfigError } from '../config/index.js';

export interface CheckRow {
  check: string;
  ok: boolean;
  /** What was found, or what is wrong and what to do. */
  detail: string;
}

/** An error as one line, its errno code first when the message does not already name it. */
export function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = e instanceof Error ? e.message : String(err);
  return e.code && !text.includes(e.code) ? `${e.code}: ${text}` : text;
}

/** A row that could not run because a check it depends on failed: it fails too, and says why. */
export function notChecked(check: string, because: string): CheckRow {
  return { check, ok: false, detail: `not checked: ${because}` };
}

/** The rows as a table: one line each, ✓ or ✗, the check, what was found or what to do. */
export function formatCheck(rows: CheckRow[]): string {
  const width = Math.max(...rows.map((r) => r.check.length));
  return rows.map((r) => `${r.ok ? '✓' : '✗'} ${r.check.padEnd(width)}  ${r.detail}`).join('\n') + '\n';
}

export type CheckFormat = 'table' | 'json';

export function checkFormat(value: unknown): CheckFormat {
  if (value === 'table' || value === 'json') return value;
  throw new ConfigError(`--output ${String(value)}: table or json`);
}

/** The whole report: the table and "N of M checks passed", or one JSON object. */
export function formatReport(rows: CheckRow[], format: CheckFormat): string {
  const passed = rows.filter((r) => r.ok).length;
  if (format === 'json') return JSON.stringify({ rows, passed, total: rows.length }, null, 2) + '\n';
  return `${formatCheck(rows)}${passed} of ${rows.length} checks passed\n`;
}
