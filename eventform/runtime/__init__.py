"""What runs inside Lambda and in producers: the handler runtime, object events, enrichment and the publisher.

Imports: nothing of eventform outside this package (the handler runtime is zipped into every function).
"""
