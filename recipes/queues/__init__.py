"""Queues: slow tasks on a broker (and queue) of their own, so quick ones never wait behind them."""
