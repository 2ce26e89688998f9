"""CKV_EVF_106: every event bus in production has an archive, so lost or mishandled events can be replayed."""

from __future__ import annotations

from collections.abc import Iterator

from eventform.compliance.stack_checks import FAILED, PASSED, StackCheck, StackResult, StackView

PRODUCTION_ENVIRONMENTS = frozenset({"prod"})


class ProdBusHasArchive(StackCheck):
    id = "CKV_EVF_106"
    name = "Production event buses have an archive"
    guideline = "add an aws_cloudwatch_event_archive with event_source_arn = the bus ARN and a retention_days"
    supported_resources = ("aws_cloudwatch_event_bus",)

    def evaluate(self, stack: StackView) -> Iterator[StackResult]:
        if stack.env_name not in PRODUCTION_ENVIRONMENTS:
            return
        archived: set[str] = set()
        for conf in stack.resources("aws_cloudwatch_event_archive").values():
            source = str(conf.get("event_source_arn", ""))
            found = stack.find("aws_cloudwatch_event_bus", source) or stack.find(
                "aws_cloudwatch_event_bus", source.rsplit("/", 1)[-1]
            )
            if found:
                archived.add(found[0])
        for key in sorted(stack.resources("aws_cloudwatch_event_bus")):
            address = f"aws_cloudwatch_event_bus.{key}"
            yield StackResult(address, PASSED if address in archived else FAILED, "production bus")


check = ProdBusHasArchive()
