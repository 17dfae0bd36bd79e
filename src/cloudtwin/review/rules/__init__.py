"""Review rules: one module, one rule. Adding a rule is adding a file here."""
