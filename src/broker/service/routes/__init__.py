"""HTTP routes: the JSON API (``api_*``, under ``/api``) and the pages (``pages``)."""
