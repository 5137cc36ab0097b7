-- This transaction waits outside the database with rows locked (a chain's RPC, the EVM sender
-- lock): the deployment's idle-in-transaction timeout must not end the session meanwhile, which
-- would also free the session's advisory locks. The statement timeout still bounds statements.
-- Index: none. Locks: none. Rows: none. Until the transaction ends.
SET LOCAL idle_in_transaction_session_timeout = 0
