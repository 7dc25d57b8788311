import orjson


def handler(event, context):
    return orjson.dumps({"report": event}).decode()
