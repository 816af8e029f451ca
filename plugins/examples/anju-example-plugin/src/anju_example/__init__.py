"""An example Anju plugin for a housing centre: the `mobile_number` field type and the
`elderly_priority` check. The hooks are in `anju_example.plugin`, which the `anju.plugins`
entry point `example` names."""

__version__ = "0.1.0"
