"""One module per change type: its CSV columns, validation rule, handler and approval rule, as one
`ChangeType` named `TYPE`. A new type is a module here and one line in `changes/registry.py`."""
