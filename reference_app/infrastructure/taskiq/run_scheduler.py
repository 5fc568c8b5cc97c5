"""Core: the scheduler process (``make scheduler``): ``run_worker``'s checks, then it becomes
``taskiq scheduler`` for the entry beside it, its ``--update-interval`` from the settings."""

from .run_worker import main

if __name__ == "__main__":
    main(scheduler=True)
