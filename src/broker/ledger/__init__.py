"""The ledger: a database of rounds, deployments, their stages and an audit log.

Modules: :mod:`~broker.ledger.models` (tables), :mod:`~broker.ledger.db`
(connections and migrations), :mod:`~broker.ledger.stages` (the stage machine),
:mod:`~broker.ledger.repository` (every read and write, with the business rules),
:mod:`~broker.ledger.topup` (ledger state + scenario -> top-up scenario),
:mod:`~broker.ledger.diff` (two rounds -> what changed), and
:mod:`~broker.ledger.recommend` (best supporters for one urgent request).
Nothing is imported here, so ``import broker.ledger`` stays cheap.
"""
