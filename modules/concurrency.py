"""Concurrency bounds when the catalog sets none (function.reserved_concurrency / function.max_concurrency): a flood
of events from outside the account can neither exhaust the account's pool nor run up the bill unbounded.

Plain constants, apart from :mod:`modules.function`, so that what reads them without building anything (the alarm
plan behind ``eventform cost`` and the docs) does not load the AWS bindings."""

DEFAULT_PUSHED_CONCURRENCY = 10  # reserved concurrency of functions invoked by SNS, EventBridge, S3 or Pipes
DEFAULT_QUEUE_CONCURRENCY = 10  # maximum concurrency of a queue-fed function's event source mapping (2..1000)
