"""Static cost of an operation, from the GraphQL cost directives (``@cost``, ``@listSize``)."""
