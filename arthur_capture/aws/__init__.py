"""The AWS deployment pieces: checks of an endpoint's capture config and of a bucket's triggers.

:mod:`.checks` reads the JSON documents AWS gives (``DescribeEndpointConfig``,
``GetBucketNotificationConfiguration``…) and says which of the integration's rules they break;
the Lambda handler will live here too. Importing this package loads no boto3.
"""

from __future__ import annotations

__all__: list[str] = []
