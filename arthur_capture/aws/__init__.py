"""The AWS deployment pieces: checks of an endpoint's capture config and of a bucket's triggers.

:mod:`.checks` reads the JSON documents AWS gives (``DescribeEndpointConfig``,
``GetBucketNotificationConfiguration``…) and says which of the integration's rules they break;
the Lambda handler, :func:`lambda_handler`, is in :mod:`.handler` (loaded on first use).
Importing this package loads no boto3 and no Powertools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arthur_capture._lazy import lazy_attributes

if TYPE_CHECKING:
    from arthur_capture.aws.handler import lambda_handler

__all__ = ["lambda_handler"]

__getattr__ = lazy_attributes(__name__, {"lambda_handler": "arthur_capture.aws.handler"})
