"""CKV_EVF_105: FIFO topics feed only FIFO queues (and standard topics only standard queues): SNS refuses the other
combinations at subscribe time, after half of a deployment has been applied."""

from __future__ import annotations

from collections.abc import Iterator

from eventform.compliance.stack_checks import FAILED, PASSED, StackCheck, StackResult, StackView

FIFO_SUFFIX = ".fifo"


class FifoTopicFeedsFifoQueues(StackCheck):
    id = "CKV_EVF_105"
    name = "FIFO topics feed only FIFO queues"
    guideline = "consumers of a FIFO topic get FIFO queues (derived in the loader); split consumers mixing kinds"
    supported_resources = ("aws_sns_topic_subscription",)

    def evaluate(self, stack: StackView) -> Iterator[StackResult]:
        for key, conf in sorted(stack.resources("aws_sns_topic_subscription").items()):
            if conf.get("protocol") != "sqs":
                continue
            topic_pointer = str(conf.get("topic_arn", ""))
            topic = stack.find("aws_sns_topic", topic_pointer)
            topic_fifo = bool(topic[1].get("fifo_topic")) if topic else topic_pointer.endswith(FIFO_SUFFIX)
            queue_pointer = str(conf.get("endpoint", ""))
            queue = stack.find("aws_sqs_queue", queue_pointer)
            queue_fifo = bool(queue[1].get("fifo_queue")) if queue else queue_pointer.endswith(FIFO_SUFFIX)
            ok = topic_fifo == queue_fifo
            detail = f"topic {'FIFO' if topic_fifo else 'standard'}, queue {'FIFO' if queue_fifo else 'standard'}"
            yield StackResult(f"aws_sns_topic_subscription.{key}", PASSED if ok else FAILED, detail)


check = FifoTopicFeedsFifoQueues()
