"""The REST JSON API (django-ninja): the NinjaAPI instance, authentication, error bodies and
pagination. Each domain app keeps its own routes in its ``api.py``."""
