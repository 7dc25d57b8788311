import orjson


def handler(event, context):
    return orjson.dumps(event).decode()
