"""Feature packages. Each may have models, schemas, service, tasks and router modules.

The worker finds every ``modules/<feature>/tasks.py`` by convention (see
``infrastructure/taskiq/worker.py``), so adding a feature never edits ``infrastructure``.
"""
