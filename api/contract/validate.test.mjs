// Proves that the contract test can fail: hand-made exchanges, some true to api/openapi.json and
// some not, each run through validate.mjs. Run: node --test contract/ (from api/).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const json = { 'content-type': 'application/json; charset=utf-8' };

function exchange(over) {
  return {
    engine: 'sqlite', method: 'GET', path: '/healthz', query: '', request_headers: {}, request_body: null,
    request_body_truncated: false, status: 200, response_headers: json, response_body: '{"status":"ok"}',
    response_body_truncated: false, ...over,
  };
}

function validate(...exchanges) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kassa-contract-'));
  const file = path.join(dir, 'exchanges.ndjson');
  fs.writeFileSync(file, exchanges.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const run = spawnSync(process.execPath, [path.join(here, 'validate.mjs'), file], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: run.status, out: run.stdout + run.stderr };
}

const missing = JSON.stringify({
  error: { type: 'invalid_request_error', code: 'parameter_missing', message: 'feature_id is required', param: 'feature_id', details: null, request_id: 'req_1' },
});

test('an exchange true to the document passes', () => {
  const r = validate(exchange({}));
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /contract: 1 exchanges checked/);
  assert.match(r.out, /contract: 0 violations/);
});

test('a response field of the wrong type is a violation', () => {
  const r = validate(exchange({ response_body: '{"status":5}' }));
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /VIOLATION healthz 200 response \/response\/status: must be string/);
});

test('an undocumented status is a violation', () => {
  const r = validate(exchange({ status: 418 }));
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /status 418 is not documented/);
});

test('an accepted request must match its schema; a refused one need not, but its answer must', () => {
  const body = JSON.stringify({ customer_id: 5 });
  const post = { method: 'POST', path: '/v1/check', request_headers: json, request_body: body };
  const refused = validate(exchange({ ...post, status: 400, response_body: missing }));
  assert.equal(refused.status, 0, refused.out);
  const accepted = validate(exchange({ ...post, status: 200, response_body: '{}' }));
  assert.equal(accepted.status, 1, accepted.out);
  assert.match(accepted.out, /VIOLATION check 200 request \/body\/customer_id: must be string/);
  assert.match(accepted.out, /VIOLATION check 200 request \/body\/feature_id: must have required property 'feature_id'/);
  const badError = validate(exchange({ ...post, status: 400, response_body: '{"error":{}}' }));
  assert.equal(badError.status, 1, badError.out);
  assert.match(badError.out, /VIOLATION check 400 response \/response\/error\/code: must have required property 'code'/);
});

test('a route missing from the document is a violation unless it is refused', () => {
  assert.equal(validate(exchange({ path: '/v1/nothing_here', status: 404, response_body: missing })).status, 0);
  const r = validate(exchange({ path: '/v1/nothing_here', status: 200 }));
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /the route is not in the document/);
});
