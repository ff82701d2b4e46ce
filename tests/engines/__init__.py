"""Tests of the workflow-engine integrations (Temporal, AWS Lambda durable functions)."""
