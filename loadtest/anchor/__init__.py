"""The bare-insert anchor: the least a Django + DRF service can do per request (ADR 0017).

A tiny Django project of its own (``settings``, ``urls``, ``views``, ``wsgi``), never mounted in
the product: ``gunicorn -c docker/gunicorn.conf.py loadtest.anchor.wsgi`` serves it with the
service's worker and thread counts. Each ingest request is parsed with orjson and stored as ONE
row by ONE autocommit INSERT through a ``psycopg_pool.ConnectionPool``; each read is one
indexed SELECT. No middleware, authentication, validation, hashing, sequencing or signing: what
the service costs above this is the price of being a sequencer rather than a web app with a
database. ``python -m loadtest --capacity`` measures it next to the service in the same run.
"""
