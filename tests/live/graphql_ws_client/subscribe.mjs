// An unmodified graphql-ws client, as an app would use it: one subscription, a token supplied by
// connectionParams on every (re)connection. Prints one JSON line per event for the test to read.
//   node subscribe.mjs <ws-url> <query> <messages wanted> <token for the 1st connection> [<token for later ones>]
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, query, wanted, ...tokens] = process.argv.slice(2);
const log = (event) => console.log(JSON.stringify(event));

let connections = 0;
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  retryAttempts: 3,
  retryWait: async () => {},
  connectionParams: async () => {
    const token = tokens[Math.min(connections, tokens.length - 1)];
    connections += 1;
    return { Authorization: `Bearer ${token}` };
  },
  on: {
    connected: () => log({ connected: connections }),
    closed: (event) => log({ closed: event.code, reason: event.reason }),
  },
});

let seen = 0;
try {
  await new Promise((resolve, reject) => {
    client.subscribe(
      { query },
      {
        next: (message) => {
          log({ next: message });
          seen += 1;
          if (seen >= Number(wanted)) resolve();
        },
        error: (error) => reject(error),
        complete: () => resolve(),
      },
    );
  });
  log({ done: seen });
} catch (error) {
  log({ error: String(error?.reason ?? error?.message ?? error), code: error?.code ?? null });
} finally {
  await client.dispose();
}
