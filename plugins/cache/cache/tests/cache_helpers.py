"""Constants the tests share (the conftest puts this directory on ``sys.path``)."""

REDIS = {"host": "127.0.0.1", "port": 6379}
MASTER = "sk-cache-master-0123456789"
