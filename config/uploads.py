"""Settings of photo uploads: sizes, quotas, processing, purges, signed URLs."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class UploadSettings(BaseSettings):
    """Photo uploads: sizes, quotas, processing, purges and signed URLs."""

    upload_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=2**30,
        description="Largest photo `POST /uploads` takes (HTTP 413 above).",
    )
    upload_quota_uploads: int = Field(
        200, ge=1, le=10**9, description="Uploads one API key may make per hour."
    )
    upload_quota_bytes: int = Field(
        500 * 1024 * 1024,
        ge=1024,
        le=2**50,
        description="Bytes one API key may upload per hour (as received, before re-encoding).",
    )
    upload_processing: int = Field(
        2,
        ge=1,
        le=256,
        description="Images decoded at once per process; further uploads wait their turn.",
    )
    upload_memory_bytes: int = Field(
        32 * 1024 * 1024,
        ge=0,
        le=2**40,
        description="Bytes of upload bodies a process holds in memory at once (each at most "
        "4 MB); bodies past what is left are spooled to temporary files.",
    )
    upload_purge: bool = Field(
        False,
        description="Delete uploads left unattached for 24 h from within the server, "
        "every `UPLOAD_PURGE_INTERVAL` seconds (else: `python server.py purge-uploads`).",
    )
    upload_purge_interval: float = Field(
        3600.0, ge=1.0, le=7 * 24 * 3600, description="Seconds between two periodic purges."
    )
    media_url_ttl: int = Field(
        3600,
        ge=60,
        le=7 * 24 * 3600,
        description="Seconds a signed photo URL (`Job.photos.url`) stays valid, at least.",
    )
