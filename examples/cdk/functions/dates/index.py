from dateutil import parser


def handler(event, context):
    return {"parsed": parser.isoparse(event.get("when", "2025-01-01T00:00:00Z")).isoformat()}
