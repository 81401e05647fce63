"""The YAML form of the whole configuration: parse, compile, apply, export (DESIGN §8.4).

- :mod:`.schema`: pydantic models of the YAML shape; :func:`.schema.canonical` form.
- :mod:`.parse`: ``load_yaml``, ``parse_config``, ``dump_yaml``.
- :mod:`.compile`: ``compile_config`` → :class:`.compile.CompiledConfig` (domain dataclasses).
- :mod:`.apply`: ``apply_config`` and ``export_config`` against the database.
- :mod:`.errors`: ``ConfigError`` with every ``ConfigIssue`` at its YAML path.
"""
