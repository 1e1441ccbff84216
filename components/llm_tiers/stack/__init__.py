"""The stack layer: the only place that knows a whole stack. ``parse`` validates a stack file's values (the config
schema, then every domain's rules at stack-file key paths: ``checks``), ``keys`` checks the keys outside the
schema, ``load`` reads them from the Pulumi runtime; ``__main__.py`` maps the result to each component's args."""
