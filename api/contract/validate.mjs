#!/usr/bin/env node
// The contract test: checks every HTTP exchange that the .NET HTTP suite recorded (NDJSON, one
// exchange a line, written by tests/Kassa.Server.Tests/Infrastructure/ExchangeRecorder.cs) against
// the committed OpenAPI document with an independent validator, express-openapi-validator.
//
// Each exchange is replayed through a local express app that holds the validator: the request goes
// in, the app answers with the recorded response, and the validator checks both. Rules:
//   - every response must match the document's response for its operation and status
//     (an undocumented status or route is a violation);
//   - a request the server accepted (2xx) must match the operation's parameters and body schema;
//     requests refused on purpose (4xx) are not held to the schema, but their error answers are;
//   - routes kept out of the document on purpose (test-only, bench, the docs page, the document
//     itself) are skipped.
// Prints a summary and exits 1 on any violation.
//
// Usage: node contract/validate.mjs <exchanges.ndjson> [openapi.json]
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import express from 'express';
import * as OpenApiValidator from 'express-openapi-validator';

const here = path.dirname(fileURLToPath(import.meta.url));
const exchangesFile = process.argv[2];
const documentFile = process.argv[3] ?? path.join(here, '..', 'openapi.json');
if (!exchangesFile) {
  console.error('usage: node contract/validate.mjs <exchanges.ndjson> [openapi.json]');
  process.exit(2);
}

// Routes that are not part of the public contract, so not in the document.
const skippedPrefixes = ['/v1/test_only/', '/v1/bench_baseline/', '/docs/', '/openapi/'];
// At most this many example exchanges are printed per distinct violation, to keep the log readable.
const examplesPerViolation = 2;
// Replays in flight at once: enough to keep both cores busy, few enough to keep sockets bounded.
const concurrency = 8;

const document = JSON.parse(fs.readFileSync(documentFile, 'utf8'));

// Path templates of the document, to name an exchange's operation and spot undocumented routes.
const templates = Object.entries(document.paths).map(([template, item]) => ({
  template,
  item,
  regex: new RegExp('^' + template.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '{' || c === '}' ? c : '\\' + c))
    .replace(/\{[^}]+\}/g, '[^/]+') + '$'),
  literals: template.split('/').filter((s) => !s.startsWith('{')).length,
  // A segment that mixes a parameter and text ({id}.html) is more specific than a bare parameter, as in
  // ASP.NET Core's route precedence: among templates with as many literal segments, more literal text wins.
  literalChars: template.replace(/\{[^}]+\}/g, '').length,
}));

function findOperation(method, urlPath) {
  // The most literal template wins, as in the server's router (/v1/meter_events/batch before /v1/meter_events/{id}).
  const matches = templates.filter((t) => t.regex.test(urlPath)).sort((a, b) => b.literals - a.literals || b.literalChars - a.literalChars);
  if (matches.length === 0) return { template: null, operation: null };
  for (const m of matches) {
    const operation = m.item[method.toLowerCase()];
    if (operation) return { template: m.template, operation };
  }
  return { template: matches[0].template, operation: null };
}

// One app validates requests and responses (for accepted requests), one only responses (refused ones).
function validatorApp(validateRequests) {
  const app = express();
  // Read the body as text and parse it here: a validator must see exactly what the server was sent.
  app.use(express.text({ type: () => true, limit: '2mb' }));
  app.use((req, _res, next) => {
    if (typeof req.body === 'string' && req.body.length > 0) {
      try {
        req.body = JSON.parse(req.body);
      } catch {
        // Left as text: only refused requests carry bodies that are not JSON, and those are not validated.
      }
    } else if (typeof req.body === 'string') {
      req.body = undefined;
    }
    next();
  });
  app.use(OpenApiValidator.middleware({
    apiSpec: structuredClone(document),
    // The server ignores query parameters it does not know (the hostile-input tests send many), and
    // OpenAPI has no way to forbid them; the ones the document names are checked.
    // allErrors: every problem of an exchange is reported, not only the first (the schemas are our own).
    validateRequests: validateRequests ? { allowUnknownQueryParameters: true, allErrors: true } : false,
    validateResponses: { removeAdditional: false, allErrors: true },
    validateSecurity: false,
    validateFormats: true,
    ignoreUndocumented: false,
  }));
  app.use((req, res) => {
    const exchange = pending.get(req.headers['x-contract-exchange']);
    res.status(exchange.status);
    const type = exchange.response_headers['content-type'] ?? '';
    if (type) res.set('content-type', type);
    if (exchange.response_json !== undefined) res.json(exchange.response_json);
    else res.send(exchange.response_body ?? '');
  });
  app.use((err, _req, res, _next) => {
    res.status(599).json({ message: err.message, status: err.status, errors: err.errors ?? [] });
  });
  return app;
}

