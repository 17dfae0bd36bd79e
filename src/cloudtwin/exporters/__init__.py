"""Exporters: a spec's architecture to infrastructure as code (CloudFormation)."""
