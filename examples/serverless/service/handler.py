import orjson


def hello(event, context):
    return orjson.dumps({"hello": event}).decode()


def goodbye(event, context):
    return orjson.dumps({"goodbye": event}).decode()
