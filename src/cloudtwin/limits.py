"""Every limit on input, in one place (docs/spec.md "Limits" lists them; a test keeps the two equal).

The limits bound what a spec, a data file or an option can ask for, so that bad or
hostile input is refused in seconds with bounded memory instead of hanging a machine.
Each is far above what a real architecture needs.
"""

from __future__ import annotations

MAX_SPEC_BYTES = 1_048_576  # a spec file: a large real spec is a few kB; YAML parses at a few MB/s
MAX_DATA_BYTES = 16_777_216  # a replay profile or a price file
MAX_NODES = 200_000  # values in a spec after YAML aliases are expanded
MAX_DEPTH = 50  # nesting of a spec's mappings and lists
MAX_INT = 2**63 - 1  # any integer in a spec or an option
MAX_SEED = 2**63 - 1
MAX_COUNT = 2**63 - 1  # --requests, --max-events
MAX_COMPONENTS = 2_000
MAX_TF_BYTES = 262_144  # the .tf files of one `cloudtwin import`, together: python-hcl2 is slow (256 KiB: 4-8 s)
MAX_TF_INSTANCES = 1_000  # instances of one Terraform resource (count, for_each)
MAX_WORKLOADS = 200
MAX_FAULTS = 1_000
MAX_SECONDS = 1e9  # any duration (about 31.7 years)
MAX_RATE = 1e9  # any rate, per second
MAX_BYTES = 1e18  # any size
MAX_NUMBER = 1e15  # any other number in a distribution
MAX_CSV_FIELD = 1_000  # characters in one field of a replay profile or a price file
MAX_CSV_ROWS = 1_000_000
MAX_RSS_BYTES = 2 * 2**30  # a run's process memory: flat metrics keep a real run far below
