"""The engine host: the only package that imports SpiffWorkflow.

Everything that changes a case's workflow goes through :mod:`app.engine.host`: deploy process
versions, start a case, complete a task, fire timers, project ready tasks into the task table.
The engine imports no feature's operations, views or API: features register what a process's
effects (``remind``, ``supervise``) do, see :mod:`app.engine.effects` and ``docs/engine.md``.
"""
