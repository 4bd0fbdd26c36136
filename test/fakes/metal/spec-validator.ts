// Validates responses against the vendored Metal API spec (openapi/) with openapi-backend, as a child process
// driven one JSON line at a time (metal-spec.ts starts it for metal-contract.test.ts). A separate process because
// openapi-backend is CommonJS and requires the ESM-only @apidevtools/json-schema-ref-parser: plain Node 20.19+
// loads that (require(esm)), jest's module loader on Node 20 cannot.
//
//   stdin:  {"id": n, "method", "path" (relative to /metal/v1, may have a query), "status", "body"?}
//        or {"id": n, "operationId", "status", "body"?}        (validate against a named operation)
//   stdout: {"ready": true} once the spec is loaded, then per request
//           {"id": n, "operationId": string | null, "declared": boolean, "json": boolean, "errors": string[]}
//           declared: the operation lists this status; json: it gives an application/json body for it.
import { isIPv4 } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pkg from 'openapi-backend';

type Lib = typeof import('openapi-backend');
const lib = pkg as unknown as Lib & { default?: Lib['OpenAPIBackend'] };
const OpenAPIBackend = lib.OpenAPIBackend ?? lib.default!;

const SPEC = fileURLToPath(new URL('./openapi/openapi3.yaml', import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

const backend = new OpenAPIBackend({
  definition: SPEC,
  // quick: compile each operation's validators on first use. Compiling all of them up front throws on a
  // malformed schema elsewhere in the spec (a `$ref` under `properties` in the virtual-network schemas).
  quick: true,
  validate: true,
  ajvOpts: { strict: false, logger: false },
  customizeAjv: (ajv) => {
    // The formats the fake's responses use are checked; the spec's other (some non-standard) ones are accepted.
    ajv.addFormat('uuid', UUID);
    ajv.addFormat('date-time', DATE_TIME);
    ajv.addFormat('ipv4', (s: string) => isIPv4(s));
    for (const f of ['int32', 'int64', 'float', 'double', 'email', 'date', 'datetime', 'binary', 'string']) {
      ajv.addFormat(f, true);
    }
    return ajv;
  },
});
await backend.init();

interface Ask {
  id: number;
  method?: string;
  path?: string;
  operationId?: string;
  status: number;
  body?: unknown;
}

function answer(q: Ask): Record<string, unknown> {
  let op;
  if (q.operationId) op = backend.router.getOperation(q.operationId);
  else {
    const [path, query = ''] = (q.path ?? '').split('?') as [string, string | undefined];
    op = backend.router.matchOperation({ method: q.method ?? 'GET', path, query, headers: {} });
  }
  if (!op) return { id: q.id, operationId: null, declared: false, json: false, errors: [] };
  const declared = (op.responses as Record<string, { content?: Record<string, unknown> }> | undefined)?.[
    String(q.status)
  ];
  const json = Boolean(declared?.content?.['application/json']);
  // validateResponse finds no validator (and reports valid) for an undeclared status: only ask when declared.
  const r = declared ? backend.validateResponse(q.body, op, q.status) : { errors: null };
  const errors = (r.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  return { id: q.id, operationId: op.operationId, declared: Boolean(declared), json, errors };
}

process.stdout.write(JSON.stringify({ ready: true }) + '\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  let out: Record<string, unknown>;
  try {
    out = answer(JSON.parse(line) as Ask);
  } catch (e) {
    out = { error: (e as Error).message };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
