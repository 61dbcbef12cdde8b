// Runs the graphql-http package's server audits (its reading of the GraphQL-over-HTTP spec)
// against one bizgraph endpoint and prints every result as one JSON array on stdout.
//
//   node audit.mjs http://127.0.0.1:8000/graphql   (the bearer token in BIZGRAPH_AUDIT_TOKEN)
//
// The audits themselves send no credentials; bizgraph answers 401 to any request without a
// token, so every request the audits make is sent with the token added. Judging the results is
// left to the caller (tests/http/test_graphql_http_audit.py).
import { auditServer } from 'graphql-http';

const [url] = process.argv.slice(2);
const token = process.env.BIZGRAPH_AUDIT_TOKEN;
if (!url || !token) {
  console.error('usage: BIZGRAPH_AUDIT_TOKEN=<token> node audit.mjs <graphql endpoint URL>');
  process.exit(2);
}

function withToken(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: withToken });
const report = await Promise.all(
  results.map(async (result) => {
    const entry = { id: result.id, name: result.name, status: result.status };
    if (result.status !== 'ok') {
      entry.reason = result.reason;
      entry.responseStatus = result.response.status;
      entry.responseType = result.response.headers.get('content-type');
      // The body may already have been read by the audit itself.
      entry.responseBody = await result.response.text().catch(() => '(read by the audit)');
    }
    return entry;
  }),
);
console.log(JSON.stringify(report));
