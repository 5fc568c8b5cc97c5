"""python -m recipes.define_tasks: the three tasks of tasks.py, run in this process."""

import asyncio

from recipes.define_tasks.tasks import main

asyncio.run(main())
