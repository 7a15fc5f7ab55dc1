"""Tests of the AWS deployment pieces (arthur_capture.aws)."""
