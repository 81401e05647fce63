"""The YAML form of the whole configuration: parse, compile, apply, export (DESIGN §8.4).

- :mod:`.schema`: the document's pydantic model and :func:`.schema.canonical` form; its
  entities' shapes in :mod:`.vertical_spec`, :mod:`.supplier_spec`, :mod:`.buyer_spec`.
- :mod:`.parse`: ``load_yaml``, ``parse_config``, ``dump_yaml``.
- :mod:`.compile`: ``compile_config`` → :class:`.compile.CompiledConfig` (domain dataclasses),
  each entity by :mod:`.verticals`, :mod:`.suppliers` or :mod:`.buyers`.
- :mod:`.apply`: ``apply_config`` and ``export_config`` against the database.
- :mod:`.errors`: ``ConfigError`` with every ``ConfigIssue`` at its YAML path.
"""