const pending = new Map();

function listen(app) {
  return new Promise((resolve) => {
    const server = http.createServer(app);
    // Node closes a keep-alive socket idle for 5 s by default; a replay that picks that socket up just as
    // it closes fails with "socket hang up" (seen in CI). Idle sockets are kept far longer than a run's gaps.
    server.keepAliveTimeout = 120000;
    server.headersTimeout = 125000;
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// A refused request whose path holds bytes that are not UTF-8 (the hostile-input tests send them)
// cannot be routed by the validator; its segment is replaced, since only its answer is checked.
function replayPath(exchange) {
  const accepted = exchange.status >= 200 && exchange.status < 300;
  return exchange.path.split('/').map((segment) => {
    try {
      decodeURIComponent(segment);
      return segment;
    } catch {
      return accepted ? segment : 'undecodable_segment';
    }
  }).join('/');
}

// The query re-encoded the strict way (a ':' in a timestamp as %3A): the same values, in the form
// the validator insists on for parameters that do not allow reserved characters.
function replayQuery(query) {
  if (!query) return '';
  try {
    return '?' + new URLSearchParams(query).toString();
  } catch {
    return '?' + query;
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

// A reused keep-alive socket can still be reset by the validator's server in the moment it is picked
// up; the replay is then sent again on a fresh connection (it has no effect: the validator only reads it).
async function replay(port, id, exchange) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await replayOnce(port, id, exchange, attempt === 1 ? agent : false);
    } catch (e) {
      if (attempt >= 3 || (e.code !== 'ECONNRESET' && e.code !== 'EPIPE')) throw e;
    }
  }
}

function replayOnce(port, id, exchange, connectionAgent) {
  return new Promise((resolve, reject) => {
    const headers = { 'x-contract-exchange': id };
    for (const name of ['content-type', 'accept']) {
      if (exchange.request_headers[name]) headers[name] = exchange.request_headers[name];
    }
    const body = exchange.request_body ?? '';
    if (body.length > 0 && !headers['content-type']) headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
    const target = replayPath(exchange) + replayQuery(exchange.query);
    const req = http.request({ host: '127.0.0.1', port, method: exchange.method, path: target, headers, agent: connectionAgent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const violations = new Map();
const stats = { checked: 0, skipped: 0, requestsChecked: 0, truncated: 0 };
const byEngine = {};

function violation(exchange, operationName, pointer, message) {
  const key = `${operationName} | ${exchange.status} | ${pointer} | ${message}`;
  let v = violations.get(key);
  if (!v) violations.set(key, (v = { operationName, status: exchange.status, pointer, message, count: 0, examples: [] }));
  v.count++;
  if (v.examples.length < examplesPerViolation) {
    v.examples.push(`${exchange.engine} ${exchange.method} ${exchange.path}${exchange.query ? '?' + exchange.query : ''}` +
      (exchange.request_body ? ` request ${exchange.request_body.slice(0, 300)}` : '') +
      ` -> ${exchange.status} ${(exchange.response_body ?? '').slice(0, 300)}`);
  }
}

async function check(ports, n, exchange) {
  if (skippedPrefixes.some((p) => exchange.path.startsWith(p))) {
    stats.skipped++;
    return;
  }
  byEngine[exchange.engine] = (byEngine[exchange.engine] ?? 0) + 1;
  stats.checked++;
  const { template, operation } = findOperation(exchange.method, exchange.path);
  const name = operation?.operationId ?? `${exchange.method} ${template ?? exchange.path}`;
  if (!operation) {
    // Probing a route or method that does not exist is fine as long as the answer is a refusal:
    // 404/405, or 401 because /v1 authenticates before it routes; 400/414/431 are the pipeline's
    // refusals of a request it cannot read (unstorable path, bad header, over the limits) before routing.
    if (![400, 401, 404, 405, 414, 431].includes(exchange.status)) violation(exchange, name, '', 'the route is not in the document');
    return;
  }
  if (!operation.responses?.[String(exchange.status)] && !operation.responses?.default) {
    violation(exchange, name, '', `status ${exchange.status} is not documented for this operation`);
    return;
  }
  if (exchange.request_body_truncated || exchange.response_body_truncated) {
    stats.truncated++;
    return;
  }
  const type = exchange.response_headers['content-type'] ?? '';
  if (type.startsWith('application/json') && exchange.response_body) {
    try {
      exchange.response_json = JSON.parse(exchange.response_body);
    } catch {
      violation(exchange, name, '', 'the response says application/json but its body is not JSON');
      return;
    }
  }
  const documented = operation.responses[String(exchange.status)] ?? operation.responses.default;
  const hasBody = (exchange.response_body ?? '').length > 0;
  if (hasBody && !documented.content) violation(exchange, name, '', 'a body is answered where the document says there is none');
  if (!hasBody && documented.content && exchange.method !== 'HEAD') violation(exchange, name, '', 'no body is answered where the document describes one');
  if (documented.content && hasBody && !Object.keys(documented.content).some((t) => type.startsWith(t))) {
    violation(exchange, name, '', `content type ${type} is not documented`);
  }
  // A batch whose events were partly refused (listed in "rejected") was refused on purpose too:
  // its request is not held to the schema, its answer is.
  const partlyRefused = Array.isArray(exchange.response_json?.rejected) && exchange.response_json.rejected.length > 0;
  const accepted = exchange.status >= 200 && exchange.status < 300 && !partlyRefused;
  if (accepted) stats.requestsChecked++;
  const id = String(n);
  pending.set(id, exchange);
  try {
    const result = await replay(accepted ? ports.strict : ports.lenient, id, exchange);
    if (result.status === 599) {
      const err = JSON.parse(result.text);
      const errors = err.errors.length > 0 ? err.errors : [{ path: '', message: err.message }];
      for (const e of errors) {
        const side = (e.path ?? '').startsWith('/response') || /response/i.test(err.message) ? 'response' : 'request';
        violation(exchange, name, `${side} ${e.path ?? ''}`.trim(), e.message);
      }
    }
  } finally {
    pending.delete(id);
  }
}

const strict = await listen(validatorApp(true));
const lenient = await listen(validatorApp(false));
const ports = { strict: strict.address().port, lenient: lenient.address().port };

const lines = readline.createInterface({ input: fs.createReadStream(exchangesFile), crlfDelay: Infinity });
let n = 0;
const inFlight = new Set();
for await (const line of lines) {
  if (!line.trim()) continue;
  const task = check(ports, n++, JSON.parse(line.replace(/^\uFEFF/, ''))).finally(() => inFlight.delete(task));
  inFlight.add(task);
  if (inFlight.size >= concurrency) await Promise.race(inFlight);
}
await Promise.all(inFlight);
strict.close();
lenient.close();
agent.destroy();

const total = [...violations.values()].reduce((s, v) => s + v.count, 0);
console.log(`contract: ${stats.checked} exchanges checked against ${path.basename(documentFile)} ` +
  `(${Object.entries(byEngine).map(([e, c]) => `${e} ${c}`).join(', ')}), ` +
  `${stats.requestsChecked} accepted requests held to their schema, ${stats.skipped} on undocumented test/bench routes skipped, ` +
  `${stats.truncated} with bodies too large to record`);
if (stats.checked === 0) {
  console.log('contract: no exchange was recorded: is KASSA_RECORD_EXCHANGES set for the HTTP suite?');
  process.exit(1);
}
for (const v of [...violations.values()].sort((a, b) => a.operationName.localeCompare(b.operationName) || a.status - b.status)) {
  console.log(`VIOLATION ${v.operationName} ${v.status} ${v.pointer}: ${v.message} (${v.count}x)`);
  for (const e of v.examples) console.log(`    e.g. ${e}`);
}
console.log(`contract: ${total} violations (${violations.size} distinct)`);
process.exit(total === 0 ? 0 : 1);
