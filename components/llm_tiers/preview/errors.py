"""The error a render stops with."""

from __future__ import annotations

from typing import Optional

from llm_tiers.preview.mocks import Recording


class RenderError(Exception):
    """The program refused the stack (invalid config) or failed; the message is the program's.

    ``recording`` holds what had been registered before the failure (nothing, for a config error).
    """

    def __init__(self, message: str, recording: Optional[Recording] = None):
        super().__init__(message)
        self.recording = recording
