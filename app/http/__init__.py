"""The edge: everything that speaks HTTP or WebSocket.

The GraphQL view, the GraphiQL page, the bearer-token gate and the OAuth2
routes live here. The edge turns requests into calls on the schema and the
data layer below it; nothing below imports it.
"""
