// Unmodified clients, as apps use them, subscribing to bizgraph. Prints one JSON line per event.
//   node subscribe.mjs <multipart|wslink|sse> <origin> <query> <messages wanted> <token>
// multipart: Apollo Client's HttpLink (Apollo's multipart subscription protocol);
// wslink: Apollo Client's GraphQLWsLink over graphql-ws; sse: graphql-sse, distinct connections.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { createClient as createSseClient } from "graphql-sse";
import { createClient as createWsClient } from "graphql-ws";
import WebSocket from "ws";

const [mode, origin, query, wanted, token] = process.argv.slice(2);
const log = (event) => console.log(JSON.stringify(event));
const authorization = { Authorization: `Bearer ${token}` };

function subscribe(sink) {
  if (mode === "sse") {
    const client = createSseClient({ url: `${origin}/graphql`, singleConnection: false, headers: authorization });
    return client.subscribe({ query }, sink);
  }
  const link =
    mode === "multipart"
      ? new HttpLink({ uri: `${origin}/graphql`, headers: authorization })
      : new GraphQLWsLink(
          createWsClient({
            url: `${origin.replace(/^http/, "ws")}/graphql`,
            webSocketImpl: WebSocket,
            connectionParams: authorization,
          }),
        );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const subscription = client.subscribe({ query: gql(query) }).subscribe(sink);
  return () => {
    subscription.unsubscribe();
    client.stop();
    if (mode === "wslink") link.client.dispose();
  };
}

let seen = 0;
let stop = () => {};
try {
  await new Promise((resolve, reject) => {
    stop = subscribe({
      next: (message) => {
        log({ next: message });
        seen += 1;
        if (seen >= Number(wanted)) resolve();
      },
      error: (error) => reject(error),
      complete: () => resolve(),
    });
  });
  log({ done: seen });
} catch (error) {
  log({ error: String(error?.message ?? error) });
} finally {
  stop();
}
