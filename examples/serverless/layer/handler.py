import orjson
import requests


def hello(event, context):
    return orjson.dumps({"requests": requests.__version__}).decode()
