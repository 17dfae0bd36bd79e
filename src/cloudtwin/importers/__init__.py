"""Importers: architectures written in other formats, turned into cloudtwin specs.

:func:`cloudtwin.importers.cloudformation.import_template` reads a CloudFormation template
(YAML or JSON) and writes a spec; ``cloudtwin import TEMPLATE -o SPEC.yaml`` is its command.
See docs/import.md.
"""
