"""A small circuit breaker (per process): after `threshold` consecutive failures the
circuit opens and calls fail fast for `cooldown` seconds; then one trial call is let
through (half-open): success closes the circuit, failure opens it again."""

import threading
import time


class CircuitOpen(Exception):
    pass


class CircuitBreaker:
    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

    def __init__(self, *, threshold: int = 5, cooldown: float = 30.0, clock=time.monotonic):
        self.threshold, self.cooldown, self.clock = threshold, cooldown, clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return self.CLOSED
        if self.clock() - self._opened_at >= self.cooldown:
            return self.HALF_OPEN
        return self.OPEN

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go through now."""
        with self._lock:
            state = self._state()
            if state == self.OPEN or (state == self.HALF_OPEN and self._trial):
                raise CircuitOpen("Quimbi circuit is open")
            if state == self.HALF_OPEN:
                self._trial = True  # exactly one trial call

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self.threshold:
                self._opened_at, self._trial = self.clock(), False

    def reset(self) -> None:
        self.success()
