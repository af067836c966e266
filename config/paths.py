"""Where the checkout is: defaults of paths inside it are relative to this."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
