"""The edge of live data: subscriptions' transports (graphql-transport-ws on ``/graphql``, Apollo's
multipart and graphql-sse over HTTP), their authentication, allowed origins, caps and shutdown.
What a subscription says comes from the live service (``app.state.live``); this package carries it."""
