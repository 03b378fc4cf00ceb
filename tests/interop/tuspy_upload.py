#!/usr/bin/env python3
"""Uploads one photo to khaosat's tus 1.0 endpoint with tuspy (a second,
independent tus client), for e2e/tus_interop.spec.ts.

    tuspy_upload.py BASE_URL COOKIE PHOTO_ID FILE [--chunk-size N] [--no-checksum]

BASE_URL is the server's origin (e.g. http://127.0.0.1:41234), COOKIE the
session cookie as sent in a Cookie header ("name=value"), PHOTO_ID the UUID of
a photo record already synced. Each PATCH carries an Upload-Checksum (sha1)
unless --no-checksum. No retries: a refusal must surface, not be retried away.

Prints one JSON line on success ({"url", "offset", "head_offset", "size",
"patches"}) and exits 0; on failure prints what the server said on stderr and
exits 1 (2 for bad arguments). Runs in tests/.venv (tests/run-e2e.sh installs
the pins of interop/requirements.txt there).
"""

import argparse
import json
import os
import sys

from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError, TusUploadFailed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("cookie")
    parser.add_argument("photo_id")
    parser.add_argument("file")
    parser.add_argument("--chunk-size", type=int, default=64 * 1024)
    parser.add_argument("--no-checksum", action="store_true")
    args = parser.parse_args()

    endpoint = args.base_url.rstrip("/") + "/api/uploads/"
    size = os.path.getsize(args.file)
    client = TusClient(endpoint, headers={"Cookie": args.cookie})
    with open(args.file, "rb") as stream:
        uploader = client.uploader(
            file_stream=stream,
            chunk_size=args.chunk_size,
            metadata={
                "photo_id": args.photo_id,
                "filename": os.path.basename(args.file),
                "filetype": "image/jpeg",
            },
            upload_checksum=not args.no_checksum,
            retries=0,
        )
        try:
            # upload() does the same; step by step to count the PATCHes and
            # check that each one moves the offset forward.
            uploader.set_url(uploader.create_url())
            uploader.offset = 0
            patches = 0
            while uploader.offset < size:
                before = uploader.offset
                uploader.upload_chunk()
                patches += 1
                if uploader.offset <= before:
                    print(f"tuspy: PATCH at {before} left the offset at {uploader.offset}", file=sys.stderr)
                    return 1
            head_offset = uploader.get_offset()
        except (TusCommunicationError, TusUploadFailed) as error:
            content = error.response_content
            if isinstance(content, bytes):
                content = content.decode("utf-8", "replace")
            print(
                f"tuspy: upload failed: {error!r} status={error.status_code} body={content}",
                file=sys.stderr,
            )
            return 1
    print(
        json.dumps(
            {
                "url": uploader.url,
                "offset": uploader.offset,
                "head_offset": head_offset,
                "size": size,
                "patches": patches,
            }
        )
    )
    return 0 if uploader.offset == size == head_offset else 1


if __name__ == "__main__":
    sys.exit(main())
