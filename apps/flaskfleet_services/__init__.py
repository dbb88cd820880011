"""flaskfleet's Python services.

One package, three services (``user_service``, ``order_service``, ``api_gateway``), each with an
application factory ``create_app(test_config=None)``, and a shared kit (``kit``) for what every
service needs: configuration, JSON logging, metrics, tracing, discovery, errors and health.
"""

__version__ = "1.0.0"
