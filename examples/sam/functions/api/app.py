import orjson
import requests


def handler(event, context):
    return {"statusCode": 200, "body": orjson.dumps({"requests": requests.__version__}).decode()}
