"""The plumbing every app's API router shares: errors, authentication, pagination, the strict
JSON parser, powers, area parameters, shared schema pieces and the requested language.

Apps' routers import from here; only ``renfang.api.main`` (which mounts the routers) imports
the apps."""
