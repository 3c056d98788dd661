"""broker as a service: a web API and pages on the ledger, with roles and scoped data.

Modules
-------
``app``        :func:`~broker.service.app.create_app`: the FastAPI application
``config``     settings (database URL, secret, job limits)
``security``   API tokens, password hashes, signed session cookies, CSRF tokens
``users``      creating and finding users (``broker user add``)
``scope``      who sees what: the one place every query is filtered
``deps``       FastAPI dependencies: a ledger session, the current user and scope
``services``   what the API and the pages do, shared by both
``whatif``     a recorded round's scenario with changes (budgets, capacity, reach, rules)
``jobs``       rounds and what-ifs solved in worker processes
``routes/``    the API (``api_*``) and the pages (``pages``)
``cli``        ``broker serve`` and ``broker user add``

Nothing heavy is imported here.
"""
