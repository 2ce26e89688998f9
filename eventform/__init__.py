"""eventform: one event catalog, the whole path (catalog -> Terraform for SNS, SQS, EventBridge, Lambda and IAM).

One package per job; imports point one way (runtime <- catalog <- modules <- synthesis <- local, authoring <- cli).
This file stays empty of code: every Lambda package ships it next to the handler runtime.
"""
